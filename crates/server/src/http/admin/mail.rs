//! The mail queue: the outbox's newest rows by status (pending, sent, failed) with attempts and
//! the last error, and a retry button for pending or failed mail (the same operation as
//! `cvat-server mail retry`). Bodies carry reset links and are never shown.

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::Router;
use maud::html;

use super::{console, csrf_input, error_page, query, when, PageResult};
use crate::error::ApiError;
use crate::http::extract::PathId;
use crate::http::extract::RawBody;
use crate::mail::cli::when as sent_or_next;
use crate::state::SharedState;
use crate::store::MailStatus;

pub fn router() -> Router<SharedState> {
    Router::new()
        .route("/admin/mail", get(list))
        .route("/admin/mail/{id}/retry", post(retry))
}

const ROWS: i64 = 200;

async fn list(State(state): State<SharedState>, parts: Parts) -> PageResult {
    let c = console(&state, &parts).await?;
    let status = query(&parts, "status").and_then(|s| MailStatus::parse(&s));
    let fail = |e: sqlx::Error| error_page(Some(&c), &parts, e.into());
    let rows = state.db.list_mail(status, ROWS).await.map_err(fail)?;
    let counts = state.db.count_mail_by_status().await.map_err(fail)?;
    let backend = if state.mailer.settings.smtp.is_some() {
        "SMTP".to_string()
    } else {
        format!(
            "development backend: files in {}",
            state.mailer.settings.dev_dir.display()
        )
    };
    let body = html! {
        div.heading { h1 { "Mail" } }
        @if query(&parts, "done").as_deref() == Some("retry") {
            p.msg.ok #done { "The mail is queued to be sent again." }
        }
        p.muted #backend { "Outgoing mail goes through: " (backend) }
        nav.filters #mail-status {
            a.button.secondary href="/admin/mail" { "All" }
            @for (s, n) in &counts {
                a.button.secondary href=(format!("/admin/mail?status={}", s.as_str())) data-status=(s.as_str()) {
                    (s.as_str()) " (" (n) ")"
                }
            }
        }
        div.table-wrap {
            table #mail {
                thead { tr {
                    th { "ID" } th { "Status" } th { "Kind" } th { "Recipient" } th { "Subject" }
                    th { "Attempts" } th { "Created" } th { "Sent / next try" } th { "Last error" } th {}
                } }
                tbody {
                    @if rows.is_empty() { tr { td colspan="10" .muted { "No mail." } } }
                    @for m in &rows {
                        tr data-mail=(m.id) data-status=(m.status) {
                            td.num { (m.id) }
                            td { (m.status) }
                            td { (m.mail.kind) }
                            td { (m.mail.recipient) }
                            td { (m.mail.subject) }
                            td.num { (m.attempts) }
                            td { (when(Some(m.created))) }
                            td { (sent_or_next(m)) }
                            td.error { (m.last_error.as_deref().unwrap_or("")) }
                            td {
                                @if m.status != "sent" {
                                    form method="post" action=(format!("/admin/mail/{}/retry", m.id)) {
                                        (csrf_input(&c.csrf))
                                        button.secondary type="submit" { "Retry now" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(c.page(&parts, StatusCode::OK, "Mail", body))
}

async fn retry(
    State(state): State<SharedState>,
    id: Result<PathId, ApiError>,
    parts: Parts,
    body: RawBody,
) -> PageResult {
    let c = console(&state, &parts).await?;
    c.form(&parts, body).await?;
    let id = c.id(&parts, id)?;
    let retried = state
        .db
        .retry_mail(id)
        .await
        .map_err(|e| error_page(Some(&c), &parts, e.into()))?;
    if !retried {
        return Err(error_page(
            Some(&c),
            &parts,
            ApiError::conflict(
                "This mail cannot be retried: it is unknown, being sent right now, or already sent (a sent mail is never sent again).",
            ),
        ));
    }
    state.mailer.queued();
    Ok(Redirect::to("/admin/mail?done=retry").into_response())
}
