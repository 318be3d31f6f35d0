//! The mail outbox (migration `0006_mail_outbox`, both engines): every statement on it.
//!
//! A mail is a row written by the change that causes it; `crate::mail::worker` claims due rows
//! one at a time and sends them. Claiming is one atomic statement on both engines: SQLite runs
//! writes one at a time, and PostgreSQL's `FOR UPDATE SKIP LOCKED` lets replicas claim
//! different rows at once. A claim sets `lease_until`; until then no other worker takes the
//! row, and after it (a worker killed mid-send) any worker may. Bodies hold secrets (reset
//! links), so they are never listed and are emptied once the mail has been sent.

use sqlx::FromRow;

use super::{now_micros, on_pool, Db, Dialect};

/// Where a mail is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailStatus {
    Pending,
    Sent,
    /// Refused for good by the SMTP server, or out of attempts: only an operator's retry
    /// sends it again.
    Failed,
}

impl MailStatus {
    pub const ALL: [MailStatus; 3] = [MailStatus::Pending, MailStatus::Sent, MailStatus::Failed];

    pub fn as_str(self) -> &'static str {
        match self {
            MailStatus::Pending => "pending",
            MailStatus::Sent => "sent",
            MailStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<MailStatus> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// A mail to queue: already rendered, addresses already validated.
#[derive(Debug, Clone, FromRow)]
pub struct NewMail {
    /// What caused it (`password_reset`, ...), for operators.
    pub kind: String,
    pub recipient: String,
    /// Display name for the `To` header (may be empty).
    pub recipient_name: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    /// The `Message-ID` header, without angle brackets; unique.
    pub message_id: String,
}

/// A row of the outbox.
#[derive(Debug, Clone, FromRow)]
pub struct OutboxMail {
    pub id: i64,
    #[sqlx(flatten)]
    pub mail: NewMail,
    pub status: String,
    pub attempts: i64,
    pub next_attempt: i64,
    pub lease_until: Option<i64>,
    pub last_error: Option<String>,
    pub created: i64,
    pub sent_at: Option<i64>,
}

const COLUMNS: &str = "id, message_id, kind, recipient, recipient_name, subject, body_text, \
     body_html, status, attempts, next_attempt, lease_until, last_error, created, sent_at";

/// The listing columns: bodies left out (they may carry reset links).
const LIST_COLUMNS: &str = "id, message_id, kind, recipient, recipient_name, subject, \
     '' AS body_text, '' AS body_html, status, attempts, next_attempt, lease_until, last_error, \
     created, sent_at";

/// Inserts `mail` as a pending row due now, through any executor of either engine: a pool, or
/// the transaction of the change that causes the mail. Returns the row's id.
macro_rules! insert_mail {
    ($exec:expr, $mail:expr) => {{
        let mail: &$crate::store::NewMail = $mail;
        let now = $crate::store::now_micros();
        sqlx::query_scalar::<_, i64>(
            "INSERT INTO mail_outbox (message_id, kind, recipient, recipient_name, subject, \
             body_text, body_html, next_attempt, created) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(&mail.message_id)
        .bind(&mail.kind)
        .bind(&mail.recipient)
        .bind(&mail.recipient_name)
        .bind(&mail.subject)
        .bind(&mail.body_text)
        .bind(&mail.body_html)
        .bind(now)
        .fetch_one($exec)
        .await
    }};
}
// For the changes that cause mail: insert in their own transaction.
#[allow(unused_imports)]
pub(crate) use insert_mail;

impl Db {
    /// Queues mails in one transaction (all or none). Returns their ids.
    pub async fn enqueue_mails(&self, mails: &[NewMail]) -> sqlx::Result<Vec<i64>> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut ids = Vec::with_capacity(mails.len());
            for mail in mails {
                ids.push(insert_mail!(&mut *tx, mail)?);
            }
            tx.commit().await?;
            Ok(ids)
        })
    }

