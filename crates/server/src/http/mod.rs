//! The HTTP layer: one module per resource, our extractors, negotiation, links.

pub mod access_tokens;
pub mod auth;
pub mod extract;
pub mod invitations;
pub mod links;
pub mod memberships;
pub mod negotiate;
pub mod organizations;
pub mod pagination;
pub mod server;
pub mod users;
pub mod views;

use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Request};
use axum::Router;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::error::ApiError;
use crate::state::SharedState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub fn router(state: SharedState) -> Router {
    let api = Router::new()
        .merge(users::router())
        .merge(auth::router())
        .merge(server::router())
        .merge(organizations::router())
        .merge(memberships::router())
        .merge(invitations::router())
        .merge(access_tokens::router())
        // Negotiation runs on matched routes only: unknown paths get Django's HTML 404.
        .route_layer(axum::middleware::from_fn(negotiate::negotiate));
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    api.fallback(|| async { ApiError::NoRoute })
        .with_state(state)
        .layer(set(HeaderName::from_static("x-frame-options"), "DENY"))
        .layer(set(HeaderName::from_static("x-content-type-options"), "nosniff"))
        .layer(set(HeaderName::from_static("referrer-policy"), "same-origin"))
        .layer(set(header::VARY, "Accept, Cookie"))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, Duration::from_secs(60)))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response_boxed()
        }))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req.headers().get(REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("");
                // The path only: a query may carry a `sign` token.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path(), request_id = %id)
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([header::AUTHORIZATION, header::COOKIE]))
}

/// 405 for a method a route does not map.
pub async fn method_not_allowed(method: axum::http::Method) -> ApiError {
    ApiError::method_not_allowed(method.as_str())
}

/// The last path segment (`{id}` / `{key}` of detail routes).
pub fn path_tail(parts: &axum::http::request::Parts) -> String {
    parts
        .uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_string()
}

impl ApiError {
    fn into_response_boxed(self) -> axum::http::Response<axum::body::Body> {
        axum::response::IntoResponse::into_response(self)
    }
}
