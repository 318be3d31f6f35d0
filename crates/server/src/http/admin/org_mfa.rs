//! The second-factor card of an organization's page: whether the organization requires TOTP
//! of its members and their grace period, changed with the API's parser and rules
//! (`http::org_mfa`, `service::orgs::set_mfa_policy`).

use axum::extract::State;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect};
use maud::{html, Markup};
use serde_json::Value;

use super::{console, csrf_input, when, Console, PageResult};
use crate::error::ApiError;
use crate::http::extract::{PathId, RawBody};
use crate::service::orgs::{self, OrgMfaPolicy};
use crate::service::{DomainError, OrgId};
use crate::state::SharedState;

pub(super) fn policy_card(c: &Console, org: OrgId, p: &OrgMfaPolicy) -> Markup {
    html! {
        div.card #org-mfa {
            h2 { "Second factor" }
            p.sub { @match p.required_since {
                Some(since) => { "Members must have TOTP (required since " (when(Some(since))) " UTC)." },
                None => "Members need no second factor.",
            } }
            form method="post" action=(format!("/admin/organizations/{org}/mfa-policy")) {
                (csrf_input(&c.csrf))
                input type="hidden" name="require_mfa" value="false";
                label { input type="checkbox" name="require_mfa" value="true" id="require_mfa" checked[p.required_since.is_some()];
                    "Require TOTP of every member" }
                label { "Grace period (hours) "
                    input type="number" name="grace_period_hours" min="0" max="8760" value=(p.grace_period_hours); }
                button.secondary type="submit" #save-org-mfa { "Save" }
            }
        }
    }
}

pub(super) async fn set_policy(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let c = console(&state, &parts).await?;
    let org = OrgId(c.id(&parts, id)?);
    let mut form = c.form(&parts, body).await?;
    // A checked box sends both values; the last one wins, as in Django.
    if let Some(Value::Array(values)) = form.get("require_mfa").cloned() {
        form.insert(
            "require_mfa".into(),
            values.last().cloned().unwrap_or(Value::Null),
        );
    }
    let result = match crate::http::org_mfa::parse(&form) {
        Ok((require, grace)) => orgs::set_mfa_policy(&state.db, &c.req, org, require, grace).await,
        Err(errors) => Err(DomainError::Invalid(errors)),
    };
    match result {
        Ok(_) => Ok(Redirect::to(&format!("/admin/organizations/{org}?done=mfa")).into_response()),
        Err(e) => Err(c.error(&parts, e)),
    }
}
