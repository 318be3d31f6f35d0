//! `/api/auth/*`: login, logout, register, password change, signing (spec §10).
//!
//! Where we differ from CVAT on purpose (README): every login answers with a new token key
//! (only digests are stored, so there is no key to give back); a password change revokes the
//! user's other sessions, tokens and access tokens, and its `old_password` is throttled like a
//! login; only password credentials may sign URLs.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use cvat_proto::{Registered, Token};
use serde_json::{Map, Value};

use super::extract::{MaybeIdentity, RawBody};
use super::{links, views};
use crate::auth::{self, cookies, password_rules, signing, AuthMethod, Identity};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::permissions::Requester;
use crate::service::audit::{actions, AuditEvent};
use crate::service::{verification, UserId};
use crate::state::{AppState, SharedState};
use crate::store::{now_micros, KeptCredential, MailForNewUser, NewUser, UserRecord, WriteError};
use crate::validate::{self, FieldErrors};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/api/auth/login", post(login).fallback(method_other))
        .route("/api/auth/logout", post(logout).fallback(method_other))
        .route("/api/auth/register", post(register).fallback(method_other))
        .route(
            "/api/auth/password/change",
            post(password_change).fallback(method_other),
        )
        .route("/api/auth/signing", post(sign_url).fallback(method_other))
}

async fn method_other(method: axum::http::Method) -> ApiError {
    ApiError::method_not_allowed(method.as_str())
}

/// Optional string field of a request body; `Err` carries DRF's messages.
fn opt_str(body: &Map<String, Value>, key: &str) -> Result<Option<String>, Vec<String>> {
    body.get(key)
        .map(|v| validate::char_field(v, true, usize::MAX))
        .transpose()
}

/// Starts a session (Django's `login()`): session + CSRF cookies, `last_login` updated; `ev`,
/// the login it records, goes in the session's transaction.
pub(crate) async fn start_session(
    state: &AppState,
    parts: &Parts,
    user: &UserRecord,
    ev: Option<&AuditEvent>,
) -> ApiResult<HeaderMap> {
    let key = auth::new_session_key();
    let lifetime = state.settings.session_lifetime;
    state
        .db
        .create_session(
            &key,
            user.id,
            now_micros() + lifetime * 1_000_000,
            &crate::request::credential_origin(parts),
            ev,
        )
        .await?;
    state.db.set_last_login(user.id).await?;
    let mut headers = HeaderMap::new();
    headers.append(
        header::SET_COOKIE,
        cookies::csrf_cookie(&cookies::csrf_token_for(parts)),
    );
    headers.append(header::SET_COOKIE, cookies::session_cookie(&key, lifetime));
    Ok(headers)
}

/// A successful login of `user` by `method` (`password`, `password+totp`, `basic`).
pub(crate) fn login_event(parts: &Parts, user: &UserRecord, method: &str) -> AuditEvent {
    AuditEvent::new(actions::LOGIN, &crate::request::audit_origin(parts))
        .actor(user, method)
        .on_user(user)
}

async fn login(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let must_include = || {
        ApiError::List(vec![
            "Must include either \"username\" or \"email\" and \"password\".".into(),
        ])
    };
    let field = |k: &str| opt_str(&body, k).map_err(|m| ApiError::Fields(vec![(k.to_string(), m)]));
    let username = field("username")?.filter(|s| !s.is_empty());
    let email = field("email")?.filter(|s| !s.is_empty());
    let password = match body.get("password") {
        Some(Value::String(p)) if !p.is_empty() => p.clone(),
        _ => return Err(must_include()),
    };
    // An e-mail takes precedence and must name exactly one user (CVAT's LoginSerializerEx).
    let login = if let Some(email) = email {
        let by_email = state.db.users_by_email(&email).await?;
        // No account has it yet: the directory may know it (auth::ldap, by its e-mail filter).
        let directory = by_email.is_empty() && state.ldap.is_some();
        if directory && validate::is_valid_email(&email) {
            email
        } else {
            // An address waiting for confirmation does not name its account yet.
            if !validate::is_valid_email(&email)
                || by_email.len() != 1
                || !verification::login_may_name(&state, &by_email[0], &email)
            {
                return Err(ApiError::List(vec![
                    "Unable to login with provided credentials".into(),
                ]));
            }
            by_email[0].username.clone()
        }
    } else {
        username.ok_or_else(must_include)?
    };
    let user = auth::check_password_login(&state, &parts, &login, &password)
        .await?
        .ok_or_else(|| ApiError::non_field("Unable to log in with provided credentials."))?;
    if verification::blocks_login(&state, &user) {
        // CVAT's answer is HTML, not JSON; the mail goes out again (within the cooldown).
        let origin = links::origin(&parts);
        verification::send_again(&state, &user, state.mailer.link_base(&origin)).await?;
        let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
        return Ok((
            StatusCode::BAD_REQUEST,
            html,
            verification::UNVERIFIED_LOGIN,
        )
            .into_response());
    }
    // Users with TOTP: the code sent along, or a 401 with a step-two ticket (http::mfa).
    super::mfa::login_factor(&state, &body, &user).await?;
    let key = auth::new_token_key();
    state
        .db
        .create_token(
            user.id,
            &key,
            &crate::request::credential_origin(&parts),
            Some(&login_event(&parts, &user, "password")),
        )
        .await?;
    let headers = start_session(&state, &parts, &user, None).await?;
    tracing::info!(user_id = user.id, "login");
    let answer = Token {
        key,
        mfa_enrollment_deadline: state.mfa.policy.deadline(&user).map(views::datetime),
    };
    Ok((headers, cvat_json(StatusCode::OK, &answer)).into_response())
}

