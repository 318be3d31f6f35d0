//! The second-factor card of a user's page: whether TOTP is on, since when, the recovery codes
//! left, what requires it, and an administrator's reset (`service::mfa::admin_reset`: the
//! factor, sessions and login tokens go, and the user is told by mail).

use axum::extract::State;
use axum::http::request::Parts;
use maud::{html, Markup};

use super::user_page::{finish, posted};
use super::{csrf_input, when, Console, PageResult};
use crate::error::ApiError;
use crate::http::extract::{PathId, RawBody};
use crate::service::mfa::{self, MfaStatus};
use crate::service::UserId;
use crate::state::SharedState;
use crate::store::UserRecord;

pub(super) fn mfa_card(c: &Console, u: &UserRecord, s: &MfaStatus) -> Markup {
    html! {
        div.card #second-factor {
            h2 { "Second factor" }
            dl.facts {
                dt { "TOTP" } dd #totp-state { @if s.enabled { "on since " (when(s.confirmed_date)) " UTC" } @else { "off" } }
                @if s.enabled {
                    dt { "Recovery codes" } dd { (s.recovery_remaining) " of " (s.recovery_total) " left" }
                }
                @if s.required {
                    dt { "Required by" } dd { (s.required_by.join(", ")) }
                }
                @if let Some(d) = s.enrollment_deadline {
                    dt { "Enrol by" } dd { (when(Some(d))) " UTC" }
                }
            }
            @if s.enabled {
                br;
                form method="post" action=(format!("/admin/users/{}/mfa", u.id)) {
                    (csrf_input(&c.csrf))
                    button.secondary type="submit" #reset-mfa { "Reset the second factor" }
                }
            }
        }
    }
}

/// Resets the user's factor (the user is signed out and told by mail).
pub(super) async fn reset(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (c, _form, u) = posted(&state, id, &parts, body).await?;
    let result = mfa::admin_reset(&state, &c.req, UserId(u.id)).await;
    finish(&state, &c, &parts, &u, result.map(|()| "mfa-reset")).await
}
