//! Your own security page, for every user with a session (not only administrators): the second
//! factor's status, enrolment (the secret, its `otpauth://` URI and the QR code, then a first
//! code), the recovery codes (shown once), disabling and new codes. The operations are the
//! API's (`service::mfa`); management asks for the password again, as `/api/auth/mfa/*` does.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::{html, Markup, PreEscaped};
use serde_json::{Map, Value};

use super::{csrf_input, error_page, form, html_response, layout, when, PageResult};
use crate::auth::{self, cookies};
use crate::http::auth::start_session;
use crate::http::extract::RawBody;
use crate::service::mfa::{self, Factor, MfaError};
use crate::service::{AuditEvent, DomainError};
use crate::state::{AppState, SharedState};
use crate::store::UserRecord;

/// The page's path; sign-in sends anyone here when asked to (`login`).
pub const HOME: &str = "/admin/security";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/security", get(show))
        .route("/admin/security/setup", post(setup))
        .route("/admin/security/confirm", post(confirm))
        .route("/admin/security/disable", post(disable))
        .route("/admin/security/recovery-codes", post(recovery_codes))
}

/// The signed-in user, or the sign-in page that leads back here.
async fn user_of(state: &AppState, parts: &Parts) -> Result<UserRecord, Response> {
    match auth::session_identity(state, parts).await {
        Ok(Some(identity)) => Ok(identity.user),
        Ok(None) => Err(Redirect::to("/admin/login?next=%2Fadmin%2Fsecurity").into_response()),
        Err(e) => Err(error_page(None, parts, e)),
    }
}

/// The user and the CSRF-checked form of a POST.
async fn posted(
    state: &AppState,
    parts: &Parts,
    body: RawBody,
) -> Result<(UserRecord, Map<String, Value>), Response> {
    let user = user_of(state, parts).await?;
    let form = form(parts, body, None).await?;
    Ok((user, form))
}

fn text(form: &Map<String, Value>, key: &str) -> String {
    form.get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string()
}

fn page(parts: &Parts, status: StatusCode, body: Markup) -> Response {
    let csrf = cookies::csrf_token_for(parts);
    html_response(status, &csrf, layout("Your security", None, parts, body))
}

/// What a refusal shows, and with which status.
fn refusal(e: DomainError) -> (StatusCode, String) {
    match e {
        DomainError::Mfa(MfaError::Locked { .. }) => (StatusCode::TOO_MANY_REQUESTS, e.to_string()),
        DomainError::Mfa(m) => (StatusCode::BAD_REQUEST, m.to_string()),
        other => (StatusCode::BAD_REQUEST, other.messages()),
    }
}

