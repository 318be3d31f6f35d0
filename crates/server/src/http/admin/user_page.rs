//! A user's page (edit, set a password, delete with confirmation; the status card is in
//! `user_status`) and
//! "new user". Forms are parsed by the API's parsers (`http::users::parse`) and applied by the
//! domain operations (`service::users`).

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{html, Markup};
use serde_json::{json, Map, Value};

use super::user_mfa::mfa_card;
use super::user_origin::origin_card;
use super::user_sessions::sessions_card;
use super::user_status::status_card;
use super::users::flash;
use super::{console, csrf_input, errors_of, form_errors, text_field, Console, PageResult};
use crate::error::ApiError;
use crate::http::extract::{PathId, RawBody};
use crate::http::users::parse;
use crate::service::{
    access, mfa, sessions, users, DomainError, DomainResult, SystemRole, UserAccess, UserId,
};
use crate::state::{AppState, SharedState};
use crate::store::UserRecord;
use crate::validate::FieldErrors;

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

/// The user of the path, as the API's detail routes find it.
async fn load_user(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    id: Result<PathId, ApiError>,
) -> Result<UserRecord, Response> {
    let id = UserId(c.id(parts, id)?);
    users::find(
        &state.db,
        &c.req,
        &c.req.detail_scope(),
        id,
        UserAccess::View,
    )
    .await
    .map_err(|e| c.error(parts, e))
}

/// A GET of a user's page: the console and the user of the path.
async fn viewed(
    state: &AppState,
    id: Result<PathId, ApiError>,
    parts: &Parts,
) -> Result<(Console, UserRecord), Response> {
    let c = console(state, parts).await?;
    let u = load_user(state, &c, parts, id).await?;
    Ok((c, u))
}

/// A POST on a user's page: the console, its CSRF-checked form and the user of the path.
pub(super) async fn posted(
    state: &AppState,
    id: Result<PathId, ApiError>,
    parts: &Parts,
    body: RawBody,
) -> Result<(Console, Map<String, Value>, UserRecord), Response> {
    let (c, u) = viewed(state, id, parts).await?;
    let form = c.form(parts, body).await?;
    Ok((c, form, u))
}

/// The user's page again, with `e` shown on the form `place` puts it in.
pub(super) async fn failed(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    u: &UserRecord,
    e: DomainError,
    place: impl FnOnce(FieldErrors) -> PageState,
) -> PageResult {
    let (status, errors) = c.form_failure(parts, e)?;
    render_user(state, c, parts, u, status, place(errors)).await
}

/// Errors and submitted values of the page's three forms.
#[derive(Default)]
pub(super) struct PageState {
    edit: Option<(Draft, FieldErrors)>,
    status_errors: FieldErrors,
    password_errors: FieldErrors,
}

/// The end of a post from the status or sessions card: back to the page saying `what` was
/// done, or the page again with the refusal on the status card.
pub(super) async fn finish(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    u: &UserRecord,
    result: DomainResult<&str>,
) -> PageResult {
    match result {
        Ok(what) => Ok(done(u.id, what)),
        Err(e) => failed(state, c, parts, u, e, PageState::on_status).await,
    }
}