    /// Claims the next due pending row for `lease_micros` and counts the attempt; `None` when
    /// nothing is due. One statement: two workers never get the same row while it is leased.
    pub async fn claim_due_mail(&self, lease_micros: i64) -> sqlx::Result<Option<OutboxMail>> {
        let now = now_micros();
        let skip_locked = match self.dialect() {
            Dialect::Postgres => " FOR UPDATE SKIP LOCKED",
            Dialect::Sqlite => "",
        };
        let due = "status = 'pending' AND next_attempt <= $2 AND (lease_until IS NULL OR lease_until <= $2)";
        let sql = format!(
            "UPDATE mail_outbox SET lease_until = $1, attempts = attempts + 1 \
             WHERE id = (SELECT id FROM mail_outbox WHERE {due} ORDER BY next_attempt, id LIMIT 1{skip_locked}) \
             AND {due} RETURNING {COLUMNS}"
        );
        on_pool!(self, p => sqlx::query_as::<_, OutboxMail>(&sql)
            .bind(now + lease_micros).bind(now).fetch_optional(p).await)
    }

    /// The SMTP server accepted the mail: never send it again, and drop its secrets.
    pub async fn mark_mail_sent(&self, id: i64) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE mail_outbox SET status = 'sent', sent_at = $1, lease_until = NULL, last_error = NULL, \
             body_text = '', body_html = '' WHERE id = $2")
            .bind(now_micros()).bind(id).execute(p).await.map(|_| ()))
    }

    /// An attempt failed: try again at `retry_at`, or give up (`None`).
    pub async fn mark_mail_attempt_failed(
        &self,
        id: i64,
        error: &str,
        retry_at: Option<i64>,
    ) -> sqlx::Result<()> {
        let (status, next) = match retry_at {
            Some(at) => (MailStatus::Pending, at),
            None => (MailStatus::Failed, now_micros()),
        };
        on_pool!(self, p => sqlx::query(
            "UPDATE mail_outbox SET status = $1, next_attempt = $2, lease_until = NULL, last_error = $3 \
             WHERE id = $4 AND status = 'pending'")
            .bind(status.as_str()).bind(next).bind(error).bind(id).execute(p).await.map(|_| ()))
    }

    /// Makes a pending or failed mail due now with a fresh count of attempts. `false` when
    /// there is no such row, it was sent already (a sent mail is never sent again), or a
    /// worker is sending it right now (its lease stands, so it is not sent twice).
    pub async fn retry_mail(&self, id: i64) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query(
            "UPDATE mail_outbox SET status = 'pending', next_attempt = $1, attempts = 0, lease_until = NULL \
             WHERE id = $2 AND status <> 'sent' AND (lease_until IS NULL OR lease_until <= $1)")
            .bind(now_micros()).bind(id).execute(p).await.map(|r| r.rows_affected() > 0))
    }

    /// The newest `limit` rows (optionally of one status), newest first, without bodies.
    pub async fn list_mail(
        &self,
        status: Option<MailStatus>,
        limit: i64,
    ) -> sqlx::Result<Vec<OutboxMail>> {
        let sql = |filter: &str| {
            format!("SELECT {LIST_COLUMNS} FROM mail_outbox {filter} ORDER BY id DESC LIMIT $1")
        };
        on_pool!(self, p => match status {
            Some(s) => sqlx::query_as::<_, OutboxMail>(&sql("WHERE status = $2"))
                .bind(limit).bind(s.as_str()).fetch_all(p).await,
            None => sqlx::query_as::<_, OutboxMail>(&sql("")).bind(limit).fetch_all(p).await,
        })
    }

    /// How many rows each status has, in `MailStatus::ALL` order.
    pub async fn count_mail_by_status(&self) -> sqlx::Result<Vec<(MailStatus, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, p => sqlx::query_as(
            "SELECT status, COUNT(*) FROM mail_outbox GROUP BY status").fetch_all(p).await)?;
        Ok(MailStatus::ALL
            .into_iter()
            .map(|s| {
                let n = rows
                    .iter()
                    .find(|(k, _)| k == s.as_str())
                    .map_or(0, |r| r.1);
                (s, n)
            })
            .collect())
    }
}