async fn logout(
    State(state): State<SharedState>,
    MaybeIdentity(identity): MaybeIdentity,
    parts: Parts,
) -> ApiResult<Response> {
    if let Some(Identity { user, method }) = &identity {
        // CVAT deletes the user's token: every client sharing it is logged out.
        let session = match method {
            AuthMethod::Session { key } => Some(key.as_str()),
            _ => None,
        };
        let ev = AuditEvent::new(actions::LOGOUT, &crate::request::audit_origin(&parts))
            .actor(user, method.audit_name())
            .on_user(user);
        state.db.log_out(user.id, session, &ev).await?;
    }
    let mut response = views::detail_ok("Successfully logged out.");
    if let Some(key) = cookies::request_cookie(&parts, cookies::SESSION_COOKIE) {
        state.db.delete_session(&key).await?;
        response
            .headers_mut()
            .append(header::SET_COOKIE, cookies::clear_session_cookie());
    }
    Ok(response)
}

/// The username of a new account (registration, `POST /api/users`): Django's username
/// validator, 5 to 150 characters, unique case-insensitively. `Err` carries DRF's messages.
pub(crate) async fn new_username(
    state: &AppState,
    v: &Value,
) -> ApiResult<Result<String, Vec<String>>> {
    Ok(match validate::username_field(v) {
        Err(m) => Err(m),
        Ok(u) if u.chars().count() < 5 => {
            Err(vec!["Ensure this field has at least 5 characters.".into()])
        }
        Ok(u) if state.db.username_taken_folded(&u).await? => {
            Err(vec!["A user with that username already exists.".into()])
        }
        Ok(u) => Ok(u),
    })
}

/// The e-mail address of a new account: valid or blank, unique case-insensitively (for a
/// registration, an invitation's placeholder account does not count: it is taken over).
pub(crate) async fn new_email(
    state: &AppState,
    v: &Value,
    registration: bool,
) -> ApiResult<Result<String, Vec<String>>> {
    Ok(match validate::email_field(v) {
        Err(m) => Err(m),
        Ok(e) if !e.is_empty() && state.db.email_taken_folded(&e, registration).await? => {
            Err(vec![
                "A user is already registered with this e-mail address.".into(),
            ])
        }
        Ok(e) => Ok(e),
    })
}

pub const REGISTRATION_DISABLED: &str =
    "Self-registration is disabled on this server. Ask an administrator for an account.";

