//! `/api/invitations`: create (accepted at once, CVAT's default), list, retrieve.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use rand::distributions::{Alphanumeric, DistString};
use serde_json::Value;

use super::extract::RawBody;
use super::pagination::PageRequest;
use super::{links, views};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::org_rules::ROLES;
use crate::permissions::{OrgContext, Requester};
use crate::state::SharedState;
use crate::store::{InvitationScope, OrgWriteError};
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

fn scope(req: &Requester) -> InvitationScope {
    match (&req.org, req.is_admin()) {
        (OrgContext::Org { id, .. }, true) => InvitationScope::Org(*id),
        (OrgContext::Org { id, .. }, false) if req.is_org_staff_in(*id) => {
            InvitationScope::Org(*id)
        }
        (OrgContext::Org { id, .. }, false) => InvitationScope::Involving {
            user: req.id(),
            org: Some(*id),
        },
        (_, true) => InvitationScope::All,
        (_, false) => InvitationScope::Involving {
            user: req.id(),
            org: None,
        },
    }
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let scope = scope(&req);
    let count = state.db.count_invitations(scope).await?;
    let page = PageRequest::resolve(&parts, count)?;
    let rows = state
        .db
        .list_invitations(scope, page.offset(), page.size)
        .await?;
    let origin = links::origin(&parts);
    let results = rows.iter().map(|i| views::invitation(i, &origin)).collect();
    Ok(cvat_json(
        StatusCode::OK,
        &page.wrap(&parts, count, results),
    ))
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let key = super::path_tail(&parts);
    let inv = state
        .db
        .invitation(&key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if let OrgContext::Org { id, .. } = req.org {
        if inv.organization_id != id {
            return Err(ApiError::not_found());
        }
    }
    let involved = inv.user.id == req.id() || inv.owner.as_ref().is_some_and(|o| o.id == req.id());
    if !(req.is_admin() || involved || req.is_org_staff_in(inv.organization_id)) {
        return Err(ApiError::forbidden());
    }
    Ok(cvat_json(
        StatusCode::OK,
        &views::invitation(&inv, &links::origin(&parts)),
    ))
}

/// Body `{"role", "email"}` in an organization's context; the invitee must have an account.
async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let OrgContext::Org { id: org, .. } = req.org else {
        return Err(ApiError::forbidden());
    };
    let body = body.parse_object().await?;
    let mut errors: FieldErrors = Vec::new();
    let role = match body.get("role") {
        None => {
            errors.push(("role".into(), vec!["This field is required.".into()]));
            None
        }
        Some(Value::String(r)) if ROLES.contains(&r.as_str()) => Some(r.clone()),
        Some(other) => {
            errors.push((
                "role".into(),
                vec![format!(
                    "\"{}\" is not a valid choice.",
                    validate::py_str(other)
                )],
            ));
            None
        }
    };
    let email = match body.get("email") {
        None => {
            errors.push(("email".into(), vec!["This field is required.".into()]));
            None
        }
        Some(v) => match validate::email_field(v) {
            Ok(e) if e.is_empty() => {
                errors.push(("email".into(), vec!["This field may not be blank.".into()]));
                None
            }
            Ok(e) => Some(e),
            Err(m) => {
                errors.push(("email".into(), m));
                None
            }
        },
    };
    let (Some(role), Some(email)) = (role, email) else {
        return Err(ApiError::Fields(errors));
    };
    if !req.can_invite(org, &role) {
        return Err(ApiError::forbidden());
    }
    let invitees = state.db.users_by_email(&email).await?;
    let [invitee] = invitees.as_slice() else {
        let msg = if invitees.is_empty() {
            "No user with this e-mail address exists."
        } else {
            "Several users have this e-mail address; invite is ambiguous."
        };
        return Err(ApiError::field("email", msg));
    };
    let key = Alphanumeric.sample_string(&mut rand::thread_rng(), 64);
    state
        .db
        .create_invitation(&key, req.id(), org, invitee.id, &role)
        .await
        .map_err(|e| match e {
            OrgWriteError::AlreadyMember => ApiError::List(vec![
                "The user is a member of the organization already.".into(),
            ]),
            // The invitee was deleted meanwhile: as if it had not been found.
            OrgWriteError::Gone => {
                ApiError::field("email", "No user with this e-mail address exists.")
            }
            other => ApiError::Internal(other.into()),
        })?;
    let inv = state
        .db
        .invitation(&key)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tracing::info!(
        org_id = org,
        invitee = invitee.id,
        by = req.id(),
        "invitation created and accepted"
    );
    Ok(cvat_json(
        StatusCode::CREATED,
        &views::invitation(&inv, &links::origin(&parts)),
    ))
}
