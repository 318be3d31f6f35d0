//! `/api/invitations`: create (accepted at once, CVAT's default), list, retrieve.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use super::extract::RawBody;
use super::pagination::PageRequest;
use super::views;
use crate::error::ApiResult;
use crate::service::{orgs, DomainError, DomainResult, InviteMember, OrgId, Requester};
use crate::state::SharedState;
use crate::validate::{self, FieldErrors};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/invitations",
            get(list).post(create).fallback(super::method_not_allowed),
        )
        .route(
            "/api/invitations/{key}",
            get(retrieve).fallback(super::method_not_allowed),
        )
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let scope = orgs::invitation_scope(&req);
    let count = state.db.count_invitations(scope).await?;
    PageRequest::resolve(&parts, count)?
        .respond(
            &parts,
            count,
            async |offset, limit| state.db.list_invitations(scope, offset, limit).await,
            views::invitation,
        )
        .await
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let key = super::path_tail(&parts);
    let inv = orgs::find_invitation(&state.db, &req, &key).await?;
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::invitation(&inv, o)
    }))
}

/// `{"role", "email"}`, both required; the e-mail must not be blank.
fn parse_invitation(org: OrgId, body: &Map<String, Value>) -> DomainResult<InviteMember> {
    let mut errors: FieldErrors = Vec::new();
    let required = || vec!["This field is required.".to_string()];
    let role = match body.get("role").map(validate::org_role_field) {
        None => Err(required()),
        Some(r) => r,
    };
    let email = match body.get("email").map(validate::email_field) {
        None => Err(required()),
        Some(Ok(e)) if e.is_empty() => Err(vec!["This field may not be blank.".into()]),
        Some(r) => r,
    };
    let role = role.map_err(|m| errors.push(("role".into(), m)));
    let email = email.map_err(|m| errors.push(("email".into(), m)));
    match (role, email) {
        (Ok(role), Ok(email)) => Ok(InviteMember { org, role, email }),
        _ => Err(DomainError::Invalid(errors)),
    }
}

/// In an organization's context; the invitee must have an account.
async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let org = orgs::inviting_org(&req)?;
    let cmd = parse_invitation(org, &body.parse_object().await?)?;
    let inv = orgs::invite(&state.db, &req, &cmd).await?;
    Ok(views::respond(StatusCode::CREATED, &parts, |o| {
        views::invitation(&inv, o)
    }))
}
