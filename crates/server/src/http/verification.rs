//! E-mail verification's routes (spec §3.4, §3.6): the confirmation link and a re-send. The
//! rules live in `service::verification`; `/api/auth/register` and `/api/auth/login` (in
//! `http::auth`) apply the modes.
//!
//! The link answers as CVAT's plain Django view does, with redirects to UI pages rather than
//! JSON: 302 to `/auth/email-confirmation` once confirmed, 302 to
//! `/auth/incorrect-email-confirmation` for a bad, used or expired key (POST: an HTML 404).
//! While verification is off the route answers a JSON 404.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

use super::extract::{MaybeIdentity, RawBody};
use super::{links, views};
use crate::auth;
use crate::error::{ApiError, ApiResult};
use crate::service::verification::{self, CONFIRMED_PAGE, INCORRECT_PAGE};
use crate::service::DomainError;
use crate::state::{AppState, SharedState};
use crate::validate;

/// dj-rest-auth's answer to a re-send request, whatever happened.
pub const RESEND_DONE: &str = "ok";

pub fn router() -> Router<SharedState> {
    let fallback = super::method_not_allowed;
    Router::new()
        .route(
            "/api/auth/account-confirm-email/{key}/",
            get(confirm_on_get).post(confirm_on_post).fallback(fallback),
        )
        .route("/api/auth/resend-email", post(resend).fallback(fallback))
}

fn redirect(to: &str) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to.to_string())]).into_response()
}

fn not_found_page() -> Response {
    let html = [(header::CONTENT_TYPE, "text/html; charset=utf-8")];
    (StatusCode::NOT_FOUND, html, "<h1>Not Found</h1>\n").into_response()
}

/// 404 unless verification is on (CVAT routes the link only then).
fn ensure_on(state: &AppState) -> ApiResult<()> {
    match state.mailer.settings.email_verification.is_on() {
        true => Ok(()),
        false => Err(ApiError::detail(StatusCode::NOT_FOUND, "Not found.")),
    }
}

async fn confirm_on_get(
    State(state): State<SharedState>,
    Path(key): Path<String>,
    parts: Parts,
) -> ApiResult<Response> {
    ensure_on(&state)?;
    let origin = crate::request::audit_origin(&parts);
    Ok(match verification::confirm(&state, &key, &origin).await {
        Ok(_) => redirect(CONFIRMED_PAGE),
        Err(DomainError::NotFound) => redirect(INCORRECT_PAGE),
        Err(e) => return Err(e.into()),
    })
}

/// A POST is a Django form post: the `X-CSRFToken` header must match the `csrftoken` cookie.
async fn confirm_on_post(
    State(state): State<SharedState>,
    Path(key): Path<String>,
    parts: Parts,
) -> ApiResult<Response> {
    ensure_on(&state)?;
    let token = parts
        .headers
        .get("x-csrftoken")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    auth::check_csrf_token(&parts, token)?;
    let origin = crate::request::audit_origin(&parts);
    Ok(match verification::confirm(&state, &key, &origin).await {
        Ok(_) => redirect(CONFIRMED_PAGE),
        Err(DomainError::NotFound) => not_found_page(),
        Err(e) => return Err(e.into()),
    })
}

/// `{"email"}`: a new confirmation mail for a pending account with that address (one per
/// cooldown). The same answer whether or not there is one.
async fn resend(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let email = validate::required_email(&body).map_err(ApiError::Fields)?;
    let origin = links::origin(&parts);
    verification::resend_to(&state, &email, state.mailer.link_base(&origin)).await?;
    Ok(views::detail_ok(RESEND_DONE))
}
