//! `/api/auth/sessions` (one's own credentials) and `/api/users/{id}/sessions` (an
//! administrator's view of anybody's): list, revoke one, sign out everywhere
//! (`service::sessions`).

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::Router;

use super::extract::PathId;
use super::users::administered_user;
use super::views;
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::service::sessions::{self, Credential};
use crate::service::Requester;
use crate::state::SharedState;

pub fn router() -> Router<SharedState> {
    let fallback = super::method_not_allowed;
    Router::new()
        .route("/api/auth/sessions", get(list_own).fallback(fallback))
        .route(
            "/api/auth/sessions/revoke-all",
            post(revoke_all_own).fallback(fallback),
        )
        .route(
            "/api/auth/sessions/{sid}",
            delete(revoke_own).fallback(fallback),
        )
        .route("/api/users/{id}/sessions", get(list_of).fallback(fallback))
        .route(
            "/api/users/{id}/sessions/revoke-all",
            post(revoke_all_of).fallback(fallback),
        )
        .route(
            "/api/users/{id}/sessions/{sid}",
            delete(revoke_of).fallback(fallback),
        )
}

fn listed(items: &[Credential]) -> Response {
    let body: Vec<cvat_proto::Credential> = items
        .iter()
        .map(|c| cvat_proto::Credential {
            id: c.id(),
            kind: c.row.kind.clone(),
            name: c.row.name.clone(),
            created_date: c.row.created.map(views::datetime),
            expiry_date: c.row.expires.map(views::datetime),
            last_used_date: c.row.last_used.map(views::datetime),
            client_address: c.row.client_address.clone(),
            user_agent: c.row.user_agent.clone(),
            current: c.current,
        })
        .collect();
    cvat_json(StatusCode::OK, &body)
}

fn signed_out(gone: u64) -> Response {
    views::detail_ok(&format!(
        "Signed out everywhere: {gone} credentials revoked."
    ))
}

async fn list_own(State(state): State<SharedState>, req: Requester) -> ApiResult<Response> {
    Ok(listed(&sessions::list(&state, &req, &req.user).await?))
}

async fn revoke_all_own(State(state): State<SharedState>, req: Requester) -> ApiResult<Response> {
    Ok(signed_out(
        sessions::revoke_all(&state, &req, &req.user).await?,
    ))
}

async fn revoke_own(
    State(state): State<SharedState>,
    req: Requester,
    Path(sid): Path<String>,
) -> ApiResult<Response> {
    sessions::revoke(&state, &req, &req.user, &sid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn list_of(
    State(state): State<SharedState>,
    req: Requester,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> ApiResult<Response> {
    let user = administered_user(&state, &req, id, &parts).await?;
    Ok(listed(&sessions::list(&state, &req, &user).await?))
}

async fn revoke_all_of(
    State(state): State<SharedState>,
    req: Requester,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> ApiResult<Response> {
    let user = administered_user(&state, &req, id, &parts).await?;
    Ok(signed_out(sessions::revoke_all(&state, &req, &user).await?))
}

async fn revoke_of(
    State(state): State<SharedState>,
    req: Requester,
    id: Result<PathId, ApiError>,
    parts: Parts,
    Path((_, sid)): Path<(String, String)>,
) -> ApiResult<Response> {
    let user = administered_user(&state, &req, id, &parts).await?;
    sessions::revoke(&state, &req, &user, &sid).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
