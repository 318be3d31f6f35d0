//! Session and CSRF cookies, formatted so that Python's `SimpleCookie` (what cvat-sdk parses
//! `Set-Cookie` with) reads them: every header ends with a `name=value` attribute, values are
//! alphanumeric, no `Partitioned` (client note, appendix A).

use axum::http::request::Parts;
use axum::http::{header, HeaderValue};
use rand::distributions::{Alphanumeric, DistString};

pub const SESSION_COOKIE: &str = "sessionid";
pub const CSRF_COOKIE: &str = "csrftoken";
const CSRF_MAX_AGE: i64 = 31_449_600;

/// The value of cookie `name` in the request, if any.
pub fn request_cookie(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        v.split(';').find_map(|pair| {
            let (k, val) = pair.trim().split_once('=')?;
            (k.trim() == name).then(|| val.trim().trim_matches('"').to_string())
        })
    })
}

fn expires(max_age: i64) -> String {
    let at = chrono::Utc::now() + chrono::Duration::seconds(max_age);
    at.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub fn session_cookie(key: &str, max_age: i64) -> HeaderValue {
    let v = format!(
        "{SESSION_COOKIE}={key}; expires={}; HttpOnly; Max-Age={max_age}; Path=/; SameSite=Lax",
        expires(max_age)
    );
    HeaderValue::from_str(&v).expect("alphanumeric cookie")
}

pub fn clear_session_cookie() -> HeaderValue {
    HeaderValue::from_static(
        "sessionid=\"\"; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; SameSite=Lax",
    )
}

/// Keeps the client's CSRF token when it has a well-formed one: cvat-sdk 2.80 freezes the
/// `X-CSRFToken` value at login, so rotating it would break its later unsafe requests.
pub fn csrf_token_for(parts: &Parts) -> String {
    request_cookie(parts, CSRF_COOKIE)
        .filter(|t| (32..=64).contains(&t.len()) && t.chars().all(|c| c.is_ascii_alphanumeric()))
        .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::thread_rng(), 64))
}

pub fn csrf_cookie(token: &str) -> HeaderValue {
    let v = format!(
        "{CSRF_COOKIE}={token}; expires={}; Max-Age={CSRF_MAX_AGE}; Path=/; SameSite=Lax",
        expires(CSRF_MAX_AGE)
    );
    HeaderValue::from_str(&v).expect("alphanumeric cookie")
}
