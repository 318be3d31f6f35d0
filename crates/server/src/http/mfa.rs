//! The TOTP second factor over HTTP (`../shared/spec/sso-and-mfa.md` §4.2–§4.7): login step two,
//! the user's own management under `/api/auth/mfa`, and `GET`/`DELETE /api/users/{id}/mfa`.
//! Thin: bodies are parsed here, the rules are `service::mfa`'s. `login_factor` is the one call
//! the password login makes into this module.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use cvat_proto as proto;
use serde_json::{Map, Value};

use super::extract::{MaybeIdentity, PathId, RawBody};
use super::views;
use crate::auth::{self, AuthMethod};
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::service::mfa::{self, Factor, LoginFactor, MfaError, MfaStatus};
use crate::service::{AuditEvent, Requester, UserId};
use crate::state::{AppState, SharedState};
use crate::store::UserRecord;

pub fn router() -> Router<SharedState> {
    let na = super::method_not_allowed;
    Router::new()
        .route("/api/auth/login/mfa", post(login_step_two).fallback(na))
        .route("/api/auth/mfa", get(own_status).fallback(na))
        .route("/api/auth/mfa/totp/setup", post(setup).fallback(na))
        .route("/api/auth/mfa/totp/confirm", post(confirm).fallback(na))
        .route("/api/auth/mfa/totp/disable", post(disable).fallback(na))
        .route(
            "/api/auth/mfa/recovery-codes",
            post(recovery_codes).fallback(na),
        )
        .route(
            "/api/users/{id}/mfa",
            get(user_status).delete(user_reset).fallback(na),
        )
}

fn invalid(msg: &str) -> ApiError {
    ApiError::from(crate::service::DomainError::from(MfaError::InvalidRequest(
        msg.into(),
    )))
}

fn mfa_err(e: MfaError) -> ApiError {
    ApiError::from(crate::service::DomainError::from(e))
}

/// An optional string member; anything but a string (or null) is a 400 `invalid_request`.
fn opt_str(body: &Map<String, Value>, key: &str) -> ApiResult<Option<String>> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(&format!("`{key}` must be a string."))),
    }
}

fn required_str(body: &Map<String, Value>, key: &str) -> ApiResult<String> {
    opt_str(body, key)?
        .filter(|s| !s.is_empty())
        .ok_or_else(|| invalid(&format!("`{key}` is required.")))
}

/// `code` or `recovery_code`, at most one of them.
fn factor_of(body: &Map<String, Value>) -> ApiResult<Option<Factor>> {
    match (opt_str(body, "code")?, opt_str(body, "recovery_code")?) {
        (Some(_), Some(_)) => Err(invalid("Send exactly one of `code` and `recovery_code`.")),
        (Some(c), None) => Ok(Some(Factor::Code(c))),
        (None, Some(r)) => Ok(Some(Factor::Recovery(r))),
        (None, None) => Ok(None),
    }
}

/// The second factor of `POST /api/auth/login` (§4.3 step 6), after the password checked out:
/// nothing for users without TOTP; for enrolled users the `code`/`recovery_code` sent along,
/// or else the 401 `mfa_required` with a step-two ticket.
pub(crate) async fn login_factor(
    state: &AppState,
    body: &Map<String, Value>,
    user: &UserRecord,
) -> ApiResult<()> {
    let factor = factor_of(body)?;
    mfa::login_factor(state, user, factor.as_ref()).await?;
    Ok(())
}

/// `POST /api/auth/login/mfa`: the ticket and a code (or recovery code) → exactly a login's
/// answer: a new token key, session and CSRF cookies, `last_login`.
async fn login_step_two(
    State(state): State<SharedState>,
    MaybeIdentity(_): MaybeIdentity,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let ticket = opt_str(&body, "mfa_token")?.unwrap_or_default();
    let factor = factor_of(&body)?
        .ok_or_else(|| invalid("Send exactly one of `code` and `recovery_code`."))?;
    if ticket.is_empty() {
        return Err(mfa_err(MfaError::TicketInvalid));
    }
    let (user, passed) = mfa::complete_login(&state, &ticket, &factor).await?;
    let key = auth::new_token_key();
    state
        .db
        .create_token(
            user.id,
            &key,
            &crate::request::credential_origin(&parts),
            Some(&super::auth::login_event(&parts, &user, "password+totp")),
        )
        .await?;
    let headers = super::auth::start_session(&state, &parts, &user, None).await?;
    tracing::info!(user_id = user.id, "login (second factor)");
    let recovery_codes_remaining = match passed {
        LoginFactor::Passed { recovery_remaining } => recovery_remaining,
        LoginFactor::NotEnrolled => None,
    };
    let answer = proto::MfaLogin {
        key,
        recovery_codes_remaining,
    };
    Ok((headers, cvat_json(StatusCode::OK, &answer)).into_response())
}

