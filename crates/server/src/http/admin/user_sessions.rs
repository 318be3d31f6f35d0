//! The sessions card of a user's page: every session, login token and access token with when
//! and where it was made, a button to revoke each, and one to sign the user out everywhere
//! (`service::sessions`).

use axum::extract::State;
use axum::http::request::Parts;
use maud::{html, Markup};
use serde_json::Value;

use super::user_page::{finish, posted};
use super::{csrf_input, when, Console, PageResult};
use crate::error::ApiError;
use crate::http::extract::{PathId, RawBody};
use crate::service::sessions::{self, Credential};
use crate::state::SharedState;
use crate::store::UserRecord;

pub(super) fn sessions_card(c: &Console, u: &UserRecord, credentials: &[Credential]) -> Markup {
    let action = format!("/admin/users/{}/sessions", u.id);
    html! {
        div.card #sessions {
            h2 { "Sessions and tokens" }
            @if credentials.is_empty() { p.sub { "None: the user is signed out everywhere." } }
            @else {
                table {
                    thead { tr { th { "Kind" } th { "Created" } th { "From" } th { "" } } }
                    tbody {
                        @for cr in credentials {
                            tr data-id=(cr.id()) {
                                td { (cr.row.kind.replace('_', " ")) @if let Some(n) = &cr.row.name { " “" (n) "”" } }
                                td { (when(cr.row.created)) }
                                td { (cr.row.client_address.as_deref().unwrap_or("")) br;
                                     small { (cr.row.user_agent.as_deref().unwrap_or("")) } }
                                td {
                                    form method="post" action=(action) {
                                        (csrf_input(&c.csrf))
                                        input type="hidden" name="revoke" value=(cr.id());
                                        button.secondary type="submit" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
                br;
                form method="post" action=(action) {
                    (csrf_input(&c.csrf))
                    input type="hidden" name="revoke" value="all";
                    button.secondary type="submit" #sign-out-everywhere { "Sign out everywhere" }
                }
            }
        }
    }
}

/// `revoke=<id>` revokes one credential, `revoke=all` every one.
pub(super) async fn revoke(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, form, u) = posted(&state, id, &parts, body).await?;
    let which = form.get("revoke").and_then(Value::as_str).unwrap_or("");
    let result = match which {
        "all" => sessions::revoke_all(&state, &c.req, &u).await.map(|_| ()),
        one => sessions::revoke(&state, &c.req, &u, one).await,
    };
    finish(&state, &c, &parts, &u, result.map(|()| "revoked")).await
}
