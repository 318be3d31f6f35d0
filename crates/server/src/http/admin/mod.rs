//! The administration console at `/admin/`: server-rendered HTML pages (maud), usable without
//! JavaScript, for requesters with the `admin` privilege.
//!
//! Authentication is the API's session: the same `sessionid`/`csrftoken` cookies and session
//! table, started by the same code as `POST /api/auth/login`. Forms carry the CSRF token in a
//! hidden `csrfmiddlewaretoken` field, compared with the `csrftoken` cookie in constant time
//! (Django's rule for forms). Every action parses its form with the API's parsers and calls
//! the domain operation the API handler calls (`service::users::update`,
//! `service::orgs::change_role`, ...), so permissions, validation and the last-admin guard are
//! the API's own; a `DomainError` becomes form errors next to the fields (`form_failure`).
// Page handlers return `Result<_, Response>`: the error side is the finished error page.
#![allow(clippy::result_large_err)]

mod login;
mod mail;
mod org_mfa;
mod orgs;
pub(crate) mod security;
mod user_mfa;
mod user_origin;
mod user_page;
mod user_sessions;
mod user_status;
mod users;

use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use maud::{html, Markup, DOCTYPE};
use serde_json::{Map, Value};

use super::extract::RawBody;
use super::links;
use crate::auth::{self, cookies};
use crate::error::{ApiError, NO_PERMISSION};
use crate::http::extract::PathId;
use crate::service::{DomainError, OrgContext, Requester};
use crate::state::{AppState, SharedState};
use crate::validate::FieldErrors;

const CSS: &str = include_str!("admin.css");

/// The hidden form field that carries the CSRF token (Django's name).
pub const CSRF_FIELD: &str = "csrfmiddlewaretoken";

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(|| async { Redirect::to("/admin/users") }))
        .route("/admin/static/admin.css", get(css))
        .merge(login::router())
        .merge(security::router())
        .merge(users::router())
        .merge(orgs::router())
        .merge(mail::router())
}

async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        CSS,
    )
        .into_response()
}

/// A signed-in administrator and the CSRF token its forms carry.
pub struct Console {
    pub req: Requester,
    pub csrf: String,
}

type PageResult = Result<Response, Response>;

/// The requester of a console page: redirected to the log-in page without a session, refused
/// (403) without the `admin` privilege.
async fn console(state: &AppState, parts: &Parts) -> Result<Console, Response> {
    let identity = auth::session_identity(state, parts)
        .await
        .map_err(|e| error_page(None, parts, e))?;
    let Some(identity) = identity else {
        let path_and_query = parts
            .uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/admin/");
        let next = if parts.method == axum::http::Method::GET {
            path_and_query
        } else {
            "/admin/"
        };
        let mut q = form_urlencoded::Serializer::new(String::new());
        q.append_pair("next", next);
        return Err(Redirect::to(&format!("/admin/login?{}", q.finish())).into_response());
    };
    // The console acts as an API request without an organization selector would.
    let req = Requester::new(identity, OrgContext::Sandbox)
        .with_origin(crate::request::audit_origin(parts));
    let csrf = cookies::csrf_token_for(parts);
    if !req.can_use_console() {
        return Err(refusal(parts, &req.user.username, &csrf));
    }
    Ok(Console { req, csrf })
}

impl Console {
    /// The form body of a POST, CSRF-checked, without the token field.
    async fn form(&self, parts: &Parts, body: RawBody) -> Result<Map<String, Value>, Response> {
        form(parts, body, Some(self)).await
    }

    fn page(&self, parts: &Parts, status: StatusCode, title: &str, body: Markup) -> Response {
        html_response(status, &self.csrf, layout(title, Some(self), parts, body))
    }

    /// A page for an error no form field owns.
    fn error(&self, parts: &Parts, e: impl Into<ApiError>) -> Response {
        error_page(Some(self), parts, e.into())
    }

    /// The `{id}` of the path (an error page when it is not an integer).
    fn id(&self, parts: &Parts, id: Result<PathId, ApiError>) -> Result<i64, Response> {
        id.map(|id| id.0).map_err(|e| self.error(parts, e))
    }