fn status_view(s: &MfaStatus, session_mfa: Option<bool>) -> proto::MfaStatus {
    proto::MfaStatus {
        totp: proto::TotpStatus {
            enabled: s.enabled,
            confirmed_date: s.confirmed_date.map(views::datetime),
            last_used_date: s.last_used_date.map(views::datetime),
        },
        recovery_codes: proto::RecoveryCodesStatus {
            total: s.recovery_total,
            remaining: s.recovery_remaining,
            generated_date: s.recovery_generated_date.map(views::datetime),
        },
        required: s.required,
        required_by: s.required_by.clone(),
        enrollment_deadline: s.enrollment_deadline.map(views::datetime),
        session_mfa,
    }
}

/// `GET /api/auth/mfa`. Enabling the factor revokes every session and token, and only a login
/// with both factors makes new ones, so an enrolled user's session, Token or Basic request
/// (which needs `X-CVAT-OTP`) passed the factor.
async fn own_status(State(state): State<SharedState>, req: Requester) -> ApiResult<Response> {
    let status = mfa::status(&state, req.id()).await?;
    let credential_passed = matches!(
        req.method,
        AuthMethod::Session { .. } | AuthMethod::Token { .. } | AuthMethod::Basic
    );
    let view = status_view(&status, Some(status.enabled && credential_passed));
    Ok(cvat_json(StatusCode::OK, &view))
}

/// The password of a management request, checked like a login of the account (429 while it is
/// locked; a wrong one counts): 400 `password_invalid` when wrong.
async fn reauthenticate(
    state: &AppState,
    parts: &Parts,
    req: &Requester,
    body: &Map<String, Value>,
) -> ApiResult<()> {
    mfa::require_management_credentials(&req.method)?;
    let password = required_str(body, "password")?;
    if !auth::verify_user_password(state, parts, &req.user, &password).await? {
        return Err(mfa_err(MfaError::PasswordInvalid));
    }
    Ok(())
}

async fn setup(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    reauthenticate(&state, &parts, &req, &body).await?;
    let s = mfa::setup(&state, &req.user).await?;
    let answer = proto::TotpSetup {
        secret: s.secret,
        otpauth_url: s.otpauth_url,
        algorithm: "SHA1".into(),
        digits: mfa::secrets::DIGITS as i64,
        period: mfa::secrets::PERIOD as i64,
        expires_in: s.expires_in,
        qr_svg: s.qr_svg,
    };
    Ok(cvat_json(StatusCode::OK, &answer))
}

/// Enables the factor with a first code. Every other session and token of the user is revoked
/// (they were made with the password alone); the answer carries a new key and session, as a
/// login with both factors would.
async fn confirm(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    mfa::require_management_credentials(&req.method)?;
    let body = body.parse_object().await?;
    let code = required_str(&body, "code")?;
    let who = AuditEvent::by(&req, "");
    let recovery_codes = mfa::confirm(&state, &req.user, &code, who).await?;
    let key = auth::new_token_key();
    state
        .db
        .create_token(
            req.id(),
            &key,
            &crate::request::credential_origin(&parts),
            None,
        )
        .await?;
    let headers = super::auth::start_session(&state, &parts, &req.user, None).await?;
    let answer = proto::TotpConfirmed {
        recovery_codes,
        key,
    };
    Ok((headers, cvat_json(StatusCode::OK, &answer)).into_response())
}

async fn disable(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let factor = factor_of(&body)?;
    reauthenticate(&state, &parts, &req, &body).await?;
    let factor = factor.ok_or_else(|| invalid("Send `code` or `recovery_code`."))?;
    mfa::disable(&state, &req.user, &factor, AuditEvent::by(&req, "")).await?;
    Ok(views::detail_ok(
        "Two-factor authentication has been disabled.",
    ))
}

async fn recovery_codes(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
    body: RawBody,
) -> ApiResult<Response> {
    let body = body.parse_object().await?;
    let code = opt_str(&body, "code")?;
    reauthenticate(&state, &parts, &req, &body).await?;
    let code = code.ok_or_else(|| invalid("`code` is required."))?;
    let who = AuditEvent::by(&req, "");
    let recovery_codes = mfa::regenerate_recovery_codes(&state, &req.user, &code, who).await?;
    Ok(cvat_json(
        StatusCode::OK,
        &proto::RecoveryCodes { recovery_codes },
    ))
}

async fn user_status(
    State(state): State<SharedState>,
    req: Requester,
    id: Result<PathId, ApiError>,
) -> ApiResult<Response> {
    let PathId(id) = id?;
    let status = mfa::status_of(&state, &req, UserId(id)).await?;
    Ok(cvat_json(StatusCode::OK, &status_view(&status, None)))
}

/// `DELETE /api/users/{id}/mfa`: an administrator's reset; 204.
async fn user_reset(
    State(state): State<SharedState>,
    req: Requester,
    id: Result<PathId, ApiError>,
) -> ApiResult<Response> {
    let PathId(id) = id?;
    mfa::admin_reset(&state, &req, UserId(id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
