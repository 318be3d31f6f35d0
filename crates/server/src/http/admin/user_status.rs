//! The status card of a user's page: active, e-mail confirmation, blocked, login lock, with
//! their buttons (activate or deactivate, mark the address confirmed, block or unblock, clear
//! the lock). Activation and the address go through the API's PATCH; blocking and locks
//! through `service::access`.

use axum::extract::State;
use axum::http::request::Parts;
use maud::{html, Markup};
use serde_json::{Map, Value};

use super::user_page::{finish, patch_user, posted};
use super::{csrf_input, form_errors, when, Console, PageResult};
use crate::error::ApiError;
use crate::http::extract::{PathId, RawBody};
use crate::service::access::{self, AccessChange, AccountAccess};
use crate::service::DomainError;
use crate::state::SharedState;
use crate::store::UserRecord;
use crate::validate::FieldErrors;

pub(super) fn status_card(
    c: &Console,
    u: &UserRecord,
    errors: &FieldErrors,
    access: &AccountAccess,
) -> Markup {
    let action = |what: &str| format!("/admin/users/{}/{what}", u.id);
    let button = |name: &str, value: &str, id: &str, label: &str| {
        html! {
            form method="post" action=(action(if name == "access" { "access" } else { "active" })) {
                (csrf_input(&c.csrf))
                input type="hidden" name=(name) value=(value);
                button.secondary type="submit" id=(id) { (label) }
            }
        }
    };
    html! {
        div.card #status {
            h2 { "Status" }
            (form_errors(errors, &[]))
            dl.facts {
                dt { "Active" } dd { @if u.is_active { "yes" } @else { "no" } }
                dt { "E-mail" } dd #email-verified { (match u.email_verified {
                    Some(true) => "confirmed", Some(false) => "confirmation pending", None => "not asked" }) }
                dt { "Blocked" } dd #blocked { @if access.blocked_date.is_some() { "since " (when(access.blocked_date)) " UTC" } @else { "no" } }
                dt { "Login lock" } dd #login-lock { @match access.login_locked_for {
                    Some(s) => { "locked for " (s) " s" }, None => "none" } }
                dt { "Password" } dd #must-change { @if access.must_change_password { "must be changed at the next login" } @else { "set" } }
                dt { "Joined" } dd { (when(Some(u.date_joined))) " UTC" }
                dt { "Last login" } dd { (when(u.last_login)) @if u.last_login.is_some() { " UTC" } }
            }
            br;
            @if u.is_active { (button("is_active", "false", "deactivate", "Deactivate")) }
            @else { (button("is_active", "true", "activate", "Activate")) }
            @if u.email_verified != Some(true) && !u.email.is_empty() {
                (button("email_verified", "true", "mark-verified", "Mark e-mail confirmed"))
            }
            @if access.blocked_date.is_some() { (button("access", "unblock", "unblock", "Unblock")) }
            @else { (button("access", "block", "block", "Block")) }
            @if access.login_locked_for.is_some() { (button("access", "unlock", "unlock", "Clear the login lock")) }
        }
    }
}

/// Activate or deactivate, or mark the address confirmed: the API's PATCH of that one field.
pub(super) async fn set_active(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, form, u) = posted(&state, id, &parts, body).await?;
    let flag = match form.contains_key("email_verified") {
        true => "email_verified",
        false => "is_active",
    };
    let value = form.get(flag).cloned().unwrap_or(Value::Null);
    let body = Map::from_iter([(flag.to_string(), value)]);
    let result = patch_user(&state, &c, &parts, &u, &body).await;
    let what = result.map(|updated| match (flag, updated.is_active) {
        ("email_verified", _) => "verified",
        (_, true) => "activated",
        (_, false) => "deactivated",
    });
    finish(&state, &c, &parts, &u, what).await
}

/// Block, unblock, or clear the login lock (`access=block|unblock|unlock`).
pub(super) async fn set_access(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, form, u) = posted(&state, id, &parts, body).await?;
    let what = form.get("access").and_then(Value::as_str).unwrap_or("");
    let result = match AccessChange::parse(what) {
        Some(change) => access::apply(&state, &c.req, &u, change)
            .await
            .map(|_| what),
        None => Err(DomainError::non_field("Unknown action.")),
    };
    finish(&state, &c, &parts, &u, result).await
}
