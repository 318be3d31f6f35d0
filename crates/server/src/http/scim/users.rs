//! `/scim/v2/Users` and `/scim/v2/Users/{id}`: thin handlers. A SCIM body is read into
//! `UserInput` (`user_json`), turned into the body CVAT's own `POST`/`PATCH /api/users` take,
//! and validated by the very same parsers (`http::users::parse`), so a username, an address,
//! a password or a group is accepted here exactly when the REST API accepts it; the writes are
//! `service::scim`'s (that is, `service::users`').

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use rand::distributions::{Alphanumeric, DistString};
use serde_json::{json, Map, Value};

use super::user_json::{self, UserInput};
use super::{
    base_url, patch, scim_json, ScimBody, ScimError, ScimRequester, ScimResult, CVAT_USER_SCHEMA,
    LIST_SCHEMA, MAX_RESULTS,
};
use crate::filters::SqlBuf;
use crate::http::users::parse;
use crate::scim::filter::{self, parse_filter};
use crate::scim::users_sql::{self, UserAttr};
use crate::service::{scim, Requester, UserId};
use crate::state::SharedState;
use crate::store::{UserQuery, UserRecord};

/// Pages hold this many users unless `count` says otherwise.
const DEFAULT_COUNT: i64 = 100;

fn query(parts: &Parts) -> Vec<(String, String)> {
    crate::request::parse_query(parts.uri.query().unwrap_or(""))
}

fn param<'a>(q: &'a [(String, String)], name: &str) -> Option<&'a str> {
    q.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn list_param(q: &[(String, String)], name: &str) -> Vec<String> {
    param(q, name)
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn integer(q: &[(String, String)], name: &str) -> ScimResult<Option<i64>> {
    param(q, name)
        .map(|v| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::bad("invalidValue", format!("{name} must be an integer.")))
        })
        .transpose()
}

/// The SCIM resources of `users`, in their order.
async fn resources(
    state: &SharedState,
    users: &[UserRecord],
    base: &str,
) -> ScimResult<Vec<Value>> {
    let ids: Vec<i64> = users.iter().map(|u| u.id).collect();
    let meta = state.db.scim_user_meta(&ids).await?;
    let orgs = state.db.scim_user_orgs(&ids).await?;
    Ok(users
        .iter()
        .map(|u| {
            let mine: Vec<(i64, String)> = orgs
                .iter()
                .filter(|(user, _, _)| *user == u.id)
                .map(|(_, id, slug)| (*id, slug.clone()))
                .collect();
            user_json::user_json(
                u,
                &meta.get(&u.id).cloned().unwrap_or_default(),
                &mine,
                base,
            )
        })
        .collect())
}

async fn resource(state: &SharedState, user: &UserRecord, base: &str) -> ScimResult<Value> {
    let mut list = resources(state, std::slice::from_ref(user), base).await?;
    list.pop()
        .ok_or_else(|| ScimError::not_found("Resource not found."))
}

/// A resource with its `ETag` (and `Location` on creation).
fn answer(status: StatusCode, resource: &Value, projected: Value) -> Response {
    let mut response = scim_json(status, &projected);
    let headers = response.headers_mut();
    if let Some(v) = resource["meta"]["version"]
        .as_str()
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        headers.insert(header::ETAG, v);
    }
    if status == StatusCode::CREATED {
        if let Some(l) = resource["meta"]["location"]
            .as_str()
            .and_then(|v| HeaderValue::from_str(v).ok())
        {
            headers.insert(header::LOCATION, l);
        }
    }
    response
}

fn projection(parts: &Parts, resource: Value) -> Value {
    project_with(&query(parts), resource)
}

fn project_with(q: &[(String, String)], resource: Value) -> Value {
    user_json::project(
        resource,
        &list_param(q, "attributes"),
        &list_param(q, "excludedAttributes"),
    )
}

pub async fn list(
    State(state): State<SharedState>,
    ScimRequester(_req): ScimRequester,
    parts: Parts,
) -> ScimResult<Response> {
    list_with(&state, &parts, &query(&parts)).await
}

