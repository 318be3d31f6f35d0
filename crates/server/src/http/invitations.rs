//! `/api/invitations` (spec §4): list, create, detail, delete; the newest CVAT's `accept`,
//! `decline` and `resend`; and 2.3.0's `PATCH` (resend, or accept with `?accepted`).
//!
//! Both SDK generations parse our answers. cvat-sdk 2.3.0 reads the answer to create and
//! `PATCH` as its `InvitationWrite` model (`email` required, `owner` an id), which CVAT 2.3.0's
//! own answer fails (spec §4.2); so a request whose `User-Agent` is that generator's
//! (`OpenAPI-Generator/2.0-alpha/python`) gets `InvitationRead` plus `email`, with `owner` as
//! the inviter's id; every other client gets the plain `InvitationRead`. A project decision,
//! listed in the README's differences.

use axum::extract::{Path, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{Map, Value};

use super::extract::RawBody;
use super::pagination::PageRequest;
use super::{links, views};
use crate::error::{ApiError, ApiResult};
use crate::service::invitations::{self, expired};
use crate::service::{DomainError, DomainResult, InviteMember, OrgId, Requester};
use crate::state::{AppState, SharedState};
use crate::store::{now_micros, InvitationRecord, INVITATION_LIST};
use crate::validate::{self, FieldErrors};

pub fn router() -> Router<SharedState> {
    let fallback = super::method_not_allowed;
    Router::new()
        .route(
            "/api/invitations",
            get(list).post(create).fallback(fallback),
        )
        .route(
            "/api/invitations/{key}",
            get(retrieve)
                .patch(legacy_patch)
                .delete(destroy)
                .fallback(fallback),
        )
        .route(
            "/api/invitations/{key}/accept",
            post(accept).fallback(fallback),
        )
        .route(
            "/api/invitations/{key}/decline",
            post(decline).fallback(fallback),
        )
        .route(
            "/api/invitations/{key}/resend",
            post(resend).fallback(fallback),
        )
}

/// cvat-sdk 2.3.0's generated client names itself so.
const SDK23_USER_AGENT: &str = "OpenAPI-Generator/2.0-alpha/python";

fn from_sdk23(parts: &Parts) -> bool {
    parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ua| ua.starts_with(SDK23_USER_AGENT))
}

/// An invitation as the client parses it (see the module header).
fn answer(state: &AppState, status: StatusCode, parts: &Parts, inv: &InvitationRecord) -> Response {
    let exp = expired(inv, &state.settings.invitations, now_micros());
    if from_sdk23(parts) {
        views::respond(status, parts, |o| views::invitation_for_sdk23(inv, exp, o))
    } else {
        views::respond(status, parts, |o| views::invitation(inv, exp, o))
    }
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let scope = invitations::scope(&req);
    let q = INVITATION_LIST
        .parse(&links::query_pairs(&parts))
        .map_err(|e| ApiError::List(vec![e.0]))?;
    let count = state.db.count_invitations(scope, &q).await?;
    let (settings, now) = (state.settings.invitations, now_micros());
    PageRequest::resolve(&parts, count)?
        .respond(
            &parts,
            count,
            async |offset, limit| state.db.list_invitations(scope, &q, offset, limit).await,
            |inv, o| views::invitation(inv, expired(inv, &settings, now), o),
        )
        .await
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    Path(key): Path<String>,
    parts: Parts,
) -> ApiResult<Response> {
    let inv = invitations::find(&state.db, &req, &key).await?;
    let exp = expired(&inv, &state.settings.invitations, now_micros());
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::invitation(&inv, exp, o)
    }))
}

/// `role` and `email`, as CVAT validates them; `required`: both must be there (create).
fn parse_fields(
    body: &Map<String, Value>,
    required: bool,
) -> DomainResult<(Option<crate::service::OrgRole>, Option<String>)> {
    let mut errors: FieldErrors = Vec::new();
    let missing = || vec!["This field is required.".to_string()];
    let role = match body.get("role").map(validate::org_role_field) {
        None if required => Err(missing()),
        None => Ok(None),
        Some(r) => r.map(Some),
    };
    let email = match body.get("email").map(validate::email_field) {
        None if required => Err(missing()),
        None => Ok(None),
        Some(Ok(e)) if e.is_empty() => Err(vec!["This field may not be blank.".into()]),
        Some(r) => r.map(Some),
    };
    let role = role.map_err(|m| errors.push(("role".into(), m)));
    let email = email.map_err(|m| errors.push(("email".into(), m)));
    match (role, email) {
        (Ok(role), Ok(email)) => Ok((role, email)),
        _ => Err(DomainError::Invalid(errors)),
    }
}

fn parse_invitation(org: OrgId, body: &Map<String, Value>) -> DomainResult<InviteMember> {
    match parse_fields(body, true)? {
        (Some(role), Some(email)) => Ok(InviteMember { org, role, email }),
        _ => Err(DomainError::field("email", "This field is required.")),
    }
}

/// In an organization's context (spec §4.3).
async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let org = invitations::inviting_org(&req)?;
    let cmd = parse_invitation(org, &body.parse_object().await?)?;
    let inv = invitations::invite(&state, &req, &cmd, &links::origin(&parts)).await?;
    Ok(answer(&state, StatusCode::CREATED, &parts, &inv))
}

/// cvat-sdk 2.3.0's resend / accept (spec §4.5): the body is validated, then ignored.
async fn legacy_patch(
    State(state): State<SharedState>,
    req: Requester,
    Path(key): Path<String>,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    parse_fields(&body.parse_object().await?, false)?;
    let accept = links::query_value(&parts, "accepted").is_some();
    let origin = links::origin(&parts);
    let inv = invitations::legacy_patch(&state, &req, &key, accept, &origin).await?;
    Ok(answer(&state, StatusCode::OK, &parts, &inv))
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    invitations::destroy(&state.db, &req, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn accept(
    State(state): State<SharedState>,
    req: Requester,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    let slug = invitations::accept(&state, &req, &key).await?;
    Ok(crate::error::cvat_json(
        StatusCode::OK,
        &cvat_proto::AcceptInvitation {
            organization_slug: slug,
        },
    ))
}

async fn decline(
    State(state): State<SharedState>,
    req: Requester,
    Path(key): Path<String>,
) -> ApiResult<Response> {
    invitations::decline(&state.db, &req, &key).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn resend(
    State(state): State<SharedState>,
    req: Requester,
    Path(key): Path<String>,
    parts: Parts,
) -> ApiResult<Response> {
    invitations::resend(&state, &req, &key, &links::origin(&parts)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
