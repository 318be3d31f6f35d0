//! Session and CSRF cookies, formatted so that Python's `SimpleCookie` (what cvat-sdk parses
//! `Set-Cookie` with) reads them: every header ends with a `name=value` attribute, values are
//! alphanumeric, no `Partitioned` (client note, appendix A). Over HTTPS (as a trusted proxy
//! reports it) they also get `Secure`, placed before `Path=/; SameSite=Lax`.

use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
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
    header_value(v)
}

/// Our cookie values are alphanumeric keys and a date; should one ever not be a valid header,
/// the cookie is cleared rather than the request failing.
fn header_value(v: String) -> HeaderValue {
    HeaderValue::try_from(v).unwrap_or_else(|e| {
        tracing::error!(error = %e, "a cookie is not a valid header value");
        clear_session_cookie()
    })
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
    header_value(v)
}

/// Middleware: every `Set-Cookie` of a response to an HTTPS request gets `Secure`.
pub async fn secure_over_https(req: Request, next: Next) -> Response {
    let https = crate::request::is_https(req.headers(), req.extensions());
    let mut response = next.run(req).await;
    if https {
        mark_secure(response.headers_mut());
    }
    response
}

/// Adds `Secure` to every `Set-Cookie` header that lacks it.
pub fn mark_secure(headers: &mut HeaderMap) {
    let values: Vec<HeaderValue> = headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(with_secure)
        .collect();
    if values.is_empty() {
        return;
    }
    headers.remove(header::SET_COOKIE);
    for v in values {
        headers.append(header::SET_COOKIE, v);
    }
}

/// `Secure` goes in front of `Path=`, never last: Python's cookie parser drops every cookie of
/// a response when a header ends with a bare flag (appendix A).
fn with_secure(value: &HeaderValue) -> HeaderValue {
    let Ok(text) = value.to_str() else {
        return value.clone();
    };
    let mut attrs: Vec<&str> = text.split(';').map(str::trim).collect();
    if attrs
        .iter()
        .skip(1)
        .any(|a| a.eq_ignore_ascii_case("secure"))
    {
        return value.clone();
    }
    match attrs
        .iter()
        .skip(1)
        .position(|a| a.to_ascii_lowercase().starts_with("path="))
    {
        Some(i) => attrs.insert(i + 1, "Secure"),
        None => {
            attrs.push("Secure");
            attrs.push("Path=/");
        }
    }
    HeaderValue::from_str(&attrs.join("; ")).unwrap_or_else(|_| value.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_goes_before_path_and_never_last() {
        let mut h = HeaderMap::new();
        h.append(header::SET_COOKIE, session_cookie("abc", 60));
        h.append(header::SET_COOKIE, csrf_cookie("xyz"));
        h.append(header::SET_COOKIE, clear_session_cookie());
        mark_secure(&mut h);
        let all: Vec<&str> = h
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect();
        assert_eq!(all.len(), 3);
        for v in all {
            assert!(v.ends_with("; Secure; Path=/; SameSite=Lax"), "{v}");
        }
        // Idempotent.
        let before: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
        mark_secure(&mut h);
        let after: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
        assert_eq!(before, after);
    }
}
