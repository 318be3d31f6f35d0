//! `cvat-server mail list|retry`: the outbox for operators. Bodies (reset links) are never
//! printed.

use clap::{Args, Subcommand};

use crate::config::{ConfigFileArg, DatabaseArgs};
use crate::store::{Db, MailStatus, OutboxMail};

#[derive(Debug, Args)]
pub struct MailCommand {
    #[command(flatten)]
    pub config_file: ConfigFileArg,
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(subcommand)]
    pub action: MailAction,
}

#[derive(Debug, Subcommand)]
pub enum MailAction {
    /// The newest mails of the outbox, newest first: status, attempts, last error.
    List {
        /// Only mails with this status.
        #[arg(long, value_parser = ["pending", "sent", "failed"])]
        status: Option<String>,
        /// At most this many mails.
        #[arg(long, default_value_t = 100)]
        limit: i64,
    },
    /// Send a pending or failed mail now, with a fresh count of attempts (a running server
    /// picks it up within seconds). A sent mail is never sent again.
    Retry { id: i64 },
}

/// A time in the outbox's unit (microseconds) as RFC 3339, seconds precision.
pub fn format_time(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// When the row was sent, or when it is next tried.
pub fn when(mail: &OutboxMail) -> String {
    match (mail.status.as_str(), mail.sent_at) {
        ("sent", Some(at)) => format!("sent {}", format_time(at)),
        ("pending", _) => format!("next {}", format_time(mail.next_attempt)),
        _ => "-".into(),
    }
}

pub async fn run(cmd: &MailCommand) -> anyhow::Result<String> {
    let db = Db::open(&cmd.db.options()).await?;
    let out = match &cmd.action {
        MailAction::List { status, limit } => {
            let status = status.as_deref().and_then(MailStatus::parse);
            let rows = db.list_mail(status, (*limit).max(0)).await?;
            let mut out = format!(
                "{:>6}  {:<8}  {:>8}  {:<15}  {:<30}  {:<20}  {:<25}  {}\n",
                "ID",
                "STATUS",
                "ATTEMPTS",
                "KIND",
                "RECIPIENT",
                "CREATED",
                "SENT/NEXT",
                "LAST ERROR"
            );
            for m in rows {
                out.push_str(&format!(
                    "{:>6}  {:<8}  {:>8}  {:<15}  {:<30}  {:<20}  {:<25}  {}\n",
                    m.id,
                    m.status,
                    m.attempts,
                    m.mail.kind,
                    m.mail.recipient,
                    format_time(m.created),
                    when(&m),
                    m.last_error
                        .as_deref()
                        .unwrap_or("-")
                        .replace(['\r', '\n'], " ")
                ));
            }
            out
        }
        MailAction::Retry { id } => {
            if !db.retry_mail(*id).await? {
                db.close().await;
                anyhow::bail!(
                    "mail {id} cannot be retried: unknown, being sent right now, or already sent (a sent mail is never sent again)"
                );
            }
            format!("Mail {id} queued to be sent again.\n")
        }
    };
    db.close().await;
    Ok(out)
}
