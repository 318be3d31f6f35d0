//! `/api/users`: list, retrieve, self, partial update, delete (spec §6–§8), and for
//! administrators create and set a password (issue 8).
//!
//! The operations behind the handlers (`create_user`, `update_user`, `delete_user`,
//! `set_password`, `find_target`, `apply_query_pairs`) are public: the console at `/admin/`
//! calls the very same functions, so both paths share every permission and validation rule.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cvat_proto::{Detail, MetaUser, Paginated};
use serde_json::{json, Map, Value};
use tower_http::set_header::SetResponseHeaderLayer;

use super::extract::{py_int, RawBody};
use super::pagination::{stream_all, STREAM_BATCH};
use super::{links, views};
use crate::auth::{self, password_rules};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::filters::{self, Bind, Field};
use crate::permissions::{Requester, ADMIN_ONLY_FIELDS};
use crate::state::{AppState, SharedState};
use crate::store::{NewUser, UserQuery, UserRecord, WriteError};
use crate::validate::{self, py_set_repr, FieldErrors};

const DEFAULT_PAGE_SIZE: i64 = 10;

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
}

/// The id of `/api/users/{id}` (and `/api/users/{id}/password`); a non-integer id is a 404
/// after authentication, as in CVAT.
fn path_id(parts: &Parts) -> ApiResult<i64> {
    let path = parts.uri.path();
    let path = path.strip_suffix("/password").unwrap_or(path);
    let raw = path.rsplit('/').next().unwrap_or("");
    raw.parse::<i64>().map_err(|_| ApiError::not_found())
}

/// `search`, `filter` and the simple filters of a request (they apply to detail routes too).
fn apply_query_filters(parts: &Parts, q: &mut UserQuery) -> ApiResult<()> {
    apply_query_pairs(&links::query_pairs(parts), q)
}

