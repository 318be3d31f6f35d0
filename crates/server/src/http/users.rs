//! `/api/users`: list, retrieve, self, partial update, delete (spec §6–§8).

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use cvat_proto::{MetaUser, Paginated};
use serde_json::json;
use tower_http::set_header::SetResponseHeaderLayer;

use super::extract::{py_int, RawBody};
use super::{links, views};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::filters::{self, Bind, Field};
use crate::permissions::{Requester, ADMIN_ONLY_FIELDS};
use crate::state::SharedState;
use crate::store::{UserQuery, WriteError};
use crate::validate::{self, py_set_repr};

const DEFAULT_PAGE_SIZE: i64 = 10;

pub fn router() -> Router<SharedState> {
    let allow = |v: &'static str| {
        SetResponseHeaderLayer::overriding(header::ALLOW, HeaderValue::from_static(v))
    };
    Router::new()
        .route(
            "/api/users",
            get(list)
                .fallback(collection_other)
                .layer(allow("GET, HEAD, OPTIONS")),
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
}

/// The id of `/api/users/{id}`; a non-integer id is a 404 after authentication, as in CVAT.
fn path_id(parts: &Parts) -> ApiResult<i64> {
    let raw = parts.uri.path().rsplit('/').next().unwrap_or("");
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// `search`, `filter` and the simple filters of a request (they apply to detail routes too).
fn apply_query_filters(parts: &Parts, q: &mut UserQuery) -> ApiResult<()> {
    let pairs = links::query_pairs(parts);
    let last = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    q.search = filters::parse_search(last("search"));
    q.rule = filters::parse_filter(last("filter").unwrap_or(""))
        .map_err(|e| ApiError::List(vec![e.0]))?;
    for (name, field) in [
        ("username", Field::Username),
        ("first_name", Field::FirstName),
        ("last_name", Field::LastName),
    ] {
        // An empty value means "no filter", as django-filter has it.
        if let Some(v) = last(name).filter(|v| !v.is_empty()) {
            q.exact.push((field, Bind::Text(v.to_string())));
        }
    }
    if let Some(v) = last("is_active").filter(|v| !v.is_empty()) {
        let b = validate::parse_bool(&json!(v))
            .ok_or_else(|| ApiError::field("is_active", "Must be a valid boolean."))?;
        q.exact.push((Field::IsActive, Bind::Bool(b)));
    }
    Ok(())
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let mut q = req.list_scope();
    apply_query_filters(&parts, &mut q)?;
    let sort = filters::parse_sort(links::query_value(&parts, "sort").as_deref());

    let page_size = match links::query_value(&parts, "page_size").as_deref() {
        Some("all") => i64::MAX,
        Some(v) => py_int(v).filter(|n| *n > 0).unwrap_or(DEFAULT_PAGE_SIZE),
        None => DEFAULT_PAGE_SIZE,
    };
    let count = state.db.count_users(&q).await?;
    let pages = if count == 0 {
        1
    } else {
        (count - 1) / page_size + 1
    };
    let invalid = || ApiError::detail(StatusCode::NOT_FOUND, "Invalid page.");
    let page = match links::query_value(&parts, "page").as_deref() {
        None => 1,
        Some("last") => pages,
        Some(v) => py_int(v).ok_or_else(invalid)?,
    };
    if page < 1 || page > pages {
        return Err(invalid());
    }
    let users = if count == 0 {
        Vec::new()
    } else {
        state
            .db
            .list_users(&q, &sort, (page - 1) * page_size, page_size)
            .await?
    };
    let origin = links::origin(&parts);
    let full = req.is_staff();
    let body = Paginated {
        count,
        next: (page < pages).then(|| links::page_link(&parts, page + 1)),
        previous: (page > 1).then(|| links::page_link(&parts, page - 1)),
        results: users
            .iter()
            .map(|u| views::meta_user(u, &origin, full))
            .collect::<Vec<MetaUser>>(),
    };
    Ok(cvat_json(StatusCode::OK, &body))
}

async fn retrieve_self(req: Requester, parts: Parts) -> Response {
    cvat_json(
        StatusCode::OK,
        &views::full_user(&req.user, &links::origin(&parts)),
    )
}

/// Lookup through the request's filters (404), then the object permission (403).
async fn load_target(
    state: &SharedState,
    req: &Requester,
    parts: &Parts,
    allowed: impl Fn(&Requester, i64) -> bool,
) -> ApiResult<crate::store::UserRecord> {
    let id = path_id(parts)?;
    let mut q = req.detail_scope();
    apply_query_filters(parts, &mut q)?;
    let target = state
        .db
        .find_user(&q, id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    if !allowed(req, target.id) {
        return Err(ApiError::forbidden());
    }
    Ok(target)
}

async fn retrieve(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, Requester::can_view).await?;
    let full = req.is_staff() || target.id == req.id();
    Ok(cvat_json(
        StatusCode::OK,
        &views::meta_user(&target, &links::origin(&parts), full),
    ))
}

async fn update(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, Requester::can_modify).await?;
    let body = body.parse_object().await?;
    // Staff get the full serializer, everyone else the basic one (spec §5.3), input and output.
    let full = req.is_staff();
    let known_groups = if body.contains_key("groups") {
        state.db.group_names().await?
    } else {
        Vec::new()
    };
    let (changes, mut errors) = validate::user_patch(&body, full, &known_groups);
    if let Some(name) = &changes.username {
        if *name != target.username && state.db.username_taken_exact(name, target.id).await? {
            errors.insert(
                0,
                (
                    "username".into(),
                    vec!["A user with that username already exists.".into()],
                ),
            );
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::Fields(errors));
    }
    if !full {
        let unknown: Vec<String> = body
            .keys()
            .filter(|k| !["url", "id", "username", "first_name", "last_name"].contains(&k.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            let privileged = unknown
                .iter()
                .any(|k| ["is_staff", "is_superuser", "groups"].contains(&k.as_str()));
            return Err(ApiError::non_field(if privileged {
                format!(
                    "You do not have permissions to access some of these fields: {}",
                    py_set_repr(&unknown)
                )
            } else {
                format!("Got unknown fields: {}", py_set_repr(&unknown))
            }));
        }
    } else if !req.is_admin() {
        // Decision 5: the staff flag alone does not let anyone change privileges or e-mail.
        let restricted: Vec<String> = ADMIN_ONLY_FIELDS
            .iter()
            .filter(|f| body.contains_key(**f))
            .map(|f| f.to_string())
            .collect();
        if !restricted.is_empty() {
            return Err(ApiError::non_field(format!(
                "You do not have permissions to access some of these fields: {}",
                py_set_repr(&restricted)
            )));
        }
    }
    let updated = state
        .db
        .update_user(target.id, &changes)
        .await
        .map_err(write_error)?;
    Ok(cvat_json(
        StatusCode::OK,
        &views::meta_user(&updated, &links::origin(&parts), full),
    ))
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, Requester::can_modify).await?;
    state.db.delete_user(target.id).await.map_err(write_error)?;
    tracing::info!(user_id = target.id, by = req.id(), "user deleted");
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn write_error(e: WriteError) -> ApiError {
    match e {
        WriteError::NotFound => ApiError::not_found(),
        WriteError::UsernameTaken => {
            ApiError::field("username", "A user with that username already exists.")
        }
        WriteError::LastAdmin(msg) => ApiError::conflict(msg),
        WriteError::Db(e) => e.into(),
    }
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
