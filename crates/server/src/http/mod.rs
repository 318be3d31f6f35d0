//! The HTTP layer: one module per resource, our extractors, negotiation, links.

pub mod access_tokens;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod extract;
pub mod hardening;
pub mod invitations;
pub mod links;
pub mod memberships;
pub mod metrics;
pub mod mfa;
pub mod negotiate;
pub mod oidc;
pub mod org_mfa;
pub mod organizations;
pub mod pagination;
pub mod password_reset;
pub mod schema;
pub mod scim;
pub mod server;
pub mod sessions;
pub mod users;
pub mod verification;
pub mod views;

use axum::http::{header, HeaderName, HeaderValue};
use axum::Router;
use tower::util::MapRequestLayer;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::{
    SetSensitiveRequestHeadersLayer, SetSensitiveResponseHeadersLayer,
};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::cookies;
use crate::error::ApiError;
use crate::state::SharedState;

use self::metrics::REQUEST_ID;

pub fn router(state: SharedState) -> Router {
    let api = Router::new()
        .merge(users::router())
        .merge(auth::router())
        .merge(password_reset::router())
        .merge(verification::router())
        .merge(sessions::router())
        .merge(server::router())
        .merge(organizations::router())
        .merge(org_mfa::router())
        .merge(memberships::router())
        .merge(invitations::router())
        .merge(access_tokens::router())
        .merge(mfa::router())
        .merge(audit::router())
        .merge(oidc::router())
        // Negotiation runs on matched routes only: unknown paths get Django's HTML 404.
        .route_layer(axum::middleware::from_fn(negotiate::negotiate))
        // The OpenAPI document and Swagger UI have media types of their own: not negotiated.
        .merge(schema::router())
        // SCIM 2.0 at /scim/v2: its own media type, errors and tokens; not negotiated.
        .merge(scim::router())
        .merge(admin::router()) // the console at /admin/: HTML, not negotiated
        .merge(oidc::pages()); // the plain sign-in page at /auth/login: HTML
    let api = if state.metrics.is_some() {
        // Prometheus metrics, only when enabled (404 otherwise); not negotiated.
        api.route("/metrics", axum::routing::get(metrics::render))
    } else {
        api
    };
    let request_timeout = state.settings.request_timeout;
    let trust = state.clone();
    let set = |name: HeaderName, value: &'static str| {
        SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value))
    };
    api.fallback(|| async { ApiError::NoRoute })
        .with_state(state)
        .layer(set(HeaderName::from_static("x-frame-options"), "DENY"))
        .layer(set(
            HeaderName::from_static("x-content-type-options"),
            "nosniff",
        ))
        .layer(set(
            HeaderName::from_static("referrer-policy"),
            "same-origin",
        ))
        .layer(set(header::VARY, "Accept, Cookie"))
        .layer(axum::middleware::from_fn(cookies::secure_over_https))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .layer(CatchPanicLayer::custom(|_| {
            ApiError::Internal(anyhow::anyhow!("handler panicked")).into_response_boxed()
        }))
        // Allowed hosts, form posts' Origin, HSTS, no-store (needs the proxy trust below).
        .layer(axum::middleware::from_fn_with_state(
            trust.clone(),
            hardening::guard,
        ))
        // Which X-Forwarded-* headers count, and the client's address.
        .layer(axum::middleware::from_fn_with_state(
            trust,
            links::proxy_trust,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        // A span for the request's own events (path only: a query may carry `sign`); the one
        // line per request comes from `metrics::observe`.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(metrics::request_span)
                .on_request(())
                .on_response(())
                .on_failure(())
                .on_eos(()),
        )
        .layer(axum::middleware::from_fn(metrics::observe))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(MapRequestLayer::new(metrics::sanitize_request_id))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
            HeaderName::from_static("x-csrftoken"),
            HeaderName::from_static("x-cvat-otp"),
        ]))
        .layer(SetSensitiveResponseHeadersLayer::new([header::SET_COOKIE]))
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
