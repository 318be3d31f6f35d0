//! Log in and log out: the API's password check (throttling included) and session.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use maud::html;
use serde_json::Value;

use super::{csrf_input, error_page, form, html_response, layout, query, safe_next, PageResult};
use crate::auth::{self, cookies, AuthMethod};
use crate::http::auth::start_session;
use crate::http::extract::RawBody;
use crate::permissions::{OrgContext, Requester};
use crate::service::mfa::{self, Factor, MfaError};
use crate::service::DomainError;
use crate::state::{AppState, SharedState};

pub fn router() -> axum::Router<SharedState> {
    Router::new()
        .route("/admin/login", get(login_page).post(login))
        .route("/admin/logout", post(logout))
}

pub const BAD_CREDENTIALS: &str =
    "Please enter the correct username and password. Note that both fields may be case-sensitive.";

/// The sign-in form; `ask_code` adds the second factor's field (an account with TOTP).
fn login_form(
    state: &AppState,
    parts: &Parts,
    username: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    login_form_with(state, parts, username, next, error, status, false)
}

fn login_form_with(
    state: &AppState,
    parts: &Parts,
    username: &str,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
    ask_code: bool,
) -> Response {
    let csrf = cookies::csrf_token_for(parts);
    let body = html! {
        div.card {
            h1 { "Sign in" }
            p.sub { "CVAT administration (accounts with the admin privilege), and your own security page." }
            br;
            @if let Some(e) = error { p.msg.error #login-error { (e) } }
            form method="post" action="/admin/login" {
                (csrf_input(&csrf))
                input type="hidden" name="next" value=(next);
                div.field {
                    label for="username" { "Username or e-mail" }
                    input type="text" id="username" name="username" value=(username)
                        autocomplete="username" required autofocus;
                }
                div.field {
                    label for="password" { "Password" }
                    input type="password" id="password" name="password"
                        autocomplete="current-password" required;
                }
                @if ask_code {
                    div.field {
                        label for="code" { "Two-factor code (or a recovery code)" }
                        input type="text" id="code" name="code" autocomplete="one-time-code" required;
                    }
                }
                button type="submit" #sign-in { "Sign in" }
            }
            (crate::http::oidc::sign_in_buttons(state, next))
        }
    };
    html_response(status, &csrf, layout("Sign in", None, parts, body))
}

async fn login_page(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let next = safe_next(query(&parts, "next").as_deref());
    // Already signed in as an administrator: straight on.
    if let Ok(Some(identity)) = auth::session_identity(&state, &parts).await {
        if Requester::new(identity, OrgContext::Sandbox).can_use_console() {
            return Ok(Redirect::to(&next).into_response());
        }
    }
    Ok(login_form(&state, &parts, "", &next, None, StatusCode::OK))
}

async fn login(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    let form = form(&parts, body, None).await?;
    let text = |k: &str| match form.get(k) {
        Some(Value::String(s)) => s.clone(),
        _ => String::new(),
    };
    let (username, password) = (text("username"), text("password"));
    let next = safe_next(Some(text("next").as_str()));
    if username.trim().is_empty() || password.is_empty() {
        return Ok(login_form(
            &state,
            &parts,
            &username,
            &next,
            Some(BAD_CREDENTIALS),
            StatusCode::BAD_REQUEST,
        ));
    }
    let user = match auth::check_password_login(&state, &parts, username.trim(), &password).await {
        Ok(Some(user)) => user,
        Ok(None) => {
            return Ok(login_form(
                &state,
                &parts,
                &username,
                &next,
                Some(BAD_CREDENTIALS),
                StatusCode::BAD_REQUEST,
            ))
        }
        Err(crate::error::ApiError::Throttled { detail, .. }) => {
            return Ok(login_form(
                &state,
                &parts,
                &username,
                &next,
                Some(&detail),
                StatusCode::TOO_MANY_REQUESTS,
            ))
        }
        Err(e) => return Err(error_page(None, &parts, e)),
    };
    let requester = Requester::new(
        auth::Identity {
            user: user.clone(),
            method: AuthMethod::Basic,
        },
        OrgContext::Sandbox,
    );
    // An account with TOTP signs in with a code too, as at `POST /api/auth/login`.
    let code = text("code");
    let factor = match code.trim() {
        "" => None,
        c if c.contains('-') || c.len() > 8 => Some(Factor::Recovery(c.to_string())),
        c => Some(Factor::Code(c.to_string())),
    };
    let refused = |msg: &str, status| {
        login_form_with(&state, &parts, &username, &next, Some(msg), status, true)
    };
    match mfa::login_factor(&state, &user, factor.as_ref()).await {
        Ok(_) => {}
        Err(DomainError::Mfa(MfaError::Required { .. })) => {
            return Ok(refused(
                "Enter the code your authenticator app shows.",
                StatusCode::UNAUTHORIZED,
            ))
        }
        Err(DomainError::Mfa(e @ (MfaError::CodeInvalid { .. } | MfaError::Locked { .. }))) => {
            let status = match e {
                MfaError::Locked { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::BAD_REQUEST,
            };
            return Ok(refused(&e.to_string(), status));
        }
        Err(e) => return Err(error_page(None, &parts, e.into())),
    }
    // Everyone may reach their own security page; the rest of the console is for admins.
    if !requester.can_use_console() && !next.starts_with(super::security::HOME) {
        // No session for someone the console would refuse anyway.
        return Err(super::refusal(
            &parts,
            &user.username,
            &cookies::csrf_token_for(&parts),
        ));
    }
    let ev = crate::http::auth::login_event(&parts, &user, "console");
    let headers = start_session(&state, &parts, &user, Some(&ev))
        .await
        .map_err(|e| error_page(None, &parts, e))?;
    tracing::info!(user_id = user.id, "console login");
    Ok((headers, Redirect::to(&next)).into_response())
}

async fn logout(State(state): State<SharedState>, parts: Parts, body: RawBody) -> PageResult {
    form(&parts, body, None).await?;
    if let Some(key) = cookies::request_cookie(&parts, cookies::SESSION_COOKIE) {
        state
            .db
            .delete_session(&key)
            .await
            .map_err(|e| error_page(None, &parts, e.into()))?;
    }
    let mut r = Redirect::to("/admin/login").into_response();
    r.headers_mut()
        .append(header::SET_COOKIE, cookies::clear_session_cookie());
    Ok(r)
}