async fn register(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    if state.settings.registration.disabled {
        return Err(ApiError::detail(
            StatusCode::FORBIDDEN,
            REGISTRATION_DISABLED,
        ));
    }
    let body = body.parse_object().await?;
    let mut errors: FieldErrors = Vec::new();
    let mut note = |k: &str, msgs: Vec<String>| errors.push((k.to_string(), msgs));
    let required = || vec!["This field is required.".to_string()];

    let username = match body.get("username") {
        None => {
            note("username", required());
            None
        }
        Some(v) => new_username(&state, v)
            .await?
            .map_err(|m| note("username", m))
            .ok(),
    };
    // Verification needs an address to send to (CVAT pairs it with ACCOUNT_EMAIL_REQUIRED),
    // and so does a list of allowed domains.
    let verification = state.mailer.settings.email_verification;
    let policy = &state.settings.registration;
    let needs_email = verification.is_on() || !policy.domains.is_empty();
    let email = match body.get("email") {
        None if needs_email => {
            note("email", required());
            None
        }
        None => Some(String::new()),
        Some(v) => match new_email(&state, v, true).await? {
            Ok(e) if e.is_empty() && needs_email => {
                note("email", vec!["This field may not be blank.".into()]);
                None
            }
            // An invited address may register whatever its domain.
            Ok(e) if !policy.admits(&e) && state.db.placeholder_with_email(&e).await?.is_none() => {
                note("email", vec![policy.refusal()]);
                None
            }
            Ok(e) => Some(e),
            Err(m) => {
                note("email", m);
                None
            }
        },
    };
    let mut password = |k: &str| match body.get(k) {
        None => {
            note(k, required());
            None
        }
        Some(v) => match validate::char_field(v, false, 128) {
            Err(m) => {
                note(k, m);
                None
            }
            Ok(p) => {
                let problems = password_rules::validate_password(&p, None);
                if k == "password1" && !problems.is_empty() {
                    note(k, problems);
                    None
                } else {
                    Some(p)
                }
            }
        },
    };
    let password1 = password("password1");
    let password2 = password("password2");
    let mut name = |k: &str| match body.get(k) {
        None => Some(String::new()),
        Some(v) => match validate::char_field(v, false, validate::NAME_MAX) {
            Err(m) => {
                note(k, m);
                None
            }
            Ok(s) => Some(s),
        },
    };
    let first_name = name("first_name");
    let last_name = name("last_name");
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    let (
        Some(username),
        Some(email),
        Some(password1),
        Some(password2),
        Some(first_name),
        Some(last_name),
    ) = (username, email, password1, password2, first_name, last_name)
    else {
        unreachable!("every missing value recorded an error");
    };
    if password1 != password2 {
        return Err(ApiError::non_field("The two password fields didn't match."));
    }
    let attrs = password_rules::UserAttributes {
        username: &username,
        first_name: &first_name,
        last_name: &last_name,
        email: &email,
    };
    if let Some(msg) = password_rules::validate_password(&password1, Some(&attrs))
        .into_iter()
        .next()
    {
        return Err(ApiError::non_field(msg));
    }
    let new = NewUser {
        username,
        password_hash: auth::hash_blocking(password1).await?,
        email,
        first_name,
        last_name,
        is_staff: false,
        is_superuser: false,
        groups: vec!["user".into()],
        logged_in: true,
        is_active: true,
        created_via: Some("registration"),
        email_verified: verification.is_on().then_some(false),
        must_change_password: false,
        external_id: None,
    };
    let origin = links::origin(&parts);
    let base = state.mailer.link_base(&origin);
    let name = format!("{} {}", new.first_name, new.last_name);
    let make_mail = |id: i64| {
        verification::confirmation_mail(&state, id, &new.username, &new.email, &name, base)
    };
    let mail: Option<MailForNewUser> = match verification.is_on() {
        true => Some(&make_mail),
        false => None,
    };
    // An invitation's placeholder with this address becomes the account (spec §3.2).
    let placeholder = match new.email.is_empty() {
        true => None,
        false => state.db.placeholder_with_email(&new.email).await?,
    };
    let ev = AuditEvent::new(actions::REGISTER, &crate::request::audit_origin(&parts))
        .actor_method("password");
    let created = match placeholder {
        Some(id) => {
            state
                .db
                .claim_placeholder(UserId(id), &new, mail, &ev)
                .await
        }
        None => state.db.create_user_mailing(&new, mail, &ev).await,
    };
    let user = created.map_err(|e| match e {
        WriteError::UsernameTaken => {
            ApiError::field("username", "A user with that username already exists.")
        }
        other => ApiError::Internal(other.into()),
    })?;
    if mail.is_some() {
        state.mailer.queued();
    }
    tracing::info!(
        user_id = user.id,
        verification = verification.as_str(),
        "registered"
    );
    // Mandatory verification: no token and no session until the address is confirmed.
    let required = verification::blocks_login(&state, &user);
    let (headers, key) = match required {
        true => (HeaderMap::new(), None),
        false => {
            let key = auth::new_token_key();
            let origin = crate::request::credential_origin(&parts);
            state.db.create_token(user.id, &key, &origin, None).await?;
            (start_session(&state, &parts, &user, None).await?, Some(key))
        }
    };
    let body = Registered {
        username: user.username,
        email: user.email,
        first_name: user.first_name,
        last_name: user.last_name,
        email_verification_required: required,
        key,
    };
    Ok((headers, cvat_json(StatusCode::CREATED, &body)).into_response())
}