/// `POST /Users/.search` (RFC 7644 §3.4.3): the list's parameters in a `SearchRequest` body.
pub async fn search(
    State(state): State<SharedState>,
    ScimRequester(_req): ScimRequester,
    parts: Parts,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let mut q = Vec::new();
    for (key, value) in body.as_object().into_iter().flatten() {
        if key.eq_ignore_ascii_case("schemas") {
            continue;
        }
        let text = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items
                .iter()
                .map(|i| i.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| ScimError::bad("invalidValue", format!("{key} must list strings.")))?
                .join(","),
            _ => {
                return Err(ScimError::bad(
                    "invalidValue",
                    format!("{key} has a wrong type."),
                ))
            }
        };
        q.push((key.clone(), text));
    }
    list_with(&state, &parts, &q).await
}

async fn list_with(
    state: &SharedState,
    parts: &Parts,
    q: &[(String, String)],
) -> ScimResult<Response> {
    let q = q.to_vec();
    let dialect = state.db.dialect();
    let mut filter_sql = SqlBuf::default();
    let filtered = match param(&q, "filter").filter(|f| !f.trim().is_empty()) {
        Some(text) => {
            let f = parse_filter(text).map_err(|e| ScimError::bad("invalidFilter", e.0))?;
            users_sql::compile(&f, dialect, &mut filter_sql)
                .map_err(|e| ScimError::bad("invalidFilter", e))?;
            true
        }
        None => {
            filter_sql.push("1=1");
            false
        }
    };
    let sort = match param(&q, "sortBy") {
        Some(s) => {
            let path =
                filter::attr_path(s.trim()).map_err(|e| ScimError::bad("invalidValue", e.0))?;
            Some(UserAttr::resolve(&path, None).map_err(|e| ScimError::bad("invalidValue", e))?)
        }
        None => None,
    };
    let descending = match param(&q, "sortOrder")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("ascending") => false,
        Some("descending") => true,
        Some(_) => {
            return Err(ScimError::bad(
                "invalidValue",
                "sortOrder is ascending or descending.",
            ))
        }
    };
    let start = integer(&q, "startIndex")?.unwrap_or(1).max(1);
    let count = integer(&q, "count")?
        .unwrap_or(DEFAULT_COUNT)
        .clamp(0, MAX_RESULTS);
    let total = match filtered {
        true => state.db.scim_count_users(&filter_sql).await?,
        // Counting every user is a read of a maintained count.
        false => state.db.count_users(&UserQuery::default()).await?,
    };
    let users = match count {
        0 => Vec::new(),
        _ => {
            let order = users_sql::order_by(sort, descending, dialect);
            state
                .db
                .scim_list_users(&filter_sql, &order, start - 1, count)
                .await?
        }
    };
    let base = base_url(parts);
    let items: Vec<Value> = resources(state, &users, &base)
        .await?
        .into_iter()
        .map(|r| project_with(&q, r))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": items.len(),
            "Resources": items,
        }),
    ))
}

/// The user of the path's `{id}` (404 for anything else).
async fn target(state: &SharedState, parts: &Parts) -> ScimResult<UserRecord> {
    let id: i64 = crate::http::path_tail(parts)
        .parse()
        .map_err(|_| ScimError::not_found("Resource not found."))?;
    Ok(scim::find(state, UserId(id)).await?)
}

pub async fn retrieve(
    State(state): State<SharedState>,
    ScimRequester(_req): ScimRequester,
    parts: Parts,
) -> ScimResult<Response> {
    let user = target(&state, &parts).await?;
    let r = resource(&state, &user, &base_url(&parts)).await?;
    Ok(answer(StatusCode::OK, &r, projection(&parts, r.clone())))
}

/// `If-Match` (RFC 7644 §3.14): 412 unless it names the current version (or is `*`).
fn check_if_match(parts: &Parts, current: &Value) -> ScimResult<()> {
    let Some(wanted) = parts.headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let wanted = wanted.to_str().unwrap_or_default();
    let strip = |v: &str| {
        v.trim()
            .trim_start_matches("W/")
            .trim_matches('"')
            .to_string()
    };
    let version = strip(current["meta"]["version"].as_str().unwrap_or_default());
    if wanted
        .split(',')
        .any(|v| v.trim() == "*" || strip(v) == version)
    {
        return Ok(());
    }
    Err(ScimError::new(
        StatusCode::PRECONDITION_FAILED,
        None,
        "The resource changed since that version (If-Match).",
    ))
}

