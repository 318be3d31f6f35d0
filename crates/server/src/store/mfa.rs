//! The TOTP second factor's tables (migration `0009_totp`, both engines): every statement on
//! `mfa_totp`, `mfa_totp_pending`, `mfa_recovery_codes` and `mfa_tokens`.
//!
//! Single use is decided by the database, not by a read followed by a write: a code's step is
//! taken with `UPDATE ... WHERE last_used_step < s`, a recovery code with `... AND used_date IS
//! NULL`, a login ticket with `DELETE ... WHERE attempts < max`. Whichever replica's statement
//! changes the row wins; the other sees 0 rows and refuses. Enabling, disabling and an
//! administrator's reset (with its mail) are one transaction each.

use super::{insert_mail, now_micros, on_pool, Db, NewMail};
use crate::service::AuditEvent;
use crate::store::audit::append_event;

/// A confirmed factor, as stored (the secret still sealed).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TotpRow {
    pub secret_enc: String,
    pub confirmed_date: i64,
    pub last_used_step: i64,
    pub last_used_date: Option<i64>,
}

/// The recovery codes of the current set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoveryCounts {
    pub total: i64,
    pub remaining: i64,
    pub generated_date: Option<i64>,
}

/// A login ticket that has not expired.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MfaTicket {
    pub user_id: i64,
    pub purpose: String,
    pub first_factor: String,
    pub attempts: i64,
}

/// What enabling the factor found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnableOutcome {
    Enabled,
    /// The factor was on already (another confirmation won).
    AlreadyEnabled,
}

impl Db {
    pub async fn mfa_totp(&self, user_id: i64) -> sqlx::Result<Option<TotpRow>> {
        on_pool!(self, p => sqlx::query_as::<_, TotpRow>(
            "SELECT secret_enc, confirmed_date, last_used_step, last_used_date FROM mfa_totp WHERE user_id = $1")
            .bind(user_id).fetch_optional(p).await)
    }

    /// Whether the user has a confirmed factor: one indexed point read (Basic asks on each
    /// request; on SQLite it runs on the calling thread).
    pub async fn has_mfa_totp(&self, user_id: i64) -> sqlx::Result<bool> {
        const SQL: &str = "SELECT user_id FROM mfa_totp WHERE user_id = $1";
        if let Some(rows) = self.read_point(SQL, [user_id], |r| r.get::<_, i64>(0)) {
            return Ok(!rows.is_empty());
        }
        let row: Option<i64> = on_pool!(self, p => sqlx::query_scalar::<_, i64>(SQL)
            .bind(user_id).fetch_optional(p).await)?;
        Ok(row.is_some())
    }

