//! Users: the table (search, sort by any column, paging, filters), the user page (edit,
//! activate/deactivate, set a password, delete with confirmation) and "new user". Every action
//! calls the API's own operation (`http::users::*`).

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup};
use serde_json::{json, Map, Value};

use super::{
    as_form_errors, console, csrf_input, error_page, errors_of, form_errors, path_id, query,
    text_field, when, Console, PageResult,
};
use crate::error::ApiError;
use crate::http::extract::{py_int, RawBody};
use crate::http::users as api;
use crate::permissions::Requester;
use crate::state::{AppState, SharedState};
use crate::store::{UserColumn, UserRecord};
use crate::validate::FieldErrors;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/users", get(list))
        .route("/admin/users/new", get(new_page).post(create))
        .route("/admin/users/{id}", get(detail).post(update))
        .route("/admin/users/{id}/active", axum::routing::post(set_active))
        .route("/admin/users/{id}/password", axum::routing::post(password))
        .route("/admin/users/{id}/delete", get(delete_page).post(delete))
}

const PAGE_SIZES: [i64; 4] = [10, 20, 50, 100];
const DEFAULT_PAGE_SIZE: i64 = 20;

/// The table's state, read from the query and written back into every link.
#[derive(Clone)]
struct ListParams {
    search: String,
    active: String,
    group: String,
    sort: String,
    page: i64,
    page_size: i64,
}

impl ListParams {
    fn from(parts: &Parts) -> ListParams {
        let page_size = query(parts, "page_size")
            .and_then(|v| py_int(&v))
            .filter(|n| PAGE_SIZES.contains(n))
            .unwrap_or(DEFAULT_PAGE_SIZE);
        let sort = query(parts, "sort")
            .filter(|s| UserColumn::parse(s).is_some())
            .unwrap_or_else(|| "-id".into());
        ListParams {
            search: query(parts, "search").unwrap_or_default(),
            active: query(parts, "is_active")
                .filter(|v| v == "true" || v == "false")
                .unwrap_or_default(),
            group: query(parts, "group").unwrap_or_default(),
            sort,
            page: query(parts, "page")
                .and_then(|v| py_int(&v))
                .unwrap_or(1)
                .max(1),
            page_size,
        }
    }

    fn url(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("search", self.search.as_str()),
            ("is_active", self.active.as_str()),
            ("group", self.group.as_str()),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.sort != "-id" {
            q.append_pair("sort", &self.sort);
        }
        if self.page_size != DEFAULT_PAGE_SIZE {
            q.append_pair("page_size", &self.page_size.to_string());
        }
        if self.page != 1 {
            q.append_pair("page", &self.page.to_string());
        }
        let q = q.finish();
        if q.is_empty() {
            "/admin/users".into()
        } else {
            format!("/admin/users?{q}")
        }
    }

    fn with_page(&self, page: i64) -> String {
        ListParams {
            page,
            ..self.clone()
        }
        .url()
    }

    /// The link of a column header: ascending first, descending when already ascending.
    fn sort_link(&self, col: UserColumn) -> (String, Option<&'static str>) {
        let current = UserColumn::parse(&self.sort);
        let (next, mark) = match current {
            Some((c, false)) if c == col => (format!("-{}", col.name()), Some("▲")),
            Some((c, true)) if c == col => (col.name().to_string(), Some("▼")),
            _ => (col.name().to_string(), None),
        };
        let url = ListParams {
            sort: next,
            page: 1,
            ..self.clone()
        }
        .url();
        (url, mark)
    }
}

fn flash(parts: &Parts) -> Option<String> {
    let name = query(parts, "name").unwrap_or_default();
    Some(match query(parts, "done")?.as_str() {
        "created" => "The user has been created.".into(),
        "saved" => "The changes have been saved.".into(),
        "activated" => "The user has been activated.".into(),
        "deactivated" => "The user has been deactivated.".into(),
        "password" => api::PASSWORD_SET.into(),
        "deleted" => format!("The user {name} has been deleted."),
        _ => return None,
    })
}

