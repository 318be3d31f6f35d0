//! OpenID Connect sign-in for browsers (spec §4.9) and one's linked identities:
//! `GET /api/auth/oidc/{provider}/login`, `GET /api/auth/oidc/{provider}/login/callback`,
//! `GET /api/auth/identities`, `DELETE /api/auth/identities/{provider}`.
//!
//! The login answers 302 to the provider (code flow, PKCE S256, `state`, `nonce`) and keeps
//! the flow in the database (`oidc_flows`, shared by replicas) under a digest of the id in the
//! `cvat_oidc_flow` cookie (SameSite=Lax: the callback is a cross-site top-level GET). The
//! callback takes the flow once, checks `state` in constant time, redeems the code and checks
//! the ID token (`auth::oidc`), resolves the account (`service::oidc`) and starts the same
//! session as a password login (`http::auth::start_session`). Failures before the flow is
//! found are 400 `invalid_state`; later ones send the browser to `oidc_error_redirect` with
//! `?error=<code>`. Callbacks are throttled per client address like password logins, and
//! every outcome is logged with the provider.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde_json::{json, Map, Value};
use sha2::Digest;
use subtle::ConstantTimeEq;

use super::views;
use crate::auth::oidc::{Provider, ProviderError};
use crate::auth::{cookies, throttle};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::service::oidc as sso;
use crate::service::{DomainError, Requester, UserId};
use crate::state::{AppState, SharedState};
use crate::store::NewFlow;

const FLOW_COOKIE: &str = "cvat_oidc_flow";

pub fn router() -> Router<SharedState> {
    let fallback = super::method_not_allowed;
    Router::new()
        .route(
            "/api/auth/oidc/{provider}/login",
            get(login).fallback(fallback),
        )
        .route(
            "/api/auth/oidc/{provider}/login/callback",
            get(callback).fallback(fallback),
        )
        .route("/api/auth/identities", get(list).fallback(fallback))
        .route(
            "/api/auth/identities/{provider}",
            delete(unlink).fallback(fallback),
        )
}

/// The plain sign-in page: HTML, merged beside the console (not negotiated).
pub fn pages() -> Router<SharedState> {
    Router::new().route("/auth/login", get(sign_in_page))
}

fn coded(status: StatusCode, code: &'static str, detail: &str) -> ApiError {
    let mut body = Map::new();
    body.insert("detail".into(), detail.into());
    body.insert("code".into(), code.into());
    ApiError::Coded {
        status,
        code,
        body,
        headers: Vec::new(),
    }
}

fn random_b64(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn digest(s: &str) -> String {
    hex::encode(sha2::Sha256::digest(s.as_bytes()))
}

fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    form_urlencoded::parse(parts.uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn provider<'a>(state: &'a AppState, id: &str) -> ApiResult<&'a Provider> {
    state.oidc.provider(id).ok_or_else(|| {
        coded(
            StatusCode::NOT_FOUND,
            "provider_not_found",
            "No such sign-in provider.",
        )
    })
}

/// A relative path on this site (spec §4.9 `next`).
fn valid_next(next: &str) -> bool {
    next.starts_with('/')
        && !next.starts_with("//")
        && !next.starts_with("/\\")
        && next.len() <= 2048
        && !next.chars().any(|c| c.is_control() || c == '\\')
}

/// Where the provider sends the browser back.
fn redirect_uri(state: &AppState, parts: &Parts, p: &Provider) -> String {
    if !p.redirect_uri.is_empty() {
        return p.redirect_uri.clone();
    }
    let origin = super::links::origin(parts);
    let base = state.mailer.link_base(&origin).trim_end_matches('/');
    format!("{base}/api/auth/oidc/{}/login/callback", p.id)
}

fn flow_cookie(value: &str, max_age: i64) -> HeaderValue {
    HeaderValue::try_from(format!(
        "{FLOW_COOKIE}={value}; HttpOnly; Max-Age={max_age}; Path=/api/auth/oidc/; SameSite=Lax"
    ))
    .unwrap_or_else(|_| {
        HeaderValue::from_static("cvat_oidc_flow=; Max-Age=0; Path=/api/auth/oidc/")
    })
}

fn redirect(location: &str, mut headers: HeaderMap) -> Response {
    match HeaderValue::try_from(location) {
        Ok(v) => {
            headers.insert(header::LOCATION, v);
        }
        Err(_) => return ApiError::bad_request("Invalid redirect target.").into_response(),
    }
    (StatusCode::FOUND, headers).into_response()
}