async fn password_change(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let mut errors: FieldErrors = Vec::new();
    let mut values = Vec::new();
    for k in ["old_password", "new_password1", "new_password2"] {
        match body.get(k).map(|v| validate::char_field(v, false, 128)) {
            None => errors.push((k.into(), vec!["This field is required.".into()])),
            Some(Err(m)) => errors.push((k.into(), m)),
            Some(Ok(p)) => values.push(p),
        }
    }
    if errors.is_empty()
        && !auth::verify_user_password(&state, &parts, &req.user, &values[0]).await?
    {
        errors.push((
            "old_password".into(),
            vec!["Your old password was entered incorrectly. Please enter it again.".into()],
        ));
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    let (new1, new2) = (&values[1], &values[2]);
    if new1 != new2 {
        return Err(ApiError::field(
            "new_password2",
            "The two password fields didn\u{2019}t match.",
        ));
    }
    let u = &req.user;
    let attrs = password_rules::UserAttributes {
        username: &u.username,
        first_name: &u.first_name,
        last_name: &u.last_name,
        email: &u.email,
    };
    let problems = password_rules::validate_password(new1, Some(&attrs));
    if !problems.is_empty() {
        return Err(ApiError::Fields(vec![("new_password2".into(), problems)]));
    }
    let hash = auth::hash_blocking(new1.clone()).await?;
    // Whoever else holds a credential of this user (a thief, say) is signed out; the session
    // or token that made the change stays.
    let kept = match &req.method {
        AuthMethod::Session { key } => KeptCredential::Session(key),
        AuthMethod::Token { digest } => KeptCredential::TokenDigest(digest),
        AuthMethod::Bearer { token_id, .. } => KeptCredential::AccessToken(*token_id),
        AuthMethod::Basic | AuthMethod::Signature => KeptCredential::Nothing,
    };
    let ev = AuditEvent::by(&req, actions::CHANGE_PASSWORD)
        .on_user(u)
        .detail("other_credentials_revoked", true);
    state
        .db
        .set_password_revoking_except(u.id, &hash, kept, &ev)
        .await?;
    tracing::info!(
        user_id = u.id,
        "password changed; other credentials revoked"
    );
    Ok(views::detail_ok("New password has been saved."))
}

/// The contract CVAT 2.3.0 meant (decision 7): `{"url": ...}` → the URL signed for the requester.
async fn sign_url(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    auth::require_password_credentials(&req.method, "Signed URLs")?;
    let body = body.parse_object().await?;
    let missing = || ApiError::List(vec!["Please provide `url` parameter".into()]);
    let url = match body.get("url") {
        Some(Value::String(u)) if !u.trim().is_empty() => u.trim().to_string(),
        _ => return Err(missing()),
    };
    let origin = links::origin(&parts);
    let (base, rest) = match url.split_once("://") {
        Some((scheme, after)) => {
            let path_start = after.find('/').unwrap_or(after.len());
            (
                format!("{scheme}://{}", &after[..path_start]),
                after[path_start..].to_string(),
            )
        }
        None if url.starts_with('/') => (origin, url.clone()),
        None => {
            return Err(ApiError::bad_request(
                "`url` must be an absolute URL or a path starting with /.",
            ))
        }
    };
    let rest = rest.split('#').next().unwrap_or("").to_string();
    let (path, query) = rest.split_once('?').unwrap_or((rest.as_str(), ""));
    let path = if path.is_empty() { "/" } else { path };
    let pairs = links::parse_query(query);
    let canonical = links::canonical_signed_url(&base, path, &pairs);
    let token = signing::sign_url_token(
        &state.secret,
        &canonical,
        &signing::password_binding(&req.user.password),
        req.user.id,
        &req.user.username,
        chrono::Utc::now().timestamp(),
    );
    let sep = if canonical.contains('?') { '&' } else { '?' };
    let signed = format!("{canonical}{sep}sign={}", links::quote_plus(&token));
    Ok(cvat_json(StatusCode::OK, &signed))
}