async fn list(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    let p = ListParams::from(&parts);
    let fail = |e: ApiError| error_page(Some(&c), &parts, e);
    // The API's visibility, search and `is_active` rules; the group filter and the sort
    // columns are the console's own additions.
    let mut q = c.req.list_scope();
    let pairs = vec![
        ("search".to_string(), p.search.clone()),
        ("is_active".to_string(), p.active.clone()),
    ];
    api::apply_query_pairs(&pairs, &mut q).map_err(fail)?;
    let groups = state.db.group_names().await.map_err(|e| fail(e.into()))?;
    let group = groups.iter().find(|g| **g == p.group).map(String::as_str);
    let count = state
        .db
        .admin_count_users(&q, group)
        .await
        .map_err(|e| fail(e.into()))?;
    let pages = ((count + p.page_size - 1) / p.page_size).max(1);
    let page = p.page.min(pages);
    let p = ListParams { page, ..p };
    let sort = UserColumn::parse(&p.sort).unwrap_or((UserColumn::Id, true));
    let users = state
        .db
        .admin_list_users(&q, group, sort, (page - 1) * p.page_size, p.page_size)
        .await
        .map_err(|e| fail(e.into()))?;

    let columns = [
        (UserColumn::Id, "ID"),
        (UserColumn::Username, "Username"),
        (UserColumn::FirstName, "First name"),
        (UserColumn::LastName, "Last name"),
        (UserColumn::Email, "E-mail"),
        (UserColumn::Groups, "Groups"),
        (UserColumn::IsStaff, "Staff"),
        (UserColumn::IsActive, "Active"),
        (UserColumn::LastLogin, "Last login"),
        (UserColumn::DateJoined, "Joined"),
    ];
    let body = html! {
        div.heading {
            h1 { "Users" }
            span.spacer {}
            a.button href="/admin/users/new" #new-user { "New user" }
        }
        @if let Some(m) = flash(&parts) { p.msg.ok #flash { (m) } }
        form.filters method="get" action="/admin/users" role="search" {
            label { "Search"
                input type="search" name="search" value=(p.search) placeholder="username or name" #search; }
            label { "Status"
                select name="is_active" #filter-active {
                    option value="" selected[p.active.is_empty()] { "Active and inactive" }
                    option value="true" selected[p.active == "true"] { "Active only" }
                    option value="false" selected[p.active == "false"] { "Inactive only" }
                }
            }
            label { "Group"
                select name="group" #filter-group {
                    option value="" selected[group.is_none()] { "Any group" }
                    @for g in &groups { option value=(g) selected[Some(g.as_str()) == group] { (g) } }
                }
            }
            label { "Per page"
                select name="page_size" #page-size {
                    @for n in PAGE_SIZES { option value=(n) selected[n == p.page_size] { (n) } }
                }
            }
            @if p.sort != "-id" { input type="hidden" name="sort" value=(p.sort); }
            button type="submit" #apply { "Apply" }
            a.button.secondary href="/admin/users" { "Reset" }
        }
        div.table-wrap {
            table #users {
                thead { tr {
                    @for (col, label) in columns {
                        @let (href, mark) = p.sort_link(col);
                        th { a.sorted[mark.is_some()] href=(href) data-sort=(col.name()) {
                            (label) @if let Some(m) = mark { " " (m) }
                        } }
                    }
                } }
                tbody {
                    @if users.is_empty() { tr { td colspan="10" .muted { "No users match." } } }
                    @for u in &users {
                        tr.inactive[!u.is_active] data-user=(u.username) {
                            td.num { (u.id) }
                            td { a href=(format!("/admin/users/{}", u.id)) { (u.username) } }
                            td { (u.first_name) }
                            td { (u.last_name) }
                            td { (u.email) }
                            td { @for g in &u.groups { span.badge.admin[g == "admin"] { (g) } } }
                            td { (staff_label(u)) }
                            td { @if u.is_active { span.badge.on { "yes" } } @else { span.badge.off { "no" } } }
                            td.num { (when(u.last_login)) }
                            td.num { (when(Some(u.date_joined))) }
                        }
                    }
                }
            }
        }
        nav.pager aria-label="Pages" #pager {
            @if page > 1 { a href=(p.with_page(page - 1)) rel="prev" #prev { "‹ Previous" } }
            @for n in page_window(page, pages) {
                @if n == page { span.page.current aria-current="page" { (n) } }
                @else { a href=(p.with_page(n)) { (n) } }
            }
            @if page < pages { a href=(p.with_page(page + 1)) rel="next" #next { "Next ›" } }
            span.count #count { (count) " users · page " (page) " of " (pages) }
        }
    };
    Ok(c.page(&parts, StatusCode::OK, "Users", body))
}

