//! Who is asking: `Authorization` (Token, Basic) first, then a signed URL, then the session
//! cookie (with CSRF on unsafe methods). Spec §2, with decision 4 (token requests write nothing).
//!
//! A signed URL hands out a read: it authenticates `GET` and `HEAD` only (on any other method
//! `?sign=` is not a credential at all), and it is bound to the signer's password hash, so
//! setting or changing the password revokes it (see `signing`). Only credentials that proved
//! the password (`AuthMethod::proves_password`) may mint further credentials.

pub mod basic_cache;
pub mod cookies;
mod hashing;
pub mod ldap;
pub mod oidc;
pub mod password_rules;
pub mod passwords;
pub mod signing;
pub mod throttle;

pub use hashing::hash_blocking;
use hashing::verify_any;

use axum::http::request::Parts;
use axum::http::{header, Method, StatusCode};
use base64::Engine;
use rand::distributions::{Alphanumeric, DistString};
use rand::RngCore;
use subtle::ConstantTimeEq;

use crate::error::{ApiError, ApiResult};

/// HMAC-SHA256 keyed with `key`, for every MAC the server computes (signed URLs, reset tokens,
/// the Basic cache).
pub fn hmac_sha256(key: &[u8]) -> hmac::Hmac<sha2::Sha256> {
    use hmac::Mac;
    #[allow(clippy::expect_used)] // HMAC takes keys of any length (RFC 2104 hashes long ones)
    <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}
use crate::request;
use crate::service::audit::{actions, AuditEvent};
use crate::state::AppState;
use crate::store::UserRecord;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthMethod {
    /// `Authorization: Token`, with the SHA-256 digest of the key (which one of the user's keys).
    Token {
        digest: String,
    },
    Basic,
    Signature,
    Session {
        key: String,
    },
    /// A personal access token; read-only ones may not make unsafe requests. A `scim` token
    /// authenticates under `/scim/v2` only, and only it does there (`http::scim`).
    Bearer {
        token_id: i64,
        read_only: bool,
        scim: bool,
    },
}

impl AuthMethod {
    /// The method's name in audit events.
    pub fn audit_name(&self) -> &'static str {
        match self {
            AuthMethod::Token { .. } => "token",
            AuthMethod::Basic => "basic",
            AuthMethod::Signature => "signature",
            AuthMethod::Session { .. } => "session",
            AuthMethod::Bearer { scim: true, .. } => "scim",
            AuthMethod::Bearer { .. } => "access_token",
        }
    }

    /// A SCIM provisioning token.
    pub fn is_scim(&self) -> bool {
        matches!(self, AuthMethod::Bearer { scim: true, .. })
    }

    /// A password login (Basic), or a session or Token that one created. Access tokens and
    /// signed URLs are handed out to others: they may not mint credentials of their own, so
    /// revoking a leaked one removes its holder.
    pub fn proves_password(&self) -> bool {
        matches!(
            self,
            AuthMethod::Token { .. } | AuthMethod::Basic | AuthMethod::Session { .. }
        )
    }
}

/// 403 unless `method` proves the password: `what` (plural) may not be minted with it.
pub fn require_password_credentials(method: &AuthMethod, what: &str) -> ApiResult<()> {
    if method.proves_password() {
        return Ok(());
    }
    Err(ApiError::detail(
        StatusCode::FORBIDDEN,
        format!(
            "{what} can only be created with a password login (a session, a Token or Basic \
             credentials), not with an access token or a signed URL."
        ),
    ))
}

#[derive(Debug, Clone)]
pub struct Identity {
    pub user: UserRecord,
    pub method: AuthMethod,
}