async fn login(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    parts: Parts,
) -> ApiResult<Response> {
    let p = provider(&state, &id)?;
    let q = query_pairs(&parts);
    let next = match param(&q, "next") {
        None => state.oidc.settings.login_redirect.clone(),
        Some(n) if valid_next(n) => n.to_string(),
        Some(_) => {
            return Err(coded(
                StatusCode::BAD_REQUEST,
                "invalid_next",
                "next must be a path on this site.",
            ))
        }
    };
    if param(&q, "process").is_some_and(|v| v != "login") {
        return Err(coded(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Only process=login is supported.",
        ));
    }
    let meta = state.oidc.metadata(p).await.map_err(|e| {
        tracing::warn!(provider = %p.id, error = %e, "sso: provider unavailable");
        coded(
            StatusCode::BAD_GATEWAY,
            "idp_unavailable",
            "The sign-in provider cannot be reached.",
        )
    })?;
    let (flow_id, state_value, nonce, verifier) = (
        random_b64(32),
        random_b64(32),
        random_b64(32),
        random_b64(32),
    );
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    let redirect_to = redirect_uri(&state, &parts, p);
    let ttl = state.oidc.settings.flow_ttl;
    state
        .db
        .insert_oidc_flow(&NewFlow {
            flow_hash: &digest(&flow_id),
            provider: &p.id,
            state_hash: &digest(&state_value),
            nonce: &nonce,
            code_verifier: &verifier,
            next: &next,
            redirect_uri: &redirect_to,
            expires: crate::store::now_micros() + ttl * 1_000_000,
        })
        .await?;
    let scope = p.scopes.join(" ");
    let mut url = form_urlencoded::Serializer::new(String::new());
    url.append_pair("response_type", "code")
        .append_pair("client_id", &p.client_id)
        .append_pair("redirect_uri", &redirect_to)
        .append_pair("scope", &scope)
        .append_pair("state", &state_value)
        .append_pair("nonce", &nonce)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256");
    if let Some(hint) = param(&q, "login_hint").filter(|h| h.len() <= 256) {
        url.append_pair("login_hint", hint);
    }
    let sep = if meta.authorization_endpoint.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{sep}{}", meta.authorization_endpoint, url.finish());
    let mut headers = HeaderMap::new();
    headers.append(header::SET_COOKIE, flow_cookie(&flow_id, ttl));
    Ok(redirect(&location, headers))
}

/// `?error=` values the provider may send that we pass on (spec §4.1).
const PASSED_ON: [&str; 1] = ["access_denied"];

async fn callback(
    State(state): State<SharedState>,
    Path(id): Path<String>,
    parts: Parts,
) -> ApiResult<Response> {
    let address = crate::request::client_address(&parts);
    throttle::check(&state, &[], &address).await?;
    let mut headers = HeaderMap::new();
    headers.append(header::SET_COOKIE, flow_cookie("", 0));
    let q = query_pairs(&parts);
    let flow = match cookies::request_cookie(&parts, FLOW_COOKIE).filter(|c| !c.is_empty()) {
        Some(c) => state.db.take_oidc_flow(&digest(&c)).await?,
        None => None,
    };
    let given_state = digest(param(&q, "state").unwrap_or(""));
    let flow = flow.filter(|f| {
        let same: bool = f.state_hash.as_bytes().ct_eq(given_state.as_bytes()).into();
        same && f.provider == id
    });
    let Some(flow) = flow else {
        tracing::warn!(provider = %id, "sso: callback without a matching flow");
        throttle::failed(&state, &[], &address).await?;
        let mut r = coded(
            StatusCode::BAD_REQUEST,
            "invalid_state",
            "This sign-in is unknown, expired or already used. Start again.",
        )
        .into_response();
        r.headers_mut().extend(headers);
        return Ok(r);
    };
    let p = provider(&state, &id)?;
    let fail = |code: &str, reason: String| {
        let state = state.clone();
        let address = address.clone();
        let headers = headers.clone();
        let provider = p.id.clone();
        let code = code.to_string();
        async move {
            tracing::warn!(provider = %provider, error = %code, reason = %reason, "sso: sign-in refused");
            throttle::failed(&state, &[], &address).await?;
            let to = format!("{}?error={code}", state.oidc.settings.error_redirect);
            Ok::<Response, ApiError>(redirect(&to, headers))
        }
    };
    if let Some(e) = param(&q, "error") {
        let code = PASSED_ON
            .iter()
            .find(|c| **c == e)
            .copied()
            .unwrap_or("access_denied");
        return fail(code, format!("provider answered error={e}")).await;
    }
    let meta = match state.oidc.metadata(p).await {
        Ok(m) => m,
        Err(e) => return fail("idp_unavailable", e.to_string()).await,
    };
    match param(&q, "iss") {
        Some(iss) if iss != meta.issuer => {
            return fail("issuer_mismatch", format!("iss {iss:?}")).await
        }
        None if meta.authorization_response_iss_parameter_supported => {
            return fail("issuer_mismatch", "iss missing".into()).await
        }
        _ => {}
    }
    let Some(code) = param(&q, "code").filter(|c| !c.is_empty()) else {
        return fail("token_exchange_failed", "no code".into()).await;
    };
    let verified = match state
        .oidc
        .redeem(
            p,
            code,
            &flow.code_verifier,
            &flow.redirect_uri,
            &flow.nonce,
        )
        .await
    {
        Ok(v) => v,
        Err(e @ ProviderError::Unavailable(_)) => {
            return fail("idp_unavailable", e.to_string()).await
        }
        Err(e @ ProviderError::TokenExchange(_)) => {
            return fail("token_exchange_failed", e.to_string()).await
        }
        Err(e @ ProviderError::IdToken(_)) => return fail("id_token_invalid", e.to_string()).await,
    };
    let user = match sso::sign_in(&state, p, &verified).await? {
        Ok(u) => u,
        Err(r) => return fail(r.code(), "account resolution".into()).await,
    };
    // A second factor enrolled here is not skipped by a provider's sign-in; finishing it
    // after the callback is not offered yet, so the sign-in is refused (deny by default).
    if user.mfa_enabled {
        return fail("local_mfa_required", format!("user {} has TOTP", user.id)).await;
    }
    throttle::succeeded(&state, &user).await?;
    let ev = super::auth::login_event(&parts, &user, "oidc").detail("provider", p.id.as_str());
    let session = super::auth::start_session(&state, &parts, &user, Some(&ev)).await?;
    headers.extend(session);
    tracing::info!(user_id = user.id, provider = %p.id, "login");
    Ok(redirect(&flow.next, headers))
}