fn staff_label(u: &UserRecord) -> &'static str {
    match (u.is_superuser, u.is_staff) {
        (true, true) => "superuser",
        (true, false) => "superuser (not staff)",
        (false, true) => "staff",
        (false, false) => "—",
    }
}

/// The page numbers around `page` (first and last always included).
fn page_window(page: i64, pages: i64) -> Vec<i64> {
    let mut v: Vec<i64> = (1..=pages)
        .filter(|n| *n == 1 || *n == pages || (n - page).abs() <= 2)
        .collect();
    v.dedup();
    v
}

// ---------------------------------------------------------------------------------------------
// The user page

/// What the edit form shows: the stored user, or what was submitted when it had errors.
struct Draft {
    username: String,
    first_name: String,
    last_name: String,
    email: String,
    groups: Vec<String>,
    is_staff: bool,
    is_superuser: bool,
    is_active: bool,
}

impl Draft {
    fn of(u: &UserRecord) -> Draft {
        Draft {
            username: u.username.clone(),
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            groups: u.groups.clone(),
            is_staff: u.is_staff,
            is_superuser: u.is_superuser,
            is_active: u.is_active,
        }
    }

    fn new() -> Draft {
        Draft {
            username: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            email: String::new(),
            groups: vec!["user".into()],
            is_staff: false,
            is_superuser: false,
            is_active: true,
        }
    }

    /// The submitted values (as far as they are readable), for showing the form again.
    fn from_form(form: &Map<String, Value>) -> Draft {
        let text = |k: &str| match form.get(k) {
            Some(Value::String(s)) => s.clone(),
            _ => String::new(),
        };
        let flag = |k: &str| {
            form.get(k)
                .and_then(crate::validate::parse_bool)
                .unwrap_or(false)
        };
        Draft {
            username: text("username"),
            first_name: text("first_name"),
            last_name: text("last_name"),
            email: text("email"),
            groups: match form.get("groups") {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            },
            is_staff: flag("is_staff"),
            is_superuser: flag("is_superuser"),
            is_active: flag("is_active"),
        }
    }
}

/// A form's fields as the JSON body the API takes: checkboxes arrive as a hidden `false`
/// followed by a checked `true` (the last value wins), and the `groups_shown` marker turns
/// "no group ticked" into `groups: []`.
fn form_body(mut form: Map<String, Value>) -> Map<String, Value> {
    if form.remove("groups_shown").is_some() && !form.contains_key("groups") {
        form.insert("groups".into(), json!([]));
    }
    form
}

/// Only the fields whose values differ from the stored user: the API's PATCH then checks just
/// what the administrator changed (a form always sends every field).
fn changed_only(mut body: Map<String, Value>, u: &UserRecord) -> Map<String, Value> {
    let same = |k: &str, v: &Value| -> bool {
        match (k, v) {
            ("username", Value::String(s)) => s.trim() == u.username,
            ("first_name", Value::String(s)) => s.trim() == u.first_name,
            ("last_name", Value::String(s)) => s.trim() == u.last_name,
            ("email", Value::String(s)) => s.trim() == u.email,
            ("groups", Value::Array(items)) => {
                let mut a: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                let mut b: Vec<&str> = u.groups.iter().map(String::as_str).collect();
                a.sort_unstable();
                a.dedup();
                b.sort_unstable();
                a == b
            }
            ("is_staff", v) => crate::validate::parse_bool(v) == Some(u.is_staff),
            ("is_superuser", v) => crate::validate::parse_bool(v) == Some(u.is_superuser),
            ("is_active", v) => crate::validate::parse_bool(v) == Some(u.is_active),
            _ => false,
        }
    };
    body.retain(|k, v| !same(k, v));
    body
}