    /// A failed action as the errors of its form: field errors stay with their fields, refusals
    /// (409 last admin, 403, 429, rule violations) become a form-level message, with the status
    /// the API would answer. Anything else (not found, internal) is an error page.
    fn form_failure(
        &self,
        parts: &Parts,
        e: DomainError,
    ) -> Result<(StatusCode, FieldErrors), Response> {
        let form_level =
            |status, msg: String| Ok((status, vec![("non_field_errors".into(), vec![msg])]));
        match e {
            DomainError::Invalid(fields) => Ok((StatusCode::BAD_REQUEST, fields)),
            DomainError::Refused(msg) => form_level(StatusCode::BAD_REQUEST, msg),
            DomainError::RefusedText(msg) => form_level(StatusCode::BAD_REQUEST, msg.into()),
            DomainError::Conflict(msg) => form_level(StatusCode::CONFLICT, msg),
            DomainError::Forbidden => form_level(StatusCode::FORBIDDEN, NO_PERMISSION.into()),
            DomainError::Throttled { detail, .. } => {
                form_level(StatusCode::TOO_MANY_REQUESTS, detail)
            }
            DomainError::Mfa(e) => {
                match crate::error::ApiError::from(DomainError::Mfa(e.clone())) {
                    ApiError::Coded { status, .. } => form_level(status, e.to_string()),
                    _ => form_level(StatusCode::BAD_REQUEST, e.to_string()),
                }
            }
            other => Err(self.error(parts, other)),
        }
    }
}

/// Parses a form body and checks its CSRF token against the cookie.
async fn form(
    parts: &Parts,
    body: RawBody,
    console: Option<&Console>,
) -> Result<Map<String, Value>, Response> {
    let mut form = body
        .parse_object()
        .await
        .map_err(|e| error_page(console, parts, e))?;
    let token = match form.remove(CSRF_FIELD) {
        Some(Value::String(t)) => t,
        _ => String::new(),
    };
    auth::check_csrf_token(parts, &token).map_err(|e| error_page(console, parts, e))?;
    Ok(form)
}

/// An HTML response with the console's headers; (re)sets the CSRF cookie the forms rely on.
fn html_response(status: StatusCode, csrf: &str, markup: Markup) -> Response {
    let mut r = (status, markup).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.append(header::SET_COOKIE, cookies::csrf_cookie(csrf));
    r
}

fn layout(title: &str, console: Option<&Console>, parts: &Parts, body: Markup) -> Markup {
    let path = parts.uri.path();
    let section = |prefix: &str| path.starts_with(prefix);
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · CVAT administration" }
                link rel="stylesheet" href="/admin/static/admin.css";
            }
            body {
                header.top {
                    a.brand href="/admin/" { "CVAT administration" }
                    nav {
                        @if console.is_some() {
                            a.current[section("/admin/users")] href="/admin/users" { "Users" }
                            a.current[section("/admin/organizations") || section("/admin/memberships")]
                                href="/admin/organizations" { "Organizations" }
                            a.current[section("/admin/mail")] href="/admin/mail" { "Mail" }
                            a.current[section("/admin/security")] href="/admin/security" { "Your security" }
                        }
                    }
                    @if let Some(c) = console {
                        div.who {
                            span { "Signed in as " strong #whoami { (c.req.user.username) } }
                            form method="post" action="/admin/logout" {
                                (csrf_input(&c.csrf))
                                button.link type="submit" #logout { "Log out" }
                            }
                        }
                    }
                }
                main.narrow[console.is_none()] { (body) }
            }
        }
    }
}

fn csrf_input(token: &str) -> Markup {
    html! { input type="hidden" name=(CSRF_FIELD) value=(token); }
}