impl PageState {
    /// The page with `errors` on the status card.
    pub(super) fn on_status(errors: FieldErrors) -> PageState {
        PageState {
            status_errors: errors,
            ..Default::default()
        }
    }
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
        .map_err(|e| c.error(parts, e))?;
    let access = access::access(state, &c.req, u)
        .await
        .map_err(|e| c.error(parts, e))?;
    let credentials = sessions::list(state, &c.req, u)
        .await
        .map_err(|e| c.error(parts, e))?;
    let second_factor = mfa::status(state, u.id)
        .await
        .map_err(|e| c.error(parts, e))?;
    let origin = crate::service::ldap::origin(state, u.id)
        .await
        .map_err(|e| c.error(parts, e))?;
    let (draft, edit_errors) = ps.edit.unwrap_or_else(|| (Draft::of(u), Vec::new()));
    let action = format!("/admin/users/{}", u.id);
    let body = html! {
        div.heading {
            div {
                h1 #user-title { (u.username) }
                p.sub {
                    "User " (u.id)
                    @if !u.is_active { " · " span.badge.off { "inactive" } }
                    @for g in &u.groups { " " span.badge.admin[SystemRole::parse(g) == Some(SystemRole::Admin)] { (g) } }
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
                (status_card(c, u, &ps.status_errors, &access))
                (origin_card(&origin))
                div.card #set-password {
                    h2 { "Set a password" }
                    p.sub { "Signs the user out everywhere: sessions, API token and access tokens are revoked." }
                    br;
                    form method="post" action=(format!("/admin/users/{}/password", u.id)) novalidate {
                        (csrf_input(&c.csrf))
                        (form_errors(&ps.password_errors, &["password", "password2"]))
                        (text_field("New password", "password", "password", "", &ps.password_errors, "new-password"))
                        (text_field("New password again", "password2", "password", "", &ps.password_errors, "new-password"))
                        label { input type="checkbox" name="must_change_password" value="true" id="must_change_password";
                            "The user must choose another one at the next login" }
                        button type="submit" #set-password-button { "Set password" }
                    }
                }
                (mfa_card(c, u, &second_factor))
                (sessions_card(c, u, &credentials))
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

pub(super) async fn detail(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> PageResult {
    let (c, u) = viewed(&state, id, &parts).await?;
    render_user(&state, &c, &parts, &u, StatusCode::OK, PageState::default()).await
}

pub(super) async fn update(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, form, u) = posted(&state, id, &parts, body).await?;
    let draft = Draft::from_form(&form);
    let body = changed_only(form_body(form), &u);
    let result = patch_user(&state, &c, &parts, &u, &body).await;
    match result {
        Ok(updated) => Ok(done(updated.id, "saved")),
        Err(e) => {
            let edit = |errors| PageState {
                edit: Some((draft, errors)),
                ..Default::default()
            };
            failed(&state, &c, &parts, &u, e, edit).await
        }
    }
}

/// The API's PATCH of a user, with the console's requester.
pub(super) async fn patch_user(
    state: &AppState,
    c: &Console,
    parts: &Parts,
    u: &UserRecord,
    body: &Map<String, Value>,
) -> DomainResult<UserRecord> {
    let patch = parse::user_patch(state, c.req.is_staff(), u, body).await?;
    let origin = crate::http::links::origin(parts);
    let base = state.mailer.link_base(&origin);
    users::update(state, &c.req, u, &patch, base).await
}

pub(super) fn done(id: i64, what: &str) -> Response {
    Redirect::to(&format!("/admin/users/{id}?done={what}")).into_response()
}

pub const PASSWORDS_DIFFER: &str = "The two password fields didn\u{2019}t match.";

pub(super) async fn password(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, form, u) = posted(&state, id, &parts, body).await?;
    let text = |k: &str| form.get(k).and_then(Value::as_str).unwrap_or("");
    let result = if text("password") != text("password2") {
        Err(DomainError::field("password2", PASSWORDS_DIFFER))
    } else {
        match parse::set_password(&u, &form) {
            Ok(cmd) => users::set_password(&state, &c.req, &u, cmd).await,
            Err(e) => Err(e),
        }
    };
    match result {
        // Setting one's own password ends one's own session too.
        Ok(()) if u.id == c.req.id() => Ok(Redirect::to("/admin/login").into_response()),
        Ok(()) => Ok(done(u.id, "password")),
        Err(e) => {
            let password = |password_errors| PageState {
                password_errors,
                ..Default::default()
            };
            failed(&state, &c, &parts, &u, e, password).await
        }
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

pub(super) async fn delete_page(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
) -> PageResult {
    let (c, u) = viewed(&state, id, &parts).await?;
    Ok(delete_confirmation(
        &c,
        &parts,
        &u,
        &Vec::new(),
        StatusCode::OK,
    ))
}

pub(super) async fn delete(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, _, u) = posted(&state, id, &parts, body).await?;
    match users::delete(&state, &c.req, &u).await {
        Ok(()) if u.id == c.req.id() => Ok(Redirect::to("/admin/login").into_response()),
        Ok(()) => {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("done", "deleted")
                .append_pair("name", &u.username);
            Ok(Redirect::to(&format!("/admin/users?{}", q.finish())).into_response())
        }
        Err(e) => {
            let (status, errors) = c.form_failure(&parts, e)?;
            Ok(delete_confirmation(&c, &parts, &u, &errors, status))
        }
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
        .map_err(|e| c.error(parts, e))?;
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

pub(super) async fn new_page(State(state): State<SharedState>, parts: Parts) -> PageResult {
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

pub(super) async fn create(
    State(state): State<SharedState>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let c = console(&state, &parts).await?;
    let form = c.form(&parts, body).await?;
    let draft = Draft::from_form(&form);
    let body = form_body(form);
    let result = match users::ensure_admin(&c.req) {
        Ok(()) => match parse::create_user(&state, &body).await {
            Ok(cmd) => users::create(&state, &c.req, cmd).await,
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match result {
        Ok(user) => Ok(done(user.id, "created")),
        Err(e) => {
            let (status, errors) = c.form_failure(&parts, e)?;
            render_new(&state, &c, &parts, &draft, &errors, status).await
        }
    }
}