async fn load_user(state: &AppState, c: &Console, parts: &Parts) -> Result<UserRecord, Response> {
    let fail = |e| error_page(Some(c), parts, e);
    let id = path_id(
        parts,
        if parts.uri.path().ends_with(|ch: char| ch.is_ascii_digit()) {
            0
        } else {
            1
        },
    )
    .ok_or_else(|| fail(ApiError::not_found()))?;
    api::find_target(
        state,
        &c.req,
        &c.req.detail_scope(),
        id,
        Requester::can_view,
    )
    .await
    .map_err(fail)
}

/// Errors and submitted values of the page's three forms.
#[derive(Default)]
struct PageState {
    edit: Option<(Draft, FieldErrors)>,
    status_errors: FieldErrors,
    password_errors: FieldErrors,
}

async fn render_user(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    u: &UserRecord,
    status: StatusCode,
    ps: PageState,
) -> PageResult {
    let groups = state
        .db
        .group_names()
        .await
        .map_err(|e| error_page(Some(c), parts, e.into()))?;
    let (draft, edit_errors) = ps.edit.unwrap_or_else(|| (Draft::of(u), Vec::new()));
    let action = format!("/admin/users/{}", u.id);
    let body = html! {
        div.heading {
            div {
                h1 #user-title { (u.username) }
                p.sub {
                    "User " (u.id)
                    @if !u.is_active { " · " span.badge.off { "inactive" } }
                    @for g in &u.groups { " " span.badge.admin[g == "admin"] { (g) } }
                }
            }
            span.spacer {}
            a.button.secondary href="/admin/users" { "All users" }
        }
        @if let Some(m) = flash(parts) { p.msg.ok #flash { (m) } }
        div.grid {
            div.card #account {
                h2 { "Account" }
                form method="post" action=(action) novalidate {
                    (csrf_input(&c.csrf))
                    (form_errors(&edit_errors, &EDIT_FIELDS))
                    (user_fields(&draft, &edit_errors, &groups, false))
                    button type="submit" #save { "Save changes" }
                }
            }
            div {
                div.card #status {
                    h2 { "Status" }
                    (form_errors(&ps.status_errors, &[]))
                    dl.facts {
                        dt { "Active" } dd { @if u.is_active { "yes" } @else { "no" } }
                        dt { "Joined" } dd { (when(Some(u.date_joined))) " UTC" }
                        dt { "Last login" } dd { (when(u.last_login)) @if u.last_login.is_some() { " UTC" } }
                    }
                    br;
                    form method="post" action=(format!("/admin/users/{}/active", u.id)) {
                        (csrf_input(&c.csrf))
                        @if u.is_active {
                            input type="hidden" name="is_active" value="false";
                            button.secondary type="submit" #deactivate { "Deactivate" }
                        } @else {
                            input type="hidden" name="is_active" value="true";
                            button type="submit" #activate { "Activate" }
                        }
                    }
                }
                div.card #set-password {
                    h2 { "Set a password" }
                    p.sub { "Signs the user out everywhere: sessions, API token and access tokens are revoked." }
                    br;
                    form method="post" action=(format!("/admin/users/{}/password", u.id)) novalidate {
                        (csrf_input(&c.csrf))
                        (form_errors(&ps.password_errors, &["password", "password2"]))
                        (text_field("New password", "password", "password", "", &ps.password_errors, "new-password"))
                        (text_field("New password again", "password2", "password", "", &ps.password_errors, "new-password"))
                        button type="submit" #set-password-button { "Set password" }
                    }
                }
                div.card.danger #danger {
                    h2 { "Delete" }
                    p.sub { "Deleting removes the account, its tokens and memberships for good." }
                    br;
                    a.button.danger href=(format!("/admin/users/{}/delete", u.id)) #delete { "Delete " (u.username) "…" }
                }
            }
        }
    };
    Ok(c.page(parts, status, &u.username, body))
}

const EDIT_FIELDS: [&str; 8] = [
    "username",
    "first_name",
    "last_name",
    "email",
    "groups",
    "is_staff",
    "is_superuser",
    "is_active",
];

