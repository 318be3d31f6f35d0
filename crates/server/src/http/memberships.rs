//! `/api/memberships` (spec §11): paginated list, retrieve, role change, delete.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use super::extract::{PathId, RawBody};
use super::pagination::PageRequest;
use super::{links, views};
use crate::error::{ApiError, ApiResult};
use crate::service::{orgs, DomainError, DomainResult, MembershipAccess, OrgRole, Requester};
use crate::state::SharedState;
use crate::store::MEMBERSHIP_LIST;
use crate::validate;

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

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let scope = orgs::membership_scope(&req);
    let q = MEMBERSHIP_LIST
        .parse(&links::query_pairs(&parts))
        .map_err(|e| ApiError::List(vec![e.0]))?;
    let count = state.db.count_memberships(scope, &q).await?;
    PageRequest::resolve(&parts, count)?
        .respond(
            &parts,
            count,
            async |offset, limit| state.db.list_memberships(scope, &q, offset, limit).await,
            views::membership,
        )
        .await
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
) -> ApiResult<Response> {
    let m = orgs::find_membership(&state.db, &req, id.0, MembershipAccess::View).await?;
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::membership(&m, o)
    }))
}

/// `PATCH /api/memberships/{id}`'s body: `{"role": ...}`, one of the four roles (absent:
/// nothing changes). The console's role form sends the same.
pub fn parse_role(body: &Map<String, Value>) -> DomainResult<Option<OrgRole>> {
    body.get("role")
        .map(|v| {
            validate::org_role_field(v).map_err(|m| DomainError::Invalid(vec![("role".into(), m)]))
        })
        .transpose()
}

async fn update(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let m = orgs::find_membership(&state.db, &req, id.0, MembershipAccess::ChangeRole).await?;
    let role = parse_role(&body.parse_object().await?)?;
    let m = orgs::change_role(&state.db, &req, &m, role).await?;
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::membership(&m, o)
    }))
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
) -> ApiResult<Response> {
    let m = orgs::find_membership(&state.db, &req, id.0, MembershipAccess::Remove).await?;
    orgs::remove_membership(&state.db, &req, &m).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