/// `search`, `filter`, `username`, `first_name`, `last_name` and `is_active` from query pairs
/// (the last value of a repeated key wins, as in Django).
pub fn apply_query_pairs(pairs: &[(String, String)], q: &mut UserQuery) -> ApiResult<()> {
    let last = |key: &str| {
        pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    q.search = filters::parse_search(last("search")).map_err(|e| ApiError::List(vec![e.0]))?;
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
    let origin = links::origin(&parts);
    let full = req.is_staff();
    if page_size == i64::MAX {
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
    let users = if count == 0 {
        Vec::new()
    } else {
        state
            .db
            .list_users(&q, &sort, (page - 1) * page_size, page_size)
            .await?
    };
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
) -> ApiResult<UserRecord> {
    let id = path_id(parts)?;
    let mut q = req.detail_scope();
    apply_query_filters(parts, &mut q)?;
    find_target(state, req, &q, id, allowed).await
}

/// User `id` as seen through `q` (404 when it is not there), if `allowed` lets the requester
/// act on it (403 otherwise).
pub async fn find_target(
    state: &AppState,
    req: &Requester,
    q: &UserQuery,
    id: i64,
    allowed: impl Fn(&Requester, i64) -> bool,
) -> ApiResult<UserRecord> {
    let target = state
        .db
        .find_user(q, id)
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
    let updated = update_user(&state, &req, &target, &body).await?;
    Ok(cvat_json(
        StatusCode::OK,
        &views::meta_user(&updated, &links::origin(&parts), req.is_staff()),
    ))
}

/// PATCH semantics (spec §7, decision 5): validates `body` with the serializer the requester
/// gets, then applies it in one transaction (409 for the last admin).
pub async fn update_user(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    body: &Map<String, Value>,
) -> ApiResult<UserRecord> {
    if !req.can_modify(target.id) {
        return Err(ApiError::forbidden());
    }
    // Staff get the full serializer, everyone else the basic one (spec §5.3), input and output.
    let full = req.is_staff();
    let known_groups = if body.contains_key("groups") {
        state.db.group_names().await?
    } else {
        Vec::new()
    };
    let (changes, mut errors) = validate::user_patch(body, full, &known_groups);
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
    Ok(updated)
}

async fn destroy(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let target = load_target(&state, &req, &parts, Requester::can_modify).await?;
    delete_user(&state, &req, &target).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Deletes a user the requester may modify (409 for the last active admin).
pub async fn delete_user(state: &AppState, req: &Requester, target: &UserRecord) -> ApiResult<()> {
    if !req.can_modify(target.id) {
        return Err(ApiError::forbidden());
    }
    state.db.delete_user(target.id).await.map_err(write_error)?;
    tracing::info!(user_id = target.id, by = req.id(), "user deleted");
    Ok(())
}

/// `POST /api/users`: admins only; others keep CVAT's 403 (spec §4.6).
async fn create(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    if !req.can_create_user() {
        return Err(ApiError::forbidden());
    }
    let body = body.parse_object().await?;
    let user = create_user(&state, &req, &body).await?;
    Ok(cvat_json(
        StatusCode::CREATED,
        &views::full_user(&user, &links::origin(&parts)),
    ))
}

/// The password of a new account or a password reset: DRF's `CharField` (≤128), then Django's
/// validators, the similarity one against `attrs`. Messages under the `password` field.
fn checked_password(
    value: Option<&Value>,
    attrs: &password_rules::UserAttributes,
) -> Result<String, Vec<String>> {
    let Some(v) = value else {
        return Err(vec!["This field is required.".into()]);
    };
    // As registration and password change read it: DRF's `CharField`, which trims.
    let p = validate::char_field(v, false, 128)?;
    let problems = password_rules::validate_password(&p, Some(attrs));
    if problems.is_empty() {
        Ok(p)
    } else {
        Err(problems)
    }
}

/// Creates a user from a `POST /api/users` body: `username`, `email` (optional) and `password`
/// validated as registration validates them (5–150 characters, unique case-insensitively;
/// Django's password validators), optional `first_name`, `last_name`, `groups` (default
/// `["user"]`, `["admin"]` for a staff superuser), `is_staff`, `is_superuser`, `is_active`
/// (default true). A superuser who is staff always gets the `admin` group, as on every save
/// (spec §7.4). Unknown keys are ignored, as the full serializer ignores them.
pub async fn create_user(
    state: &AppState,
    req: &Requester,
    body: &Map<String, Value>,
) -> ApiResult<UserRecord> {
    if !req.can_create_user() {
        return Err(ApiError::forbidden());
    }
    let mut errors: FieldErrors = Vec::new();
    let mut note = |k: &str, r: Result<(), Vec<String>>| {
        if let Err(m) = r {
            errors.push((k.to_string(), m));
        }
    };
    let required = || vec!["This field is required.".to_string()];
    let mut username = String::new();
    match body.get("username") {
        None => note("username", Err(required())),
        Some(v) => note(
            "username",
            super::auth::new_username(state, v)
                .await?
                .map(|u| username = u),
        ),
    }
    let mut email = String::new();
    if let Some(v) = body.get("email") {
        note(
            "email",
            super::auth::new_email(state, v).await?.map(|e| email = e),
        );
    }
    let (mut first_name, mut last_name) = (String::new(), String::new());
    for (key, slot) in [
        ("first_name", &mut first_name),
        ("last_name", &mut last_name),
    ] {
        if let Some(v) = body.get(key) {
            note(
                key,
                validate::char_field(v, true, validate::NAME_MAX).map(|s| *slot = s),
            );
        }
    }
    let attrs = password_rules::UserAttributes {
        username: &username,
        first_name: &first_name,
        last_name: &last_name,
        email: &email,
    };
    let password = checked_password(body.get("password"), &attrs);
    let mut groups = None;
    if let Some(v) = body.get("groups") {
        let known = state.db.group_names().await?;
        note(
            "groups",
            validate::groups_field(v, &known).map(|g| groups = Some(g)),
        );
    }
    let mut flags = [false, false, true];
    for (i, key) in ["is_staff", "is_superuser", "is_active"].iter().enumerate() {
        if let Some(v) = body.get(*key) {
            note(key, validate::bool_field(v).map(|b| flags[i] = b));
        }
    }
    let [is_staff, is_superuser, is_active] = flags;
    // Serializer field order: the password comes right after the e-mail.
    let password = match password {
        Ok(p) => Some(p),
        Err(m) => {
            let at = errors
                .iter()
                .position(|(k, _)| !["username", "email"].contains(&k.as_str()))
                .unwrap_or(errors.len());
            errors.insert(at, ("password".into(), m));
            None
        }
    };
    let Some(password) = password.filter(|_| errors.is_empty()) else {
        return Err(ApiError::Fields(errors));
    };
    // CVAT's post-save signal on creation: `admin` for a staff superuser, else `user`; a
    // given list replaces that, but a staff superuser keeps `admin` (spec §7.4).
    let mut groups = groups.unwrap_or_else(|| {
        vec![if is_superuser && is_staff {
            "admin"
        } else {
            "user"
        }
        .into()]
    });
    if is_superuser && is_staff && !groups.iter().any(|g| g == "admin") {
        groups.insert(0, "admin".into());
    }
    let new = NewUser {
        username,
        password_hash: auth::hash_blocking(password).await?,
        email,
        first_name,
        last_name,
        is_staff,
        is_superuser,
        groups,
        logged_in: false,
        is_active,
    };
    let user = state.db.create_user(&new).await.map_err(write_error)?;
    tracing::info!(user_id = user.id, by = req.id(), "user created");
    Ok(user)
}

/// `POST /api/users/{id}/password`: admins only (403 before the lookup, as for `POST
/// /api/users`), then the lookup through the request's filters (404), then the body (400).
async fn password(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    if !req.can_set_password() {
        return Err(ApiError::forbidden());
    }
    let target = load_target(&state, &req, &parts, |r, _| r.can_set_password()).await?;
    let body = body.parse_object().await?;
    set_password(&state, &req, &target, &body).await?;
    Ok(cvat_json(
        StatusCode::OK,
        &Detail {
            detail: PASSWORD_SET.into(),
        },
    ))
}

pub const PASSWORD_SET: &str =
    "The password has been set. The user's sessions and tokens have been revoked.";

/// Sets `target`'s password from `{"password": ...}` (Django's validators, similarity to the
/// target's own attributes) and revokes its sessions, API token and personal access tokens.
pub async fn set_password(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    body: &Map<String, Value>,
) -> ApiResult<()> {
    if !req.can_set_password() {
        return Err(ApiError::forbidden());
    }
    let attrs = password_rules::UserAttributes {
        username: &target.username,
        first_name: &target.first_name,
        last_name: &target.last_name,
        email: &target.email,
    };
    let password = checked_password(body.get("password"), &attrs)
        .map_err(|m| ApiError::Fields(vec![("password".into(), m)]))?;
    let hash = auth::hash_blocking(password).await?;
    if !state.db.set_password_revoking(target.id, &hash).await? {
        return Err(ApiError::not_found());
    }
    tracing::info!(
        user_id = target.id,
        by = req.id(),
        "password set by an administrator; credentials revoked"
    );
    Ok(())
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
