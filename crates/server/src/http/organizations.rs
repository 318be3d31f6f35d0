//! `/api/organizations` (spec §11): a plain array list, create, retrieve, update, delete.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use super::extract::{python_type_name, PathId, RawBody};
use super::{links, views};
use crate::error::{cvat_json, ApiResult};
use crate::service::{orgs, DomainError, DomainResult, OrgId, Requester, SLUG_TAKEN};
use crate::state::{AppState, SharedState};
use crate::store::OrgChanges;
use crate::validate::{self, FieldErrors};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/organizations",
            get(list).post(create).fallback(super::method_not_allowed),
        )
        .route(
            "/api/organizations/{id}",
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
    let search = links::query_value(&parts, "search");
    let found = orgs::visible(&state.db, &req, search.as_deref()).await?;
    let origin = links::origin(&parts);
    let body: Vec<_> = found
        .iter()
        .map(|o| views::organization(o, &origin))
        .collect();
    Ok(cvat_json(StatusCode::OK, &body))
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
) -> ApiResult<Response> {
    let org = orgs::find(&state.db, &req, OrgId(id.0)).await?;
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::organization(&org, o)
    }))
}

/// `OrganizationWriteSerializer`: slug (≤16, slug characters, unique), name (≤64),
/// description, contact (a JSON object).
async fn parse_body(
    state: &AppState,
    body: &Map<String, Value>,
    existing: Option<OrgId>,
) -> DomainResult<OrgChanges> {
    let mut ch = OrgChanges::default();
    let mut errors: FieldErrors = Vec::new();
    match body.get("slug") {
        None if existing.is_none() => errors.push(("slug".into(), vec!["This field is required.".into()])),
        None => {}
        Some(v) => match validate::char_field(v, false, 16) {
            Err(m) => errors.push(("slug".into(), m)),
            Ok(s) if !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') => errors.push((
                "slug".into(),
                vec!["Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens.".into()],
            )),
            Ok(s) if state.db.slug_taken(&s, existing).await? => {
                errors.push(("slug".into(), vec![SLUG_TAKEN.into()]))
            }
            Ok(s) => ch.slug = Some(s),
        },
    }
    if let Some(v) = body.get("name") {
        match validate::char_field(v, true, 64) {
            Err(m) => errors.push(("name".into(), m)),
            Ok(s) => ch.name = Some(s),
        }
    }
    if let Some(v) = body.get("description") {
        match validate::char_field(v, true, usize::MAX) {
            Err(m) => errors.push(("description".into(), m)),
            Ok(s) => ch.description = Some(s),
        }
    }
    if let Some(v) = body.get("contact") {
        // Form bodies carry the contact as JSON text.
        let parsed = match v {
            Value::String(s) => serde_json::from_str::<Value>(s)
                .map_err(|_| "Value must be valid JSON.".to_string()),
            other => Ok(other.clone()),
        };
        match parsed {
            Err(m) => errors.push(("contact".into(), vec![m])),
            Ok(Value::Null) => {
                errors.push(("contact".into(), vec!["This field may not be null.".into()]))
            }
            // A JSON object (spec §11): clients read it as a dictionary.
            Ok(contact @ Value::Object(_)) => ch.contact = Some(contact.to_string()),
            Ok(other) => errors.push((
                "contact".into(),
                vec![format!(
                    "Expected a dictionary of items but got type \"{}\".",
                    python_type_name(&other)
                )],
            )),
        }
    }
    if errors.is_empty() {
        Ok(ch)
    } else {
        Err(DomainError::Invalid(errors))
    }
}

async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    orgs::ensure_can_create(&state.db, &req).await?;
    let body = body.parse_object().await?;
    let fields = parse_body(&state, &body, None).await?;
    let org = orgs::create(&state.db, &req, &fields).await?;
    Ok(views::respond(StatusCode::CREATED, &parts, |o| {
        views::organization(&org, o)
    }))
}

async fn update(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let org = orgs::find(&state.db, &req, OrgId(id.0)).await?;
    orgs::ensure_can_update(&req, &org)?;
    let body = body.parse_object().await?;
    let fields = parse_body(&state, &body, Some(org.id)).await?;
    let org = orgs::update(&state.db, &req, &org, &fields).await?;
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::organization(&org, o)
    }))
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
) -> ApiResult<Response> {
    let org = orgs::find(&state.db, &req, OrgId(id.0)).await?;
    orgs::delete(&state.db, &req, &org).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