/// The CVAT body `POST /api/users` takes for `input`.
fn create_body(input: &UserInput) -> Map<String, Value> {
    let mut body = Map::new();
    body.insert("username".into(), input.user_name.clone().into());
    body.insert("email".into(), input.email.clone().into());
    body.insert("first_name".into(), input.given_name.clone().into());
    body.insert("last_name".into(), input.family_name.clone().into());
    // Without a password the account has one nobody knows (sign-in through single sign-on,
    // or an administrator's reset).
    let password = input
        .password
        .clone()
        .unwrap_or_else(|| Alphanumeric.sample_string(&mut rand::thread_rng(), 40));
    body.insert("password".into(), password.into());
    body.insert("is_active".into(), input.active.unwrap_or(true).into());
    if let Some(privilege) = &input.privilege {
        body.insert(
            "groups".into(),
            privilege.iter().cloned().collect::<Vec<_>>().into(),
        );
    }
    body
}

pub async fn create(
    State(state): State<SharedState>,
    ScimRequester(req): ScimRequester,
    parts: Parts,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let input = user_json::parse_user(&body)?;
    let mut cmd = parse::create_user(&state, &create_body(&input)).await?;
    cmd.external_id = input.external_id.clone();
    let user = scim::create(&state, &req, cmd).await?;
    let r = resource(&state, &user, &base_url(&parts)).await?;
    Ok(answer(
        StatusCode::CREATED,
        &r,
        projection(&parts, r.clone()),
    ))
}

/// PUT semantics: every writable attribute as `input` has it (absent names and address are
/// blank, an absent `externalId` is cleared); `active` and `systemGroups` change only when
/// given.
async fn write(
    state: &SharedState,
    req: &Requester,
    parts: &Parts,
    user: &UserRecord,
    input: UserInput,
) -> ScimResult<Response> {
    let mut body = Map::new();
    body.insert("username".into(), input.user_name.clone().into());
    body.insert("first_name".into(), input.given_name.clone().into());
    body.insert("last_name".into(), input.family_name.clone().into());
    body.insert("email".into(), input.email.clone().into());
    if let Some(active) = input.active {
        body.insert("is_active".into(), active.into());
    }
    if let Some(privilege) = &input.privilege {
        body.insert(
            "groups".into(),
            privilege.iter().cloned().collect::<Vec<_>>().into(),
        );
    }
    let mut patch = parse::user_patch(state, true, user, &body).await?;
    patch.external_id = Some(input.external_id.clone());
    // Checked before anything is written.
    let password = match &input.password {
        Some(p) => {
            let mut b = Map::new();
            b.insert("password".into(), p.clone().into());
            Some(parse::set_password(user, &b)?)
        }
        None => None,
    };
    let origin = crate::request::origin(parts);
    let base = state.mailer.link_base(&origin);
    let updated = scim::apply(state, req, user, &patch, password, base).await?;
    let r = resource(state, &updated, &base_url(parts)).await?;
    Ok(answer(StatusCode::OK, &r, projection(parts, r.clone())))
}

pub async fn replace(
    State(state): State<SharedState>,
    ScimRequester(req): ScimRequester,
    parts: Parts,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let user = target(&state, &parts).await?;
    let current = resource(&state, &user, &base_url(&parts)).await?;
    check_if_match(&parts, &current)?;
    let input = user_json::parse_user(&body)?;
    write(&state, &req, &parts, &user, input).await
}

pub async fn update(
    State(state): State<SharedState>,
    ScimRequester(req): ScimRequester,
    parts: Parts,
    ScimBody(body): ScimBody,
) -> ScimResult<Response> {
    let user = target(&state, &parts).await?;
    let mut current = resource(&state, &user, &base_url(&parts)).await?;
    check_if_match(&parts, &current)?;
    let had_privilege = current[CVAT_USER_SCHEMA]["privilege"].is_string();
    patch::apply(&mut current, &body)?;
    let mut input = user_json::parse_user(&current)?;
    if had_privilege && input.privilege.is_none() {
        // The extension was removed: no privilege left (a PUT without it changes nothing).
        input.privilege = Some(None);
    }
    write(&state, &req, &parts, &user, input).await
}

pub async fn remove(
    State(state): State<SharedState>,
    ScimRequester(req): ScimRequester,
    parts: Parts,
) -> ScimResult<Response> {
    let user = target(&state, &parts).await?;
    let current = resource(&state, &user, &base_url(&parts)).await?;
    check_if_match(&parts, &current)?;
    let origin = crate::request::origin(&parts);
    let base = state.mailer.link_base(&origin);
    scim::remove(&state, &req, &user, state.settings.scim_delete, base).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