/// Status and message of an API error, as the page shows them.
fn describe(e: ApiError) -> (StatusCode, String) {
    match e {
        ApiError::Detail(status, msg) => (status, msg),
        ApiError::Unauthorized(msg) => (StatusCode::UNAUTHORIZED, msg),
        ApiError::Fields(fields) => (
            StatusCode::BAD_REQUEST,
            fields
                .into_iter()
                .map(|(k, m)| format!("{k}: {}", m.join(" ")))
                .collect::<Vec<_>>()
                .join("; "),
        ),
        ApiError::List(msgs) => (StatusCode::BAD_REQUEST, msgs.join(" ")),
        ApiError::Text(msg) => (StatusCode::BAD_REQUEST, msg),
        ApiError::Throttled { detail, .. } => (StatusCode::TOO_MANY_REQUESTS, detail),
        ApiError::Coded { status, body, .. } => (
            status,
            body.get("detail")
                .and_then(|d| d.as_str())
                .unwrap_or_default()
                .to_string(),
        ),
        ApiError::NoRoute => (StatusCode::NOT_FOUND, "Not found.".into()),
        ApiError::Internal(e) => {
            tracing::error!(error = %format!("{e:#}"), "internal error");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "A server error occurred.".into(),
            )
        }
    }
}

/// A page for an error that no form field owns (404, 403, CSRF failures, 500).
fn error_page(console: Option<&Console>, parts: &Parts, e: ApiError) -> Response {
    let (status, msg) = describe(e);
    let title = status.canonical_reason().unwrap_or("Error");
    let csrf = console
        .map(|c| c.csrf.clone())
        .unwrap_or_else(|| cookies::csrf_token_for(parts));
    let body = html! {
        div.card {
            h1 { (status.as_u16()) " " (title) }
            p.msg.error #error { (msg) }
            p { a href="/admin/" { "Back to the console" } }
        }
    };
    html_response(status, &csrf, layout(title, console, parts, body))
}

/// 403 for a signed-in user without the `admin` privilege.
fn refusal(parts: &Parts, username: &str, csrf: &str) -> Response {
    let body = html! {
        div.card #refused {
            h1 { "Access denied" }
            p.msg.error {
                "You are signed in as " strong { (username) } ", who does not have the admin privilege. "
                "Only administrators can use this console."
            }
            form method="post" action="/admin/logout" {
                (csrf_input(csrf))
                button.secondary type="submit" { "Log out and sign in as someone else" }
            }
        }
    };
    html_response(
        StatusCode::FORBIDDEN,
        csrf,
        layout("Access denied", None, parts, body),
    )
}

/// The messages of field `name` in `errors`.
fn errors_of<'a>(errors: &'a FieldErrors, name: &str) -> Vec<&'a str> {
    errors
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, m)| m.iter().map(String::as_str))
        .collect()
}

/// A labelled text input with its errors under it.
fn text_field(
    label: &str,
    name: &str,
    kind: &str,
    value: &str,
    errors: &FieldErrors,
    autocomplete: &str,
) -> Markup {
    let errs = errors_of(errors, name);
    html! {
        div.field.has-error[!errs.is_empty()] data-field=(name) {
            label for=(name) { (label) }
            input type=(kind) id=(name) name=(name) value=(value) autocomplete=(autocomplete)
                aria-invalid=[(!errs.is_empty()).then_some("true")];
            @for e in &errs { p.error { (e) } }
        }
    }
}

/// Errors that belong to no field of the form (`non_field_errors`, 409s, 403s).
fn form_errors(errors: &FieldErrors, fields: &[&str]) -> Markup {
    let other: Vec<&str> = errors
        .iter()
        .filter(|(k, _)| !fields.contains(&k.as_str()))
        .flat_map(|(_, m)| m.iter().map(String::as_str))
        .collect();
    html! {
        @for e in other { p.msg.error.form-error { (e) } }
    }
}

/// A same-site console path to return to after logging in.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with("/admin/")
                // Goes into a `Location` header: visible ASCII only (CR/LF would split it).
                && n.bytes().all(|b| b.is_ascii_graphic())
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with("/admin/login") =>
        {
            n.to_string()
        }
        _ => "/admin/users".into(),
    }
}

/// The last value of `key` in the request's query.
fn query(parts: &Parts, key: &str) -> Option<String> {
    links::query_value(parts, key)
}

/// Date-times in the tables: UTC, to the minute.
fn when(micros: Option<i64>) -> String {
    match micros.and_then(chrono::DateTime::from_timestamp_micros) {
        Some(t) => t.format("%Y-%m-%d %H:%M").to_string(),
        None => "never".into(),
    }
}