/// The fields of the edit and create forms.
fn user_fields(d: &Draft, errors: &FieldErrors, groups: &[String], creating: bool) -> Markup {
    let check = |name: &str, label: &str, on: bool| {
        let errs = errors_of(errors, name);
        html! {
            label {
                input type="hidden" name=(name) value="false";
                input type="checkbox" name=(name) value="true" id=(name) checked[on];
                (label)
            }
            @for e in errs { p.error data-field=(name) { (e) } }
        }
    };
    let group_errors = errors_of(errors, "groups");
    html! {
        (text_field("Username", "username", "text", &d.username, errors, "off"))
        @if creating {
            (text_field("Password", "password", "password", "", errors, "new-password"))
        }
        (text_field("E-mail", "email", "email", &d.email, errors, "off"))
        (text_field("First name", "first_name", "text", &d.first_name, errors, "off"))
        (text_field("Last name", "last_name", "text", &d.last_name, errors, "off"))
        fieldset.field.has-error[!group_errors.is_empty()] data-field="groups" {
            legend { "Groups" }
            input type="hidden" name="groups_shown" value="1";
            div.checks {
                @for g in groups {
                    label { input type="checkbox" name="groups" value=(g) id=(format!("group-{g}"))
                        checked[d.groups.contains(g)]; (g) }
                }
            }
            @for e in &group_errors { p.error { (e) } }
            p.help { "The highest of admin, business, user, worker is the user's privilege." }
        }
        fieldset.field data-field="flags" {
            legend { "Flags" }
            div.checks {
                (check("is_active", "Active", d.is_active))
                (check("is_staff", "Staff", d.is_staff))
                (check("is_superuser", "Superuser", d.is_superuser))
            }
            p.help { "A superuser who is staff is always given the admin group." }
        }
    }
}

async fn detail(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    let u = load_user(&state, &c, &parts).await?;
    render_user(&state, &c, &parts, &u, StatusCode::OK, PageState::default()).await
}

async fn update(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let c = console(&state, &parts).await?;
    let form = c.form(&parts, body).await?;
    let u = load_user(&state, &c, &parts).await?;
    let draft = Draft::from_form(&form);
    let body = changed_only(form_body(form), &u);
    match api::update_user(&state, &c.req, &u, &body).await {
        Ok(updated) => Ok(done(updated.id, "saved")),
        Err(e) => match as_form_errors(e) {
            Ok((status, errors)) => {
                let ps = PageState {
                    edit: Some((draft, errors)),
                    ..Default::default()
                };
                render_user(&state, &c, &parts, &u, status, ps).await
            }
            Err(e) => Err(error_page(Some(&c), &parts, e)),
        },
    }
}

fn done(id: i64, what: &str) -> Response {
    Redirect::to(&format!("/admin/users/{id}?done={what}")).into_response()
}

async fn set_active(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let c = console(&state, &parts).await?;
    let form = c.form(&parts, body).await?;
    let u = load_user(&state, &c, &parts).await?;
    let active = form.get("is_active").cloned().unwrap_or(Value::Null);
    let mut body = Map::new();
    body.insert("is_active".into(), active);
    match api::update_user(&state, &c.req, &u, &body).await {
        Ok(updated) => Ok(done(
            updated.id,
            if updated.is_active {
                "activated"
            } else {
                "deactivated"
            },
        )),
        Err(e) => match as_form_errors(e) {
            Ok((status, errors)) => {
                let ps = PageState {
                    status_errors: errors,
                    ..Default::default()
                };
                render_user(&state, &c, &parts, &u, status, ps).await
            }
            Err(e) => Err(error_page(Some(&c), &parts, e)),
        },
    }
}

pub const PASSWORDS_DIFFER: &str = "The two password fields didn\u{2019}t match.";