pub fn ct_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// A DRF-style token key: 40 lowercase hex characters.
pub fn new_token_key() -> String {
    let mut bytes = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A Django-style session key: 32 lowercase alphanumerics.
pub fn new_session_key() -> String {
    Alphanumeric
        .sample_string(&mut rand::thread_rng(), 32)
        .to_lowercase()
}

fn unauthorized(msg: &str) -> ApiError {
    ApiError::Unauthorized(msg.to_string())
}

/// Authenticates a request; `Ok(None)` is an anonymous request. No credential of a blocked
/// account passes (`service::access`), and a SCIM token passes nowhere but under `/scim/v2`
/// (deny by default: every extractor of the API comes through here).
pub async fn authenticate(state: &AppState, parts: &Parts) -> ApiResult<Option<Identity>> {
    let identity = identify(state, parts).await?;
    match &identity {
        Some(id) if crate::service::access::is_blocked(&id.user) => {
            Err(unauthorized(crate::service::access::BLOCKED))
        }
        Some(id) if id.method.is_scim() && !is_scim_path(parts) => Err(unauthorized(SCIM_ONLY)),
        _ => Ok(identity),
    }
}

/// Why a SCIM token is refused outside `/scim/v2`.
pub const SCIM_ONLY: &str =
    "This access token is for SCIM provisioning: it is valid under /scim/v2 only.";

/// The SCIM service provider's paths (`http::scim`).
pub fn is_scim_path(parts: &Parts) -> bool {
    let path = parts.uri.path();
    path == "/scim/v2" || path.starts_with("/scim/v2/")
}

async fn identify(state: &AppState, parts: &Parts) -> ApiResult<Option<Identity>> {
    if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
        let value = value.as_bytes();
        let mut words = value
            .split(|b| b.is_ascii_whitespace())
            .filter(|w| !w.is_empty());
        let scheme = words.next().unwrap_or_default().to_ascii_lowercase();
        let rest: Vec<&[u8]> = words.collect();
        match scheme.as_slice() {
            b"token" => return token_auth(state, &rest).await.map(Some),
            b"basic" => return basic_auth(state, parts, &rest).await.map(Some),
            b"bearer" => return bearer_auth(state, parts, &rest).await.map(Some),
            // Other schemes are not ours: DRF ignores them and tries the next class.
            _ => {}
        }
    }
    if matches!(parts.method, Method::GET | Method::HEAD) {
        if let Some(sign) = request::query_value(parts, "sign").filter(|s| !s.is_empty()) {
            return signature_auth(state, parts, &sign).await.map(Some);
        }
    }
    let identity = session_identity(state, parts).await?;
    if identity.is_some() && is_unsafe(&parts.method) {
        check_csrf(parts)?;
    }
    Ok(identity)
}

/// The active user of the request's `sessionid` cookie, if any; CSRF is the caller's business
/// (the API checks `X-CSRFToken`, the console's forms `csrfmiddlewaretoken`).
pub async fn session_identity(state: &AppState, parts: &Parts) -> ApiResult<Option<Identity>> {
    if let Some(key) = cookies::request_cookie(parts, cookies::SESSION_COOKIE) {
        if let Some(user) = state.db.user_by_session(&key).await? {
            if user.is_active {
                return Ok(Some(Identity {
                    user,
                    method: AuthMethod::Session { key },
                }));
            }
        }
    }
    Ok(None)
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

async fn token_auth(state: &AppState, rest: &[&[u8]]) -> ApiResult<Identity> {
    let key = match rest {
        [] => {
            return Err(unauthorized(
                "Invalid token header. No credentials provided.",
            ))
        }
        [key] => std::str::from_utf8(key).map_err(|_| {
            unauthorized(
                "Invalid token header. Token string should not contain invalid characters.",
            )
        })?,
        _ => {
            return Err(unauthorized(
                "Invalid token header. Token string should not contain spaces.",
            ))
        }
    };
    // Only the key's digest is stored; finding the row by it is the comparison.
    let digest = crate::store::digest(key);
    match state.db.user_by_token_digest(&digest).await? {
        Some(user) => {
            if !user.is_active {
                return Err(unauthorized("User inactive or deleted."));
            }
            Ok(Identity {
                user,
                method: AuthMethod::Token { digest },
            })
        }
        None => Err(unauthorized("Invalid token.")),
    }
}

async fn basic_auth(state: &AppState, parts: &Parts, rest: &[&[u8]]) -> ApiResult<Identity> {
    let encoded = match rest {
        [] => {
            return Err(unauthorized(
                "Invalid basic header. No credentials provided.",
            ))
        }
        [one] => *one,
        _ => {
            return Err(unauthorized(
                "Invalid basic header. Credentials string should not contain spaces.",
            ))
        }
    };
    let malformed =
        || unauthorized("Invalid basic header. Credentials not correctly base64 encoded.");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|_| malformed())?;
    // DRF: UTF-8, else latin-1; `partition(':')`, so no ':' means an empty password.
    let decoded = String::from_utf8(decoded)
        .unwrap_or_else(|e| e.into_bytes().iter().map(|&b| char::from(b)).collect());
    let (login, password) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    match basic_login(state, parts, login, password).await? {
        Some(user) if crate::service::verification::blocks_login(state, &user) => {
            Err(unauthorized(crate::service::verification::UNVERIFIED_BASIC))
        }
        Some(user) => {
            // Users with TOTP also send a current code in `X-CVAT-OTP` (spec §4.5).
            let otp = parts
                .headers
                .get("x-cvat-otp")
                .and_then(|v| v.to_str().ok());
            crate::service::mfa::basic_factor(state, &user, otp).await?;
            Ok(Identity {
                user,
                method: AuthMethod::Basic,
            })
        }
        None => Err(unauthorized("Invalid username/password.")),
    }
}