/// The page: status, then the forms that fit it; `extra` (a setup or new codes) on top.
async fn render(
    state: &AppState,
    parts: &Parts,
    user: &UserRecord,
    status: StatusCode,
    message: Option<(bool, String)>,
    extra: Option<Markup>,
) -> PageResult {
    let s = mfa::status(state, user.id)
        .await
        .map_err(|e| error_page(None, parts, e.into()))?;
    let csrf = cookies::csrf_token_for(parts);
    let password = html! {
        div.field { label for="password" { "Your password" }
            input type="password" id="password" name="password" autocomplete="current-password" required; }
    };
    let code = html! {
        div.field { label for="code" { "A code from your app" }
            input type="text" id="code" name="code" autocomplete="one-time-code" required; }
    };
    let body = html! {
        div.card #security {
            h1 { "Two-factor authentication" }
            p.sub { "Signed in as " strong { (user.username) } }
            @if let Some((ok, m)) = &message { p.msg.ok[*ok].error[!*ok] #security-msg { (m) } }
            @if let Some(x) = &extra { (x) }
            dl.facts {
                dt { "TOTP" } dd #totp-state { @if s.enabled { "on since " (when(s.confirmed_date)) " UTC" } @else { "off" } }
                @if s.enabled { dt { "Recovery codes" } dd { (s.recovery_remaining) " of " (s.recovery_total) " left" } }
                @if let Some(d) = s.enrollment_deadline { dt { "Required by" } dd { (s.required_by.join(", ")) ", enrol before " (when(Some(d))) " UTC" } }
            }
            @if !s.enabled {
                h2 { "Turn it on" }
                form method="post" action="/admin/security/setup" { (csrf_input(&csrf)) (password)
                    button type="submit" #start-setup { "Start" } }
            } @else {
                h2 { "New recovery codes" }
                form method="post" action="/admin/security/recovery-codes" { (csrf_input(&csrf)) (password) (code)
                    button.secondary type="submit" #new-codes { "Replace the recovery codes" } }
                h2 { "Turn it off" }
                form method="post" action="/admin/security/disable" { (csrf_input(&csrf)) (password) (code)
                    button.secondary type="submit" #disable-mfa { "Turn off" } }
            }
        }
    };
    Ok(page(parts, status, body))
}

fn codes_markup(codes: &[String]) -> Markup {
    html! {
        div #recovery-codes {
            p { "Your recovery codes, shown only now: each works once, keep them somewhere safe." }
            ul { @for c in codes { li { code { (c) } } } }
        }
    }
}

async fn show(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let user = user_of(&state, &parts).await?;
    render(&state, &parts, &user, StatusCode::OK, None, None).await
}

/// The password again (throttled like a login): `Ok(false)` when wrong.
async fn password_ok(
    state: &AppState,
    parts: &Parts,
    user: &UserRecord,
    form: &Map<String, Value>,
) -> Result<bool, Response> {
    auth::verify_user_password(state, parts, user, &text(form, "password"))
        .await
        .map_err(|e| error_page(None, parts, e))
}

const WRONG_PASSWORD: &str = "The password is incorrect.";

async fn setup(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let (user, form) = posted(&state, &parts, body).await?;
    if !password_ok(&state, &parts, &user, &form).await? {
        let m = Some((false, WRONG_PASSWORD.to_string()));
        return render(&state, &parts, &user, StatusCode::BAD_REQUEST, m, None).await;
    }
    let s = match mfa::setup(&state, &user).await {
        Ok(s) => s,
        Err(e) => {
            let (status, m) = refusal(e);
            return render(&state, &parts, &user, status, Some((false, m)), None).await;
        }
    };
    let csrf = cookies::csrf_token_for(&parts);
    let extra = html! {
        div #setup {
            p { "Scan the code with your authenticator app (or type the secret), then enter the code it shows." }
            div.qr { (PreEscaped(&s.qr_svg)) }
            p { "Secret: " code #totp-secret { (s.secret) } }
            p.sub { code #otpauth { (s.otpauth_url) } }
            form method="post" action="/admin/security/confirm" {
                (csrf_input(&csrf))
                div.field { label for="confirm-code" { "The code your app shows" }
                    input type="text" id="confirm-code" name="code" autocomplete="one-time-code" required; }
                button type="submit" #confirm-setup { "Turn on" }
            }
        }
    };
    render(&state, &parts, &user, StatusCode::OK, None, Some(extra)).await
}

/// The console's user acting on its own factor, for the audit event.
fn who(parts: &Parts, user: &UserRecord) -> AuditEvent {
    AuditEvent::new("", &crate::request::audit_origin(parts)).actor(user, "console")
}

/// The first code turns the factor on. That signs out every session, this one too, so the
/// answer brings a new session (as `/api/auth/mfa/totp/confirm` does).
async fn confirm(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let (user, form) = posted(&state, &parts, body).await?;
    let codes = match mfa::confirm(&state, &user, &text(&form, "code"), who(&parts, &user)).await {
        Ok(codes) => codes,
        Err(e) => {
            let (status, m) = refusal(e);
            return render(&state, &parts, &user, status, Some((false, m)), None).await;
        }
    };
    let headers = start_session(&state, &parts, &user, None)
        .await
        .map_err(|e| error_page(None, &parts, e))?;
    let done = Some((true, "Two-factor authentication is on.".to_string()));
    let page = render(
        &state,
        &parts,
        &user,
        StatusCode::OK,
        done,
        Some(codes_markup(&codes)),
    )
    .await?;
    Ok((headers, page).into_response())
}

async fn disable(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let (user, form) = posted(&state, &parts, body).await?;
    let result = match password_ok(&state, &parts, &user, &form).await? {
        false => Err((StatusCode::BAD_REQUEST, WRONG_PASSWORD.to_string())),
        true => mfa::disable(
            &state,
            &user,
            &Factor::Code(text(&form, "code")),
            who(&parts, &user),
        )
        .await
        .map_err(refusal),
    };
    let (status, message) = match result {
        Ok(()) => (
            StatusCode::OK,
            (true, "Two-factor authentication is off.".to_string()),
        ),
        Err((status, m)) => (status, (false, m)),
    };
    render(&state, &parts, &user, status, Some(message), None).await
}

async fn recovery_codes(
    State(state): State<SharedState>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let (user, form) = posted(&state, &parts, body).await?;
    let result = match password_ok(&state, &parts, &user, &form).await? {
        false => Err((StatusCode::BAD_REQUEST, WRONG_PASSWORD.to_string())),
        true => {
            mfa::regenerate_recovery_codes(&state, &user, &text(&form, "code"), who(&parts, &user))
                .await
                .map_err(refusal)
        }
    };
    match result {
        Ok(codes) => {
            render(
                &state,
                &parts,
                &user,
                StatusCode::OK,
                None,
                Some(codes_markup(&codes)),
            )
            .await
        }
        Err((status, m)) => render(&state, &parts, &user, status, Some((false, m)), None).await,
    }
}