async fn password(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let c = console(&state, &parts).await?;
    let form = c.form(&parts, body).await?;
    let u = load_user(&state, &c, &parts).await?;
    let text = |k: &str| {
        form.get(k)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let result = if text("password") != text("password2") {
        Err(ApiError::Fields(vec![(
            "password2".into(),
            vec![PASSWORDS_DIFFER.into()],
        )]))
    } else {
        let mut body = Map::new();
        body.insert("password".into(), Value::String(text("password")));
        api::set_password(&state, &c.req, &u, &body).await
    };
    match result {
        // Setting one's own password ends one's own session too.
        Ok(()) if u.id == c.req.id() => Ok(Redirect::to("/admin/login").into_response()),
        Ok(()) => Ok(done(u.id, "password")),
        Err(e) => match as_form_errors(e) {
            Ok((status, errors)) => {
                let ps = PageState {
                    password_errors: errors,
                    ..Default::default()
                };
                render_user(&state, &c, &parts, &u, status, ps).await
            }
            Err(e) => Err(error_page(Some(&c), &parts, e)),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Delete

fn delete_confirmation(
    c: &Console,
    parts: &Parts,
    u: &UserRecord,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let body = html! {
        div.card.danger #confirm-delete {
            h1 { "Delete user " (u.username) "?" }
            (form_errors(errors, &[]))
            p {
                "This deletes " strong #delete-name { (u.username) }
                " (user " (u.id)
                @if !u.email.is_empty() { ", " (u.email) }
                ") for good: the account, its tokens, sessions and organization memberships. "
                "Organizations it owns stay, without an owner. This cannot be undone."
            }
            form.actions method="post" action=(format!("/admin/users/{}/delete", u.id)) {
                (csrf_input(&c.csrf))
                button.danger type="submit" #confirm { "Yes, delete " (u.username) }
                a.button.secondary href=(format!("/admin/users/{}", u.id)) { "Cancel" }
            }
        }
    };
    c.page(parts, status, &format!("Delete {}", u.username), body)
}

async fn delete_page(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    let u = load_user(&state, &c, &parts).await?;
    Ok(delete_confirmation(
        &c,
        &parts,
        &u,
        &Vec::new(),
        StatusCode::OK,
    ))
}

async fn delete(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let c = console(&state, &parts).await?;
    c.form(&parts, body).await?;
    let u = load_user(&state, &c, &parts).await?;
    match api::delete_user(&state, &c.req, &u).await {
        Ok(()) if u.id == c.req.id() => Ok(Redirect::to("/admin/login").into_response()),
        Ok(()) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("done", "deleted")
                .append_pair("name", &u.username);
            Ok(Redirect::to(&format!("/admin/users?{}", q.finish())).into_response())
        }
        Err(e) => match as_form_errors(e) {
            Ok((status, errors)) => Ok(delete_confirmation(&c, &parts, &u, &errors, status)),
            Err(e) => Err(error_page(Some(&c), &parts, e)),
        },
    }
}

// ---------------------------------------------------------------------------------------------
// Create

async fn render_new(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    draft: &Draft,
    errors: &FieldErrors,
    status: StatusCode,
) -> PageResult {
    let groups = state
        .db
        .group_names()
        .await
        .map_err(|e| error_page(Some(c), parts, e.into()))?;
    let mut fields = EDIT_FIELDS.to_vec();
    fields.push("password");
    let body = html! {
        div.heading {
            h1 { "New user" }
            span.spacer {}
            a.button.secondary href="/admin/users" { "All users" }
        }
        div.card #create {
            form method="post" action="/admin/users/new" novalidate {
                (csrf_input(&c.csrf))
                (form_errors(errors, &fields))
                (user_fields(draft, errors, &groups, true))
                button type="submit" #create-button { "Create user" }
            }
        }
    };
    Ok(c.page(parts, status, "New user", body))
}

async fn new_page(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    render_new(
        &state,
        &c,
        &parts,
        &Draft::new(),
        &Vec::new(),
        StatusCode::OK,
    )
    .await
}

async fn create(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let c = console(&state, &parts).await?;
    let form = c.form(&parts, body).await?;
    let draft = Draft::from_form(&form);
    let body = form_body(form);
    match api::create_user(&state, &c.req, &body).await {
        Ok(user) => Ok(done(user.id, "created")),
        Err(e) => match as_form_errors(e) {
            Ok((status, errors)) => render_new(&state, &c, &parts, &draft, &errors, status).await,
            Err(e) => Err(error_page(Some(&c), &parts, e)),
        },
    }
}