/// `Authorization: Basic`: a password check per request, except that credentials which
/// verified a few minutes ago against the very same stored hashes are not hashed again (see
/// `basic_cache`). The lookup of the login's users is one query either way; a hit writes
/// nothing.
async fn basic_login(
    state: &AppState,
    parts: &Parts,
    login: &str,
    password: &str,
) -> ApiResult<Option<UserRecord>> {
    let cache = basic_cache::cache();
    let key = basic_cache::key(&state.secret, login, password);
    let matching = users_named(state, login).await?;
    let hit = |matching: &[UserRecord]| {
        let active: Vec<&UserRecord> = matching.iter().filter(|u| u.is_active).collect();
        cache.hit(&key, &active)
    };
    if let Some(user) = hit(&matching) {
        // A locked account or address stays locked, whatever the cache knows.
        let address = request::client_address(parts);
        throttle::check(state, &throttle::accounts(login, &matching), &address).await?;
        return Ok(Some(user));
    }
    let _flight = cache.single_flight(key).await;
    // Another request with the same credentials may have verified them meanwhile.
    let matching = users_named(state, login).await?;
    if let Some(user) = hit(&matching) {
        let address = request::client_address(parts);
        throttle::check(state, &throttle::accounts(login, &matching), &address).await?;
        return Ok(Some(user));
    }
    match verify_login(state, parts, login, password, matching).await? {
        Some((user, verified)) => {
            cache.insert(key, verified);
            // Recorded when the password is checked, not on the cache's hits (reads write
            // nothing): the first use, and again whenever the cache forgot the credentials.
            let origin = request::audit_origin(parts);
            let ev = AuditEvent::new(actions::LOGIN, &origin)
                .actor(&user, "basic")
                .on_user(&user);
            state.db.record_event(&ev).await?;
            Ok(Some(user))
        }
        None => Ok(None),
    }
}

/// The users a login (username or address) names; an address waiting for confirmation does
/// not name its account yet (`service::verification`).
async fn users_named(state: &AppState, login: &str) -> ApiResult<Vec<UserRecord>> {
    // No account has a NUL in its name (PostgreSQL text cannot even hold one).
    if login.contains('\0') {
        return Ok(Vec::new());
    }
    let mut users = state.db.users_by_login(login).await?;
    users.retain(|u| crate::service::verification::login_may_name(state, u, login));
    Ok(users)
}

/// Verifies a username-or-email + password pair, with brute-force throttling. Returns the
/// active user whose password matches. Upgrades old hashes after a successful check.
pub async fn check_password_login(
    state: &AppState,
    parts: &Parts,
    login: &str,
    password: &str,
) -> ApiResult<Option<UserRecord>> {
    let matching = users_named(state, login).await?;
    let user = verify_login(state, parts, login, password, matching).await?;
    match user {
        // Told only to whoever knows the password.
        Some((user, _)) if crate::service::access::is_blocked(&user) => Err(ApiError::detail(
            StatusCode::FORBIDDEN,
            crate::service::access::BLOCKED,
        )),
        other => Ok(other.map(|(user, _)| user)),
    }
}

