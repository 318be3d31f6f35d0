//! Operations: the access log (one line per request) and `GET /metrics`, the recorder's text
//! (the metrics themselves are listed in [`crate::metrics`]).

use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::state::SharedState;
use crate::store::Db;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `GET /metrics` (routed only when metrics are on).
pub async fn render(State(state): State<SharedState>) -> Response {
    let Some(m) = &state.metrics else {
        return ApiError::NoRoute.into_response();
    };
    let (size, idle) = match &state.db {
        Db::Sqlite(p) => (p.size(), p.num_idle()),
        Db::Postgres(p) => (p.size(), p.num_idle()),
    };
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        m.render(size, idle, state.settings.db_pool_size),
    )
        .into_response()
}

/// Route parameters whose values are credentials and never go to the logs.
const SECRET_PARAMS: [&str; 1] = ["{key}"];
const MAX_LOGGED_PATH: usize = 256;

/// The path as logged: never the query (it may carry `sign=`), secret route parameters
/// (invitation keys) replaced by the parameter's name, at most 256 characters.
pub fn log_path(path: &str, route: Option<&str>) -> String {
    let mut out = match route {
        Some(route) if SECRET_PARAMS.iter().any(|p| route.contains(p)) => {
            let (segments, templates): (Vec<&str>, Vec<&str>) =
                (path.split('/').collect(), route.split('/').collect());
            if segments.len() == templates.len() {
                segments
                    .iter()
                    .zip(&templates)
                    .map(|(s, t)| if SECRET_PARAMS.contains(t) { *t } else { *s })
                    .collect::<Vec<_>>()
                    .join("/")
            } else {
                route.to_string()
            }
        }
        _ => path.to_string(),
    };
    if out.len() > MAX_LOGGED_PATH {
        let mut cut = MAX_LOGGED_PATH;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
        out.push('…');
    }
    out
}

/// The span every request's own events are logged in.
pub fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    let route = req.extensions().get::<MatchedPath>().map(|m| m.as_str());
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %log_path(req.uri().path(), route),
        request_id = %request_id(req),
    )
}

fn request_id<B>(req: &axum::http::Request<B>) -> &str {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A client's `X-Request-Id` is kept only when it is a plain token (at most 128 letters,
/// digits and `-_.:`); otherwise it is dropped and a fresh one generated, so a client cannot
/// put spaces, quotes or kilobytes into the log lines.
pub fn sanitize_request_id<B>(mut req: axum::http::Request<B>) -> axum::http::Request<B> {
    let ok = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty()
            && b.len() <= 128
            && b.iter()
                .all(|c| c.is_ascii_alphanumeric() || b"-_.:".contains(c))
    };
    let values = req.headers().get_all(REQUEST_ID);
    let keep = values.iter().count() == 1 && values.iter().all(ok);
    if !keep {
        req.headers_mut().remove(REQUEST_ID);
    }
    req
}

fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::CONNECT => "CONNECT",
        // Clients may send any token: keep the label set bounded.
        _ => "OTHER",
    }
}

/// Logs a request that never got its response (the client went away or the server stopped).
struct Pending {
    method: Method,
    path: String,
    request_id: String,
    start: Instant,
    done: bool,
}

impl Drop for Pending {
    fn drop(&mut self) {
        crate::metrics::request_ended();
        if !self.done {
            tracing::info!(
                target: "cvat_server::access",
                method = %self.method,
                path = %self.path,
                latency_ms = millis(self.start.elapsed()),
                request_id = %self.request_id,
                "request abandoned before its response"
            );
        }
    }
}

fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1_000_000.0).round() / 1000.0
}

/// The access log line and the request metrics, around everything else.
pub async fn observe(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let mut pending = Pending {
        method: req.method().clone(),
        path: log_path(req.uri().path(), route.as_deref()),
        request_id: request_id(&req).to_string(),
        start: Instant::now(),
        done: false,
    };
    crate::metrics::request_started();
    let response = next.run(req).await;
    pending.done = true;
    let latency = pending.start.elapsed();
    let status = response.status().as_u16();
    let method = method_label(&pending.method);
    let route = route.unwrap_or_else(|| "unmatched".into());
    crate::metrics::request_answered(method, route, status, latency);
    tracing::info!(
        target: "cvat_server::access",
        method = %pending.method,
        path = %pending.path,
        status,
        latency_ms = millis(latency),
        request_id = %pending.request_id,
        "request"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logged_paths_hide_invitation_keys_and_queries() {
        assert_eq!(
            log_path("/api/invitations/abcdef123", Some("/api/invitations/{key}")),
            "/api/invitations/{key}"
        );
        assert_eq!(
            log_path("/api/users/7", Some("/api/users/{id}")),
            "/api/users/7"
        );
        assert_eq!(log_path(&"x".repeat(300), None).chars().count(), 257);
    }

    #[test]
    fn request_ids_must_be_plain_tokens() {
        let req = |v: &str| {
            axum::http::Request::builder()
                .header(REQUEST_ID, v)
                .body(())
                .unwrap()
        };
        assert!(sanitize_request_id(req("abc-123.x:y_z"))
            .headers()
            .contains_key(REQUEST_ID));
        assert!(!sanitize_request_id(req("a b"))
            .headers()
            .contains_key(REQUEST_ID));
        assert!(!sanitize_request_id(req(&"a".repeat(129)))
            .headers()
            .contains_key(REQUEST_ID));
    }
}