async fn list(State(state): State<SharedState>, req: Requester) -> ApiResult<Response> {
    let rows = sso::identities(&state, UserId(req.user.id)).await?;
    let body: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "provider": r.provider,
                "subject": r.subject,
                "email": r.email,
                "email_verified": r.email_verified,
                "created_date": views::datetime(r.created_date),
                "last_login_date": r.last_login_date.map(views::datetime),
            })
        })
        .collect();
    Ok(cvat_json(StatusCode::OK, &body))
}

async fn unlink(
    State(state): State<SharedState>,
    req: Requester,
    Path(provider): Path<String>,
) -> ApiResult<Response> {
    match sso::unlink(&state, UserId(req.user.id), &provider).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT.into_response()),
        Err(DomainError::Conflict(msg)) => {
            Err(coded(StatusCode::CONFLICT, "last_login_method", &msg))
        }
        Err(e) => Err(e.into()),
    }
}

/// "Sign in with <provider>" links to each enabled provider's login, returning to `next`
/// (the console's sign-in form and the plain sign-in page).
pub(crate) fn sign_in_buttons(state: &AppState, next: &str) -> maud::Markup {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    maud::html! {
        @if !state.oidc.settings.providers.is_empty() {
            div.sso {
                @for p in state.oidc.settings.providers.values() {
                    p {
                        a.button.sso-provider href=(format!("/api/auth/oidc/{}/login?next={next}", p.id)) {
                            "Sign in with " (p.name)
                        }
                    }
                }
            }
        }
    }
}

/// The words for a refused sign-in's `?error=` (spec §4.1).
fn error_text(code: &str) -> &'static str {
    match code {
        "email_not_verified" => "The provider has not verified your e-mail address, and an account here already uses it. Verify the address at the provider, or sign in with your password and link the provider.",
        "account_conflict" => "An account here already uses this e-mail address and cannot be linked automatically. Sign in with your password instead.",
        "account_not_found" => "There is no account here for this sign-in, and this provider does not create one.",
        "account_disabled" => "This account is disabled or blocked.",
        "email_domain_not_allowed" => "Your e-mail address is not in a domain this provider admits.",
        "local_mfa_required" => "This account has two-factor authentication here: sign in with your password and code.",
        "idp_unavailable" => "The sign-in provider cannot be reached. Try again later.",
        _ => "The sign-in failed. Try again.",
    }
}

/// `GET /auth/login`: a plain sign-in page (the default `oidc_error_redirect`): the
/// providers' buttons and, after a refused sign-in, why.
async fn sign_in_page(State(state): State<SharedState>, parts: Parts) -> Response {
    let q = query_pairs(&parts);
    let error = param(&q, "error").map(error_text);
    let next = param(&q, "next").filter(|n| valid_next(n)).unwrap_or("/");
    let page = maud::html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { "Sign in" } }
            body {
                h1 { "Sign in" }
                @if let Some(e) = error { p #sign-in-error { (e) } }
                (sign_in_buttons(&state, next))
                p { a href="/admin/login" { "Sign in with a username and password" } }
            }
        }
    };
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        page.into_string(),
    )
        .into_response()
}