/// The password check of `check_password_login` on the users `login` names; with the user,
/// the `(id, stored hash)` of every candidate checked (the last one matched, with its hash
/// after any upgrade).
async fn verify_login(
    state: &AppState,
    parts: &Parts,
    login: &str,
    password: &str,
    matching: Vec<UserRecord>,
) -> ApiResult<Option<(UserRecord, basic_cache::Verified)>> {
    let address = request::client_address(parts);
    // Failures count against the account, whichever spelling (case, e-mail) named it.
    let accounts = throttle::accounts(login, &matching);
    throttle::check(state, &accounts, &address).await?;
    if let Some(directory) = ldap::decides(state, &matching).await? {
        return ldap::verify(state, directory, login, password, &accounts, &address).await;
    }
    let named: Option<i64> = match matching.as_slice() {
        [one] => Some(one.id),
        _ => None,
    };
    let candidates: Vec<UserRecord> = matching.into_iter().filter(|u| u.is_active).collect();
    let tried: basic_cache::Verified = candidates
        .iter()
        .map(|u| (u.id, u.password.clone()))
        .collect();
    let found = verify_any(candidates, password.to_string()).await?;
    match found {
        Some((mut user, needs_rehash)) => {
            throttle::succeeded(state, &user).await?;
            if needs_rehash {
                let hash = hash_blocking(password.to_string()).await?;
                state.db.set_password_hash(user.id, &hash).await?;
                user.password = hash;
            }
            let mut verified: basic_cache::Verified = tried
                .into_iter()
                .take_while(|(id, _)| *id != user.id)
                .collect();
            verified.push((user.id, user.password.clone()));
            Ok(Some((user, verified)))
        }
        None => {
            throttle::failed(state, &accounts, &address).await?;
            failed_login_event(state, parts, login, named).await?;
            Ok(None)
        }
    }
}

/// Records a failed password check of `login` (the user it names, if one), aggregated per
/// account and client address per minute (`Db::record_failed_login`).
async fn failed_login_event(
    state: &AppState,
    parts: &Parts,
    login: &str,
    user_id: Option<i64>,
) -> ApiResult<()> {
    let ev = AuditEvent::new(actions::LOGIN_FAILED, &request::audit_origin(parts))
        .target("user", user_id, login);
    state.db.record_failed_login(&ev).await?;
    Ok(())
}

/// Checks `password` against one known user (the old password of a password change), under
/// the same throttling as a login of that account: 429 while the account or the address is
/// locked, and a wrong password counts as a failed login.
pub async fn verify_user_password(
    state: &AppState,
    parts: &Parts,
    user: &UserRecord,
    password: &str,
) -> ApiResult<bool> {
    let address = request::client_address(parts);
    let accounts = throttle::accounts(&user.username, std::slice::from_ref(user));
    throttle::check(state, &accounts, &address).await?;
    if verify_any(vec![user.clone()], password.to_string())
        .await?
        .is_some()
    {
        throttle::succeeded(state, user).await?;
        Ok(true)
    } else {
        throttle::failed(state, &accounts, &address).await?;
        failed_login_event(state, parts, &user.username, Some(user.id)).await?;
        Ok(false)
    }
}

