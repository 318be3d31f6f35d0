//! `/api/organizations` (spec §11): a plain array list, create, retrieve, update, delete.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{Map, Value};

use super::extract::RawBody;
use super::{links, views};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::filters;
use crate::permissions::Requester;
use crate::state::{AppState, SharedState};
use crate::store::{OrgChanges, OrgRecord, OrgWriteError};
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
    let orgs = visible_orgs(&state, &req, search.as_deref()).await?;
    let origin = links::origin(&parts);
    let body: Vec<_> = orgs
        .iter()
        .map(|o| views::organization(o, &origin))
        .collect();
    Ok(cvat_json(StatusCode::OK, &body))
}

/// The organizations the requester may see (admins: all), newest first, with `search` applied
/// (the console's organization list uses it too).
pub async fn visible_orgs(
    state: &AppState,
    req: &Requester,
    search: Option<&str>,
) -> ApiResult<Vec<OrgRecord>> {
    let visible_to = (!req.is_admin()).then_some(req.id());
    let search = filters::parse_search(search).map_err(|e| ApiError::List(vec![e.0]))?;
    Ok(state.db.list_orgs(visible_to, &search).await?)
}

/// The organization of `/api/organizations/{id}` if the requester may see it (404 otherwise).
async fn load(state: &SharedState, req: &Requester, parts: &Parts) -> ApiResult<OrgRecord> {
    let id: i64 = super::path_tail(parts)
        .parse()
        .map_err(|_| ApiError::not_found())?;
    let org = state.db.org(id).await?.ok_or_else(ApiError::not_found)?;
    if !req.is_admin() && !state.db.org_visible_to(id, req.id()).await? {
        return Err(ApiError::not_found());
    }
    Ok(org)
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let org = load(&state, &req, &parts).await?;
    Ok(cvat_json(
        StatusCode::OK,
        &views::organization(&org, &links::origin(&parts)),
    ))
}

/// `OrganizationWriteSerializer`: slug (≤16, slug characters, unique), name (≤64),
/// description, contact (a JSON object).
async fn validate_body(
    state: &SharedState,
    body: &Map<String, Value>,
    existing: Option<i64>,
) -> ApiResult<OrgChanges> {
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
                errors.push(("slug".into(), vec!["organization with this slug already exists.".into()]))
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
                    json_type_name(&other)
                )],
            )),
        }
    }
    if errors.is_empty() {
        Ok(ch)
    } else {
        Err(ApiError::Fields(errors))
    }
}

fn write_error(e: OrgWriteError) -> ApiError {
    match e {
        OrgWriteError::SlugTaken => {
            ApiError::field("slug", "organization with this slug already exists.")
        }
        OrgWriteError::AlreadyMember => ApiError::List(vec![
            "The user is a member of the organization already.".into(),
        ]),
        OrgWriteError::Gone => ApiError::not_found(),
        OrgWriteError::Db(e) => e.into(),
    }
}

async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    if !req.can_create_org(state.db.count_owned_orgs(req.id()).await?) {
        return Err(ApiError::forbidden());
    }
    let body = body.parse_object().await?;
    let changes = validate_body(&state, &body, None).await?;
    let id = state
        .db
        .create_org(req.id(), &changes)
        .await
        .map_err(write_error)?;
    let org = state.db.org(id).await?.ok_or_else(ApiError::not_found)?;
    tracing::info!(org_id = id, by = req.id(), "organization created");
    Ok(cvat_json(
        StatusCode::CREATED,
        &views::organization(&org, &links::origin(&parts)),
    ))
}

async fn update(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let org = load(&state, &req, &parts).await?;
    let owner = org.owner.as_ref().map(|o| o.id);
    if !req.can_update_org(org.id, owner) {
        return Err(ApiError::forbidden());
    }
    let body = body.parse_object().await?;
    let changes = validate_body(&state, &body, Some(org.id)).await?;
    state
        .db
        .update_org(org.id, &changes)
        .await
        .map_err(write_error)?;
    let org = state
        .db
        .org(org.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(cvat_json(
        StatusCode::OK,
        &views::organization(&org, &links::origin(&parts)),
    ))
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let org = load(&state, &req, &parts).await?;
    if !req.can_delete_org(org.owner.as_ref().map(|o| o.id)) {
        return Err(ApiError::forbidden());
    }
    state.db.delete_org(org.id).await?;
    tracing::info!(org_id = org.id, by = req.id(), "organization deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Python's name for the type of a JSON value, as DRF's messages show it.
fn json_type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "NoneType",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "int",
        Value::String(_) => "str",
        Value::Array(_) => "list",
        Value::Object(_) => "dict",
    }
}
