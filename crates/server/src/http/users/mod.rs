//! `/api/users`: list, retrieve, self, partial update, delete (spec §6–§8), and for
//! administrators create and set a password (issue 8).
//!
//! Handlers parse CVAT's bodies into commands (`parse`, which the console at `/admin/` uses
//! too) and call `crate::service::users`, so both paths share every rule.

mod access;
pub mod parse;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cvat_proto::MetaUser;
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use super::extract::{PathId, RawBody};
use super::pagination::{stream_all, PageRequest, STREAM_BATCH};
use super::{links, views};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::filters;
use crate::service::{users, Requester, UserAccess, UserId};
use crate::state::SharedState;
use crate::store::{UserQuery, UserRecord};

pub fn router() -> Router<SharedState> {
    let allow = |v: &'static str| {
        SetResponseHeaderLayer::overriding(header::ALLOW, HeaderValue::from_static(v))
    };
    Router::new()
        .route(
            "/api/users",
            get(list)
                .post(create)
                .fallback(collection_other)
                .layer(allow("GET, POST, HEAD, OPTIONS")),
        )
        .route(
            "/api/users/self",
            get(retrieve_self)
                .fallback(collection_other)
                .layer(allow("GET, HEAD, OPTIONS")),
        )
        .route(
            "/api/users/{id}",
            get(retrieve)
                .patch(update)
                .delete(destroy)
                .fallback(detail_other)
                .layer(allow("GET, PATCH, DELETE, HEAD, OPTIONS")),
        )
        .route(
            "/api/users/{id}/password",
            post(password)
                .fallback(super::method_not_allowed)
                .layer(allow("POST")),
        )
        .merge(access::router())
}

/// `search`, `filter` and the simple filters of a request (they apply to detail routes too).
fn apply_query_filters(parts: &Parts, q: &mut UserQuery) -> ApiResult<()> {
    parse::apply_query_pairs(&links::query_pairs(parts), q)
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let mut q = req.list_scope();
    apply_query_filters(&parts, &mut q)?;
    let sort = filters::parse_sort(links::query_value(&parts, "sort").as_deref());

    let count = state.db.count_users(&q).await?;
    let page = PageRequest::resolve(&parts, count)?;
    let origin = links::origin(&parts);
    let full = req.is_staff();
    if page.size == i64::MAX {
        // The whole list: streamed in keyset batches instead of built in memory.
        let db = state.db.clone();
        let batches = futures_util::stream::try_unfold(Some(None), move |cursor| {
            let (db, q, sort, origin) = (db.clone(), q.clone(), sort.clone(), origin.clone());
            async move {
                let Some(after) = cursor else {
                    return Ok(None);
                };
                let batch = db
                    .list_users_after(&q, &sort, Option::as_ref(&after), STREAM_BATCH)
                    .await?;
                let next = (batch.len() as i64 == STREAM_BATCH).then(|| batch.last().cloned());
                let items: Vec<MetaUser> = batch
                    .iter()
                    .map(|u| views::meta_user(u, &origin, full))
                    .collect();
                Ok::<_, sqlx::Error>(Some((items, next)))
            }
        });
        return Ok(stream_all(count, batches));
    }
    page.respond(
        &parts,
        count,
        async |offset, limit| state.db.list_users(&q, &sort, offset, limit).await,
        |u, origin| views::meta_user(u, origin, full),
    )
    .await
}

async fn retrieve_self(req: Requester, parts: Parts) -> Response {
    views::respond(StatusCode::OK, &parts, |o| views::full_user(&req.user, o))
}

/// A user an administrator manages (access, sessions): 403 for others before the lookup (as
/// for `POST /api/users/{id}/password`), then 404.
pub(crate) async fn administered_user(
    state: &SharedState,
    req: &Requester,
    id: Result<PathId, ApiError>,
    parts: &Parts,
) -> ApiResult<UserRecord> {
    users::ensure_admin(req)?;
    load_target(state, req, parts, id?, UserAccess::Administer).await
}

/// Lookup through the request's filters (404), then the object permission (403).
async fn load_target(
    state: &SharedState,
    req: &Requester,
    parts: &Parts,
    id: PathId,
    access: UserAccess,
) -> ApiResult<UserRecord> {
    let mut q = req.detail_scope();
    apply_query_filters(parts, &mut q)?;
    Ok(users::find(&state.db, req, &q, UserId(id.0), access).await?)
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, id, UserAccess::View).await?;
    let full = req.is_staff() || target.id == req.id();
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::meta_user(&target, o, full)
    }))
}

/// PATCH semantics (spec §7, decision 5): validated with the serializer the requester gets,
/// applied in one transaction (409 for the last admin).
async fn update(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, id, UserAccess::Modify).await?;
    let body = body.parse_object().await?;
    let patch = parse::user_patch(&state, req.is_staff(), &target, &body).await?;
    let origin = links::origin(&parts);
    let base = state.mailer.link_base(&origin);
    let updated = users::update(&state, &req, &target, &patch, base).await?;
    Ok(views::respond(StatusCode::OK, &parts, |o| {
        views::meta_user(&updated, o, req.is_staff())
    }))
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    parts: Parts,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, id, UserAccess::Modify).await?;
    users::delete(&state, &req, &target).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /api/users`: admins only; others keep CVAT's 403 (spec §4.6).
async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    users::ensure_admin(&req)?;
    let body = body.parse_object().await?;
    let cmd = parse::create_user(&state, &body).await?;
    let user = users::create(&state, &req, cmd).await?;
    Ok(views::respond(StatusCode::CREATED, &parts, |o| {
        views::full_user(&user, o)
    }))
}

/// `POST /api/users/{id}/password`: admins only (403 before the lookup, as for `POST
/// /api/users`), then the lookup through the request's filters (404), then the body (400).
async fn password(
    State(state): State<SharedState>,
    req: Requester,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    users::ensure_admin(&req)?;
    let target = load_target(&state, &req, &parts, id?, UserAccess::SetPassword).await?;
    let body = body.parse_object().await?;
    let cmd = parse::set_password(&target, &body)?;
    users::set_password(&state, &req, &target, cmd).await?;
    Ok(views::detail_ok(users::PASSWORD_SET))
}

fn options_body(name: &str) -> Response {
    cvat_json(
        StatusCode::OK,
        &json!({
            "name": name,
            "description": "",
            "renders": ["application/vnd.cvat+json", "text/html"],
            "parses": ["application/json", "application/x-www-form-urlencoded", "multipart/form-data", "application/offset+octet-stream"],
        }),
    )
}

/// Unmapped methods on `/api/users` and `/api/users/self`: the policy check runs before method
/// dispatch there, so non-admins get 403 and admins 405 (spec §4.6).
async fn collection_other(req: Requester, method: Method, parts: Parts) -> Response {
    let name = if parts.uri.path().ends_with("/self") {
        "User Self"
    } else {
        "User List"
    };
    if method == Method::OPTIONS {
        return options_body(name);
    }
    if !req.is_admin() {
        return ApiError::forbidden().into_response();
    }
    ApiError::method_not_allowed(method.as_str()).into_response()
}

/// Unmapped methods on `/api/users/{id}`: 405 for everyone (the policy check is deferred).
async fn detail_other(_req: Requester, method: Method) -> Response {
    if method == Method::OPTIONS {
        return options_body("User Instance");
    }
    ApiError::method_not_allowed(method.as_str()).into_response()
}