/// Personal access tokens (`Authorization: Bearer`): unknown, expired or revoked → 401.
async fn bearer_auth(state: &AppState, parts: &Parts, rest: &[&[u8]]) -> ApiResult<Identity> {
    let value = match rest {
        [] => {
            return Err(unauthorized(
                "Invalid token header. No credentials provided.",
            ))
        }
        [v] => std::str::from_utf8(v).map_err(|_| unauthorized("Invalid token."))?,
        _ => {
            return Err(unauthorized(
                "Invalid token header. Token string should not contain spaces.",
            ))
        }
    };
    let Some((user, token)) = state.db.user_by_access_token(value).await? else {
        return Err(unauthorized("Invalid token."));
    };
    if token
        .token_expiry
        .is_some_and(|t| t <= crate::store::now_micros())
    {
        return Err(unauthorized("Token has expired."));
    }
    if !user.is_active {
        return Err(unauthorized("User inactive or deleted."));
    }
    if token.token_read_only && is_unsafe(&parts.method) {
        return Err(ApiError::detail(
            StatusCode::FORBIDDEN,
            "This access token is read-only.",
        ));
    }
    // Usage is recorded at most once a minute per token, off the request's path.
    let db = state.db.clone();
    tokio::spawn(async move {
        if let Err(e) = db.touch_access_token(token.token_id).await {
            tracing::warn!(error = %e, "recording access token use");
        }
    });
    Ok(Identity {
        user,
        method: AuthMethod::Bearer {
            token_id: token.token_id,
            read_only: token.token_read_only,
            scim: token.token_scim,
        },
    })
}

/// A signed URL: the payload names the signer, whose current password hash gives the binding
/// the signature must verify with (so a URL dies with the password it was signed under).
async fn signature_auth(state: &AppState, parts: &Parts, sign: &str) -> ApiResult<Identity> {
    let invalid = || unauthorized("Invalid signature.");
    let (user_id, username) = signing::signer_of(sign).ok_or_else(invalid)?;
    let user = match state.db.user_by_id(user_id).await? {
        Some(user) if user.username == username => user,
        _ => return Err(invalid()),
    };
    signing::verify_url_token(
        &state.secret,
        &request::signing_canonical_url(parts),
        &signing::password_binding(&user.password),
        sign,
        state.settings.signed_url_lifetime,
        chrono::Utc::now().timestamp(),
    )
    .map_err(|e| match e {
        signing::SignError::Expired => unauthorized("This URL has expired."),
        signing::SignError::Invalid => invalid(),
    })?;
    if !user.is_active {
        return Err(unauthorized("User inactive or deleted."));
    }
    Ok(Identity {
        user,
        method: AuthMethod::Signature,
    })
}

/// Django's CSRF rule for cookie-authenticated unsafe requests: `X-CSRFToken` must equal the
/// `csrftoken` cookie, and an `Origin`, when sent, must name this host.
fn check_csrf(parts: &Parts) -> ApiResult<()> {
    let header_value = parts
        .headers
        .get("x-csrftoken")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    check_csrf_token(parts, header_value)
}

/// The CSRF rule with the token taken from wherever the client sent it (`X-CSRFToken`, or a
/// form's `csrfmiddlewaretoken` field as Django reads it): equal to the `csrftoken` cookie,
/// compared in constant time, and an `Origin`, when sent, naming this host.
pub fn check_csrf_token(parts: &Parts, supplied: &str) -> ApiResult<()> {
    let forbid = |m: String| ApiError::detail(StatusCode::FORBIDDEN, format!("CSRF Failed: {m}"));
    check_origin(parts)?;
    let Some(cookie) = cookies::request_cookie(parts, cookies::CSRF_COOKIE) else {
        return Err(forbid("CSRF cookie not set.".into()));
    };
    if supplied.is_empty() || !ct_eq(supplied, &cookie) {
        return Err(forbid("CSRF token missing or incorrect.".into()));
    }
    Ok(())
}

/// Django's `Origin` check: an `Origin`, when sent, must name this host. Also applied, before
/// any credentials exist, to form posts (login CSRF: see `http::hardening`).
pub fn check_origin(parts: &Parts) -> ApiResult<()> {
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let origin = String::from_utf8_lossy(origin.as_bytes()).to_string();
    let host = request::request_host(parts);
    let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or("");
    if origin_host.eq_ignore_ascii_case(&host) {
        return Ok(());
    }
    Err(ApiError::detail(
        StatusCode::FORBIDDEN,
        format!(
            "CSRF Failed: Origin checking failed - {origin} does not match any trusted origins."
        ),
    ))
}
