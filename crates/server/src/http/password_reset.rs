//! `POST /api/auth/password/reset` and `POST /api/auth/password/reset/confirm` (spec §2):
//! anonymous, but a request's credentials are still checked (an invalid `Authorization` gets
//! 401, a session cookie without CSRF 403), as CVAT's authentication classes do. The logic is
//! `crate::service::password_reset`.

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::Response;
use axum::routing::post;
use axum::Router;

use super::extract::{MaybeIdentity, RawBody};
use super::{links, views};
use crate::error::{ApiError, ApiResult};
use crate::service::password_reset::{self, RESET_DONE, RESET_SENT};
use crate::state::SharedState;
use crate::validate;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/auth/password/reset",
            post(reset).fallback(super::method_not_allowed),
        )
        .route(
            "/api/auth/password/reset/confirm",
            post(confirm).fallback(super::method_not_allowed),
        )
}

async fn reset(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let email = validate::required_email(&body).map_err(ApiError::Fields)?;
    let client = links::client_address(&parts);
    password_reset::request_reset(&state, &email, &links::origin(&parts), &client).await?;
    Ok(views::detail_ok(RESET_SENT))
}

async fn confirm(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    password_reset::confirm_reset(&state, &body, &crate::request::audit_origin(&parts)).await?;
    Ok(views::detail_ok(RESET_DONE))
}
