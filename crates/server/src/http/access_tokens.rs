//! `/api/auth/access_tokens`: personal access tokens for `Authorization: Bearer`.
//!
//! Only password credentials create tokens (a leaked token must not mint its successor), and a
//! signed URL, which hands out reads of resources, reads nothing here either.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{Map, Value};

use super::extract::RawBody;
use super::pagination::PageRequest;
use super::{links, views};
use crate::auth::AuthMethod;
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::permissions::Requester;
use crate::service::audit::{actions, AuditEvent};
use crate::state::SharedState;
use crate::store::{now_micros, AccessTokenRecord};
use crate::validate::{self, FieldErrors};

pub fn router() -> Router<SharedState> {
    Router::new()
        .route(
            "/api/auth/access_tokens",
            get(list).post(create).fallback(super::method_not_allowed),
        )
        .route(
            "/api/auth/access_tokens/self",
            get(retrieve_self).fallback(super::method_not_allowed),
        )
        .route(
            "/api/auth/access_tokens/{id}",
            get(retrieve)
                .patch(update)
                .delete(destroy)
                .fallback(super::method_not_allowed),
        )
}

fn view(
    t: &AccessTokenRecord,
    req: &Requester,
    origin: &str,
    value: Option<String>,
) -> cvat_proto::AccessToken {
    cvat_proto::AccessToken {
        id: t.id,
        name: t.name.clone(),
        created_date: views::datetime(t.created_date),
        updated_date: views::datetime(t.updated_date),
        expiry_date: t.expiry_date.map(views::datetime),
        last_used_date: t.last_used_date.map(views::datetime),
        read_only: t.read_only,
        owner: views::basic_user(&req.user, origin),
        scim: t.scim,
        value,
    }
}

/// Validated fields of a create or update; `expiry` is `Some(None)` to clear it.
struct TokenFields {
    name: Option<String>,
    read_only: Option<bool>,
    expiry: Option<Option<i64>>,
    /// A SCIM provisioning token (create only).
    scim: bool,
}

fn parse_fields(body: &Map<String, Value>, creating: bool) -> ApiResult<TokenFields> {
    let mut errors: FieldErrors = Vec::new();
    let mut fields = TokenFields {
        name: None,
        read_only: None,
        expiry: None,
        scim: false,
    };
    match body.get("name") {
        None if creating => errors.push(("name".into(), vec!["This field is required.".into()])),
        None => {}
        Some(v) => match validate::char_field(v, false, 50) {
            Ok(n) => fields.name = Some(n),
            Err(m) => errors.push(("name".into(), m)),
        },
    }
    if let Some(v) = body.get("read_only") {
        match validate::parse_bool(v) {
            Some(b) => fields.read_only = Some(b),
            None => errors.push(("read_only".into(), vec!["Must be a valid boolean.".into()])),
        }
    }
    match body.get("scim").map(validate::parse_bool) {
        None => {}
        Some(Some(b)) if creating => fields.scim = b,
        Some(Some(_)) => errors.push((
            "scim".into(),
            vec!["A token is made for SCIM on creation and stays so.".into()],
        )),
        Some(None) => errors.push(("scim".into(), vec!["Must be a valid boolean.".into()])),
    }
    match body.get("expiry_date") {
        None => {}
        Some(Value::Null) => fields.expiry = Some(None),
        Some(Value::String(s)) => match chrono::DateTime::parse_from_rfc3339(s.trim()) {
            Ok(t) if t.timestamp_micros() > now_micros() => fields.expiry = Some(Some(t.timestamp_micros())),
            Ok(_) => errors.push(("expiry_date".into(), vec!["The expiry date must be in the future.".into()])),
            Err(_) => errors.push((
                "expiry_date".into(),
                vec!["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].".into()],
            )),
        },
        Some(_) => errors.push(("expiry_date".into(), vec!["Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z].".into()])),
    }
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(ApiError::Fields(errors))
    }
}

