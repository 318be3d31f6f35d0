//! `/api/memberships` (spec §11): paginated list, retrieve, role change, delete.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use super::extract::RawBody;
use super::pagination::PageRequest;
use super::{links, views};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::org_rules::ROLES;
use crate::permissions::{OrgContext, Requester};
use crate::state::{AppState, SharedState};
use crate::store::{MembershipRecord, MembershipScope};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/memberships",
            get(list).fallback(super::method_not_allowed),
        )
        .route(
            "/api/memberships/{id}",
            get(retrieve)
                .patch(update)
                .delete(destroy)
                .fallback(super::method_not_allowed),
        )
}

/// The memberships a list shows the requester (the console's organization page uses it too).
pub fn scope(req: &Requester) -> MembershipScope {
    match (&req.org, req.is_admin()) {
        (OrgContext::Org { id, .. }, admin) => MembershipScope::Org {
            org: *id,
            only_active: !admin,
        },
        (_, true) => MembershipScope::All,
        (_, false) => MembershipScope::OwnActive(req.id()),
    }
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let scope = scope(&req);
    let count = state.db.count_memberships(scope).await?;
    let page = PageRequest::resolve(&parts, count)?;
    let rows = state
        .db
        .list_memberships(scope, page.offset(), page.size)
        .await?;
    let origin = links::origin(&parts);
    let results = rows.iter().map(|m| views::membership(m, &origin)).collect();
    Ok(cvat_json(
        StatusCode::OK,
        &page.wrap(&parts, count, results),
    ))
}

/// The membership of the path; one of another organization than the selected one is a 404.
async fn load(state: &SharedState, req: &Requester, parts: &Parts) -> ApiResult<MembershipRecord> {
    let id: i64 = super::path_tail(parts)
        .parse()
        .map_err(|_| ApiError::not_found())?;
    let m = state
        .db
        .membership(id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if let OrgContext::Org { id: org, .. } = req.org {
        if m.organization_id != org {
            return Err(ApiError::not_found());
        }
    }
    Ok(m)
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let m = load(&state, &req, &parts).await?;
    if !req.can_view_membership(&m) {
        return Err(ApiError::forbidden());
    }
    Ok(cvat_json(
        StatusCode::OK,
        &views::membership(&m, &links::origin(&parts)),
    ))
}

async fn update(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let m = load(&state, &req, &parts).await?;
    if !req.can_change_role(&m) {
        return Err(ApiError::forbidden());
    }
    let body = body.parse_object().await?;
    let m = change_role(&state, &req, &m, &body).await?;
    Ok(cvat_json(
        StatusCode::OK,
        &views::membership(&m, &links::origin(&parts)),
    ))
}

/// `PATCH /api/memberships/{id}`'s effect: `{"role": ...}` (one of the four roles) on a
/// membership the requester may manage. Returns the membership as stored afterwards.
pub async fn change_role(
    state: &AppState,
    req: &Requester,
    m: &MembershipRecord,
    body: &Map<String, Value>,
) -> ApiResult<MembershipRecord> {
    if !req.can_change_role(m) {
        return Err(ApiError::forbidden());
    }
    if let Some(v) = body.get("role") {
        let role = match v {
            Value::String(s) if ROLES.contains(&s.as_str()) => s.clone(),
            other => {
                let shown = crate::validate::py_str(other);
                return Err(ApiError::field(
                    "role",
                    format!("\"{shown}\" is not a valid choice."),
                ));
            }
        };
        state.db.set_membership_role(m.id, &role).await?;
    }
    state
        .db
        .membership(m.id)
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let m = load(&state, &req, &parts).await?;
    remove_membership(&state, &req, &m).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `DELETE /api/memberships/{id}`'s effect, for a requester allowed to delete it.
pub async fn remove_membership(
    state: &AppState,
    req: &Requester,
    m: &MembershipRecord,
) -> ApiResult<()> {
    if !req.can_delete_membership(m) {
        return Err(ApiError::forbidden());
    }
    state.db.delete_membership(m.id).await?;
    tracing::info!(membership_id = m.id, by = req.id(), "membership deleted");
    Ok(())
}
