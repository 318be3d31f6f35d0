//! Answers' security properties that hold for every route, decided here once instead of in each
//! handler (issue 18):
//!
//! - `Host` (or a trusted proxy's `X-Forwarded-Host`) must be in `--allowed-hosts` when that is
//!   set: links and signed URLs echo it, so a forged one would poison them. Django answers 400.
//!   The health check is exempt (no links; load balancers call replicas by address).
//! - Unsafe form posts (the content types a foreign page can send without a CORS preflight)
//!   from a foreign `Origin` get 403 before any handler runs: a login or registration form
//!   posted from another site would otherwise set our cookies in the victim's browser (login
//!   CSRF). The SDKs post JSON without `Origin` and are not affected.
//! - HTTPS answers (as a trusted proxy reports it) carry `Strict-Transport-Security`.
//! - JSON answers to requests that carry credentials, and answers that set cookies, get
//!   `Cache-Control: no-store`: they hold personal data or secrets (the login's token key).

use axum::extract::{Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::cookies;
use crate::error::ApiError;
use crate::request;
use crate::state::SharedState;

pub async fn guard(State(state): State<SharedState>, req: Request, next: Next) -> Response {
    let (parts, body) = req.into_parts();
    let settings = &state.settings;
    // The health check builds no links; load balancers call it by the replica's address.
    if !settings.allowed_hosts.0.is_empty() && parts.uri.path() != "/api/server/health" {
        let allowed = request::claimed_host(&parts)
            .is_some_and(|h| request::is_plain_host(&h) && settings.allowed_hosts.allows(&h));
        if !allowed {
            return ApiError::detail(
                StatusCode::BAD_REQUEST,
                "Invalid HTTP_HOST header: the host is not in the allowed hosts.",
            )
            .into_response();
        }
    }
    if is_form_post(&parts) {
        if let Err(e) = crate::auth::check_origin(&parts) {
            return e.into_response();
        }
    }
    let https = request::is_https(&parts.headers, &parts.extensions);
    let credentials = carries_credentials(&parts);
    let mut response = next.run(Request::from_parts(parts, body)).await;
    let headers = response.headers_mut();
    if let Some(value) = settings.hsts.as_ref().filter(|_| https) {
        headers
            .entry(header::STRICT_TRANSPORT_SECURITY)
            .or_insert(value.clone());
    }
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|t| t.split(';').next().unwrap_or("").trim())
        .is_some_and(|t| t == "application/json" || t.ends_with("+json"));
    if (credentials && json) || headers.contains_key(header::SET_COOKIE) {
        headers
            .entry(header::CACHE_CONTROL)
            .or_insert(HeaderValue::from_static("no-store"));
    }
    response
}

/// An unsafe request with a body type browsers send cross-site without asking first.
fn is_form_post(parts: &Parts) -> bool {
    if matches!(
        parts.method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) {
        return false;
    }
    let Some(content_type) = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        essence.as_str(),
        "application/x-www-form-urlencoded" | "multipart/form-data" | "text/plain"
    )
}

/// Whether the request names a user: `Authorization`, the session cookie or a signature.
fn carries_credentials(parts: &Parts) -> bool {
    parts.headers.contains_key(header::AUTHORIZATION)
        || cookies::request_cookie(parts, cookies::SESSION_COOKIE).is_some()
        || request::query_value(parts, "sign").is_some()
}