/// The requester of an access-token endpoint: any credentials but a signed URL.
fn not_signed(req: &Requester) -> ApiResult<()> {
    if req.method == AuthMethod::Signature {
        return Err(ApiError::detail(
            StatusCode::FORBIDDEN,
            "Signed URLs cannot be used to manage access tokens.",
        ));
    }
    Ok(())
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    not_signed(&req)?;
    let count = state.db.count_access_tokens(req.id()).await?;
    let page = PageRequest::resolve(&parts, count)?;
    let rows = state
        .db
        .list_access_tokens(req.id(), page.offset(), page.size)
        .await?;
    let origin = links::origin(&parts);
    let results = rows.iter().map(|t| view(t, &req, &origin, None)).collect();
    Ok(cvat_json(
        StatusCode::OK,
        &page.wrap(&parts, count, results),
    ))
}

async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    crate::auth::require_password_credentials(&req.method, "Access tokens")?;
    let body = body.parse_object().await?;
    let fields = parse_fields(&body, true)?;
    if fields.scim {
        // Provisioning creates, changes and removes accounts: an administrator's power.
        crate::service::users::ensure_admin(&req)?;
    }
    let value = Alphanumeric.sample_string(&mut rand::thread_rng(), 48);
    let name = fields.name.unwrap_or_default();
    let id = state
        .db
        .create_access_token(
            req.id(),
            &name,
            &value,
            crate::store::TokenFlags {
                read_only: fields.read_only.unwrap_or(false),
                scim: fields.scim,
            },
            fields.expiry.flatten(),
            &AuditEvent::by(&req, actions::CREATE_ACCESS_TOKEN),
        )
        .await?;
    let token = state
        .db
        .access_token(req.id(), id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    tracing::info!(
        user_id = req.id(),
        token_id = id,
        scim = fields.scim,
        "access token created"
    );
    Ok(cvat_json(
        StatusCode::CREATED,
        &view(&token, &req, &links::origin(&parts), Some(value)),
    ))
}

async fn load(state: &SharedState, req: &Requester, parts: &Parts) -> ApiResult<AccessTokenRecord> {
    not_signed(req)?;
    let id: i64 = super::path_tail(parts)
        .parse()
        .map_err(|_| ApiError::not_found())?;
    state
        .db
        .access_token(req.id(), id)
        .await?
        .ok_or_else(ApiError::not_found)
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let token = load(&state, &req, &parts).await?;
    Ok(cvat_json(
        StatusCode::OK,
        &view(&token, &req, &links::origin(&parts), None),
    ))
}

/// The token this request authenticated with (404 for other kinds of credentials).
async fn retrieve_self(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    not_signed(&req)?;
    let AuthMethod::Bearer { token_id, .. } = req.method else {
        return Err(ApiError::not_found());
    };
    let token = state
        .db
        .access_token(req.id(), token_id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(cvat_json(
        StatusCode::OK,
        &view(&token, &req, &links::origin(&parts), None),
    ))
}

async fn update(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let token = load(&state, &req, &parts).await?;
    let body = body.parse_object().await?;
    let f = parse_fields(&body, false)?;
    state
        .db
        .update_access_token(
            token.id,
            f.name.as_deref(),
            f.read_only,
            f.expiry,
            &token_event(&req, actions::UPDATE_ACCESS_TOKEN, &token)
                .detail("name", f.name.clone())
                .detail("read_only", f.read_only)
                .detail("expiry_date", f.expiry.flatten()),
        )
        .await?;
    let token = state
        .db
        .access_token(req.id(), token.id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(cvat_json(
        StatusCode::OK,
        &view(&token, &req, &links::origin(&parts), None),
    ))
}

/// `action` on the requester's access token `token` (its name, never its value).
fn token_event(req: &Requester, action: &str, token: &AccessTokenRecord) -> AuditEvent {
    AuditEvent::by(req, action).target("access_token", Some(token.id), &token.name)
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let token = load(&state, &req, &parts).await?;
    let ev = token_event(&req, actions::DELETE_ACCESS_TOKEN, &token);
    state.db.delete_access_token(token.id, &ev).await?;
    tracing::info!(
        user_id = req.id(),
        token_id = token.id,
        "access token revoked"
    );
    Ok(StatusCode::NO_CONTENT.into_response())
}
