//! `GET`/`PATCH /api/organizations/{id}/mfa-policy`: whether an organization requires TOTP of
//! its members, and their grace period (sso-and-mfa §4.8; the rules in `service::orgs`, the
//! gate in `http::extract`).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use cvat_proto::OrganizationMfaPolicy;
use serde_json::{Map, Value};

use super::extract::{PathId, RawBody};
use super::views;
use crate::error::{cvat_json, ApiResult};
use crate::service::orgs::{self, OrgMfaPolicy};
use crate::service::{DomainError, OrgId, Requester};
use crate::state::SharedState;
use crate::validate::{self, FieldErrors};

pub fn router() -> Router<SharedState> {
    Router::new().route(
        "/api/organizations/{id}/mfa-policy",
        get(show).patch(change).fallback(super::method_not_allowed),
    )
}

fn view(p: &OrgMfaPolicy) -> Response {
    let body = OrganizationMfaPolicy {
        require_mfa: p.required_since.is_some(),
        grace_period_hours: p.grace_period_hours,
        enabled_date: p.required_since.map(views::datetime),
    };
    cvat_json(StatusCode::OK, &body)
}

async fn show(State(state): State<SharedState>, req: Requester, id: PathId) -> ApiResult<Response> {
    Ok(view(&orgs::mfa_policy(&state.db, &req, OrgId(id.0)).await?))
}

/// DRF's `IntegerField(min_value=0, max_value=8760)`.
fn grace_hours(v: &Value) -> Result<i64, Vec<String>> {
    let n = match v {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    };
    match n {
        None => Err(vec!["A valid integer is required.".into()]),
        Some(n) if n < 0 => Err(vec![
            "Ensure this value is greater than or equal to 0.".into()
        ]),
        Some(n) if n > 8760 => Err(vec![
            "Ensure this value is less than or equal to 8760.".into()
        ]),
        Some(n) => Ok(n),
    }
}

/// The body's `require_mfa` and `grace_period_hours` (also the console's form).
pub(crate) fn parse(body: &Map<String, Value>) -> Result<(Option<bool>, Option<i64>), FieldErrors> {
    let mut errors: FieldErrors = Vec::new();
    let require = match body.get("require_mfa").map(validate::bool_field) {
        Some(Err(m)) => {
            errors.push(("require_mfa".into(), m));
            None
        }
        other => other.and_then(Result::ok),
    };
    let grace = match body.get("grace_period_hours").map(grace_hours) {
        Some(Err(m)) => {
            errors.push(("grace_period_hours".into(), m));
            None
        }
        other => other.and_then(Result::ok),
    };
    match errors.is_empty() {
        true => Ok((require, grace)),
        false => Err(errors),
    }
}

async fn change(
    State(state): State<SharedState>,
    req: Requester,
    id: PathId,
    body: RawBody,
) -> ApiResult<Response> {
    let org = OrgId(id.0);
    // 404 and 403 before 400, as everywhere.
    orgs::ensure_can_set_mfa_policy(&state.db, &req, org).await?;
    let body = body.parse_object().await?;
    let (require, grace) = parse(&body).map_err(DomainError::Invalid)?;
    Ok(view(
        &orgs::set_mfa_policy(&state.db, &req, org, require, grace).await?,
    ))
}