    pub async fn mfa_recovery_counts(&self, user_id: i64) -> sqlx::Result<RecoveryCounts> {
        let (total, remaining, generated): (i64, i64, Option<i64>) = on_pool!(self, p => sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN used_date IS NULL THEN 1 ELSE 0 END), 0), \
             MAX(generated_date) FROM mfa_recovery_codes WHERE user_id = $1")
            .bind(user_id).fetch_one(p).await)?;
        Ok(RecoveryCounts {
            total,
            remaining,
            generated_date: generated,
        })
    }

    /// Stores a pending secret, replacing any earlier one of the user.
    pub async fn put_pending_totp(
        &self,
        user_id: i64,
        secret_enc: &str,
        expires: i64,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query(
            "INSERT INTO mfa_totp_pending (user_id, secret_enc, expires) VALUES ($1, $2, $3) \
             ON CONFLICT (user_id) DO UPDATE SET secret_enc = excluded.secret_enc, expires = excluded.expires")
            .bind(user_id).bind(secret_enc).bind(expires).execute(p).await.map(|_| ()))
    }

    /// The user's pending secret, unless it expired.
    pub async fn pending_totp(&self, user_id: i64) -> sqlx::Result<Option<String>> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>(
            "SELECT secret_enc FROM mfa_totp_pending WHERE user_id = $1 AND expires > $2")
            .bind(user_id).bind(now_micros()).fetch_optional(p).await)
    }

    /// Turns the pending secret `secret_enc` into the user's factor with `step` used, stores the
    /// recovery codes' digests, and signs the user out everywhere (sessions, login tokens,
    /// login tickets; access tokens stay): one transaction.
    pub async fn enable_totp(
        &self,
        user_id: i64,
        secret_enc: &str,
        step: i64,
        code_hashes: &[String],
        ev: &AuditEvent,
    ) -> sqlx::Result<EnableOutcome> {
        let now = now_micros();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let inserted = sqlx::query(
                "INSERT INTO mfa_totp (user_id, secret_enc, confirmed_date, last_used_step, last_used_date) \
                 VALUES ($1, $2, $3, $4, $3) ON CONFLICT (user_id) DO NOTHING")
                .bind(user_id).bind(secret_enc).bind(now).bind(step).execute(&mut *tx).await?;
            if inserted.rows_affected() == 0 {
                return Ok(EnableOutcome::AlreadyEnabled);
            }
            sqlx::query("DELETE FROM mfa_totp_pending WHERE user_id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            sqlx::query("UPDATE users SET mfa_enabled = TRUE WHERE id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            for hash in code_hashes {
                sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash, generated_date) VALUES ($1, $2, $3)")
                    .bind(user_id).bind(hash).bind(now).execute(&mut *tx).await?;
            }
            for table in [REVOKE_SESSIONS, REVOKE_TOKENS, REVOKE_TICKETS] {
                sqlx::query(table).bind(user_id).execute(&mut *tx).await?;
            }
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(EnableOutcome::Enabled)
        })
    }

    /// Takes step `step` of the user's factor: `true` for exactly one caller per step, and only
    /// for a step later than every step taken before.
    pub async fn take_totp_step(&self, user_id: i64, step: i64) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query(
            "UPDATE mfa_totp SET last_used_step = $1, last_used_date = $2 \
             WHERE user_id = $3 AND last_used_step < $1")
            .bind(step).bind(now_micros()).bind(user_id).execute(p).await
            .map(|r| r.rows_affected() == 1))
    }

    /// Uses the unused recovery code with digest `hash`: `true` once.
    pub async fn use_recovery_code(&self, user_id: i64, hash: &str) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query(
            "UPDATE mfa_recovery_codes SET used_date = $1 WHERE id = \
             (SELECT id FROM mfa_recovery_codes WHERE user_id = $2 AND code_hash = $3 AND used_date IS NULL \
              ORDER BY id LIMIT 1) AND used_date IS NULL")
            .bind(now_micros()).bind(user_id).bind(hash).execute(p).await
            .map(|r| r.rows_affected() == 1))
    }

    /// Replaces the user's recovery codes (the old set stops working); `false` when the user
    /// has no factor (disabled meanwhile). One transaction.
    pub async fn replace_recovery_codes(
        &self,
        user_id: i64,
        code_hashes: &[String],
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        let now = now_micros();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let on: Option<i64> = sqlx::query_scalar("SELECT user_id FROM mfa_totp WHERE user_id = $1")
                .bind(user_id).fetch_optional(&mut *tx).await?;
            if on.is_none() {
                return Ok(false);
            }
            sqlx::query("DELETE FROM mfa_recovery_codes WHERE user_id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            for hash in code_hashes {
                sqlx::query("INSERT INTO mfa_recovery_codes (user_id, code_hash, generated_date) VALUES ($1, $2, $3)")
                    .bind(user_id).bind(hash).bind(now).execute(&mut *tx).await?;
            }
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Removes the user's factor, pending secret, recovery codes and login tickets. With
    /// `revoke`, also the user's sessions and login tokens (an administrator's reset), and
    /// `mail` is queued in the same transaction. `false` (nothing changed) when the user had
    /// no factor.
    pub async fn remove_totp(
        &self,
        user_id: i64,
        revoke: bool,
        mail: Option<&NewMail>,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let deleted = sqlx::query("DELETE FROM mfa_totp WHERE user_id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            if deleted.rows_affected() == 0 {
                return Ok(false);
            }
            for sql in [
                "DELETE FROM mfa_totp_pending WHERE user_id = $1",
                "DELETE FROM mfa_recovery_codes WHERE user_id = $1",
                "UPDATE users SET mfa_enabled = FALSE WHERE id = $1",
                REVOKE_TICKETS,
            ] {
                sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
            }
            if revoke {
                for sql in [REVOKE_SESSIONS, REVOKE_TOKENS] {
                    sqlx::query(sql).bind(user_id).execute(&mut *tx).await?;
                }
            }
            if let Some(mail) = mail {
                insert_mail!(&mut *tx, mail)?;
            }
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Stores a login ticket by the digest of its value; expired tickets are dropped as new
    /// ones arrive.
    pub async fn create_mfa_ticket(
        &self,
        token_hash: &str,
        user_id: i64,
        purpose: &str,
        first_factor: &str,
        expires: i64,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => {
            sqlx::query("DELETE FROM mfa_tokens WHERE expires <= $1").bind(now_micros()).execute(p).await?;
            sqlx::query(
                "INSERT INTO mfa_tokens (token_hash, user_id, purpose, first_factor, attempts, expires) \
                 VALUES ($1, $2, $3, $4, 0, $5)")
                .bind(token_hash).bind(user_id).bind(purpose).bind(first_factor).bind(expires)
                .execute(p).await.map(|_| ())
        })
    }

    /// The unexpired ticket with this digest, if any.
    pub async fn mfa_ticket(&self, token_hash: &str) -> sqlx::Result<Option<MfaTicket>> {
        on_pool!(self, p => sqlx::query_as::<_, MfaTicket>(
            "SELECT user_id, purpose, first_factor, attempts FROM mfa_tokens WHERE token_hash = $1 AND expires > $2")
            .bind(token_hash).bind(now_micros()).fetch_optional(p).await)
    }

    /// Counts a wrong code against the ticket.
    pub async fn mfa_ticket_failed(&self, token_hash: &str) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("UPDATE mfa_tokens SET attempts = attempts + 1 WHERE token_hash = $1")
            .bind(token_hash).execute(p).await.map(|_| ()))
    }

    /// Uses the ticket up: `true` for exactly one caller, while it is unexpired and has
    /// attempts left.
    pub async fn consume_mfa_ticket(
        &self,
        token_hash: &str,
        max_attempts: i64,
    ) -> sqlx::Result<bool> {
        on_pool!(self, p => sqlx::query(
            "DELETE FROM mfa_tokens WHERE token_hash = $1 AND expires > $2 AND attempts < $3")
            .bind(token_hash).bind(now_micros()).bind(max_attempts).execute(p).await
            .map(|r| r.rows_affected() == 1))
    }
}

const REVOKE_SESSIONS: &str = "DELETE FROM sessions WHERE user_id = $1";
const REVOKE_TOKENS: &str = "DELETE FROM tokens WHERE user_id = $1";
const REVOKE_TICKETS: &str = "DELETE FROM mfa_tokens WHERE user_id = $1";
