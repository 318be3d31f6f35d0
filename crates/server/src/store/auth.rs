//! Tokens, sessions, failed-login counters and server settings.
//!
//! Login tokens, sessions and access tokens are all stored as SHA-256 digests only: a copy of
//! the database holds no usable credential. So a login cannot hand out a stored key again:
//! each login issues a new one, and logout deletes them all (as CVAT deletes the user's one).

use super::users::{collapse, UserGroupRow, JOINED_FROM, USER_COLUMNS};
use super::{bind_all, now_micros, on_conn, on_pool, Db, UserRecord};
use crate::filters::{Bind, SqlBuf};
use crate::service::AuditEvent;
use crate::store::audit::append_event;

/// Lookups are by digest so that timing reveals nothing about stored secrets.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Login keys a user may hold at once (one per login until logout); the oldest go first.
const TOKENS_PER_USER: i64 = 100;

/// A credential to leave in place when a user's others are revoked: the one that asked.
#[derive(Debug, Clone, Copy)]
pub enum KeptCredential<'a> {
    Nothing,
    /// A session, by key.
    Session(&'a str),
    /// A login token, by the digest of its key.
    TokenDigest(&'a str),
    /// A personal access token, by id.
    AccessToken(i64),
}

impl KeptCredential<'_> {
    /// The digests and id a revocation leaves alone: values no row has (digests are 64 hex
    /// characters, ids start at 1) keep nothing.
    pub(in crate::store) fn kept_values(&self) -> (String, String, i64) {
        match *self {
            KeptCredential::Nothing => (String::new(), String::new(), 0),
            KeptCredential::Session(key) => (digest(key), String::new(), 0),
            KeptCredential::TokenDigest(d) => (String::new(), d.to_string(), 0),
            KeptCredential::AccessToken(id) => (String::new(), String::new(), id),
        }
    }
}

/// Where a new credential came from (its creating request), for the sessions list.
#[derive(Debug, Clone, Default)]
pub struct CredentialOrigin {
    pub client_address: String,
    pub user_agent: String,
}

impl Db {
    /// The owner of the login token whose key has SHA-256 `digest`. One query.
    pub async fn user_by_token_digest(&self, digest: &str) -> sqlx::Result<Option<UserRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, g.name AS group_name {JOINED_FROM} \
             JOIN tokens t ON t.user_id = u.id WHERE t.digest = $1 ORDER BY u.id, g.id"
        );
        let direct = self.read_point(&sql, [digest], UserGroupRow::from_direct);
        let rows: Vec<UserGroupRow> = match direct {
            Some(rows) => rows,
            None => on_conn!(self, c => {
                sqlx::query_as::<_, UserGroupRow>(&sql).bind(digest).fetch_all(&mut *c).await
            })?,
        };
        Ok(collapse(rows).pop())
    }

    /// The user of an unexpired session. One query.
    pub async fn user_by_session(&self, session_key: &str) -> sqlx::Result<Option<UserRecord>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, g.name AS group_name {JOINED_FROM} \
             JOIN sessions s ON s.user_id = u.id WHERE s.digest = $1 AND s.expires > $2 ORDER BY u.id, g.id"
        );
        let (digest, now) = (digest(session_key), now_micros());
        let direct = self.read_point(&sql, (&digest, now), UserGroupRow::from_direct);
        let rows: Vec<UserGroupRow> = match direct {
            Some(rows) => rows,
            None => on_conn!(self, c => {
                sqlx::query_as::<_, UserGroupRow>(&sql).bind(&digest).bind(now).fetch_all(&mut *c).await
            })?,
        };
        Ok(collapse(rows).pop())
    }

    /// Stores a new login key of `user_id` (only its digest: the key is shown once, in the
    /// login's answer), dropping the user's oldest keys beyond `TOKENS_PER_USER`. Atomic.
    /// With `ev`, the login it records goes in the same transaction.
    pub async fn create_token(
        &self,
        user_id: i64,
        key: &str,
        origin: &CredentialOrigin,
        ev: Option<&AuditEvent>,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "INSERT INTO tokens (digest, user_id, created, client_address, user_agent) VALUES ($1, $2, $3, $4, $5)")
                .bind(digest(key)).bind(user_id).bind(now_micros())
                .bind(&origin.client_address).bind(&origin.user_agent).execute(&mut *tx).await?;
            sqlx::query(
                "DELETE FROM tokens WHERE user_id = $1 AND digest NOT IN \
                 (SELECT digest FROM tokens WHERE user_id = $1 ORDER BY created DESC, digest LIMIT $2)")
                .bind(user_id).bind(TOKENS_PER_USER).execute(&mut *tx).await?;
            if let Some(ev) = ev {
                append_event!(tx, ev)?;
            }
            tx.commit().await
        })
    }

    /// Sets a user's password hash and revokes the user's sessions, login tokens and personal
    /// access tokens, except `kept`, in one transaction. `false` when there is no such user.
    pub async fn set_password_revoking_except(
        &self,
        user_id: i64,
        hash: &str,
        kept: KeptCredential<'_>,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        self.replace_password_revoking(user_id, None, hash, kept, false, ev)
            .await
    }

    /// A password reset's write: as `set_password_revoking_except` with nothing kept, but only
    /// while the stored hash is still `expected` (the reset token is derived from it), so a
    /// link works once even when two confirmations race. `false` when nothing changed.
    pub async fn reset_password_revoking(
        &self,
        user_id: i64,
        expected: &str,
        hash: &str,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        self.replace_password_revoking(
            user_id,
            Some(expected),
            hash,
            KeptCredential::Nothing,
            false,
            ev,
        )
        .await
    }

    pub(in crate::store) async fn replace_password_revoking(
        &self,
        user_id: i64,
        expected: Option<&str>,
        hash: &str,
        kept: KeptCredential<'_>,
        must_change: bool,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        let (session, token, access_token) = kept.kept_values();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let updated = sqlx::query(
                "UPDATE users SET password = $1, must_change_password = $4 \
                 WHERE id = $2 AND ($3 IS NULL OR password = $3)")
                .bind(hash).bind(user_id).bind(expected).bind(must_change).execute(&mut *tx).await?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND digest <> $2")
                .bind(user_id).bind(&session).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND digest <> $2")
                .bind(user_id).bind(&token).execute(&mut *tx).await?;
            sqlx::query("DELETE FROM access_tokens WHERE user_id = $1 AND id <> $2")
                .bind(user_id).bind(access_token).execute(&mut *tx).await?;
            // Step-two tickets of logins with the old password (migration 0009).
            sqlx::query("DELETE FROM mfa_tokens WHERE user_id = $1")
                .bind(user_id).execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// A logout: the user's login keys and the session `session_key`, with the event `ev`, in
    /// one transaction.
    pub async fn log_out(
        &self,
        user_id: i64,
        session_key: Option<&str>,
        ev: &AuditEvent,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM tokens WHERE user_id = $1").bind(user_id).execute(&mut *tx).await?;
            if let Some(key) = session_key {
                sqlx::query("DELETE FROM sessions WHERE digest = $1").bind(digest(key)).execute(&mut *tx).await?;
            }
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }

    pub async fn create_session(
        &self,
        session_key: &str,
        user_id: i64,
        expires: i64,
        origin: &CredentialOrigin,
        ev: Option<&AuditEvent>,
    ) -> sqlx::Result<()> {
        let now = now_micros();
        on_pool!(self, p => {
            // Expired rows are dropped as new ones arrive, so the table stays small.
            sqlx::query("DELETE FROM sessions WHERE expires <= $1").bind(now).execute(p).await?;
            let insert = sqlx::query(
                "INSERT INTO sessions (digest, user_id, expires, created, client_address, user_agent) \
                 VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(digest(session_key)).bind(user_id).bind(expires).bind(now)
                .bind(&origin.client_address).bind(&origin.user_agent);
            match ev {
                None => insert.execute(p).await.map(|_| ()),
                Some(ev) => {
                    let mut tx = p.begin().await?;
                    insert.execute(&mut *tx).await?;
                    append_event!(tx, ev)?;
                    tx.commit().await
                }
            }
        })?;
        Ok(())
    }

    pub async fn delete_session(&self, session_key: &str) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM sessions WHERE digest = $1")
            .bind(digest(session_key)).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn record_login_failure(&self, scope: &str, subject: &str) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("INSERT INTO login_failures (scope, subject, at) VALUES ($1, $2, $3)")
            .bind(scope).bind(subject).bind(now_micros()).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// For each `(scope, subject, limit)`, the times of its latest `limit` failures after
    /// `since`, newest first: one statement for every lock a password check consults.
    pub async fn recent_login_failures(
        &self,
        subjects: &[(&str, &str, i64)],
        since: i64,
    ) -> sqlx::Result<Vec<Vec<i64>>> {
        let mut sql = SqlBuf::default();
        for (k, (scope, subject, limit)) in subjects.iter().enumerate() {
            if k > 0 {
                sql.push(" UNION ALL ");
            }
            sql.push(&format!("SELECT CAST({k} AS BIGINT) AS k, at FROM (SELECT at FROM login_failures WHERE scope = "));
            sql.bind(Bind::Text(scope.to_string()));
            sql.push(" AND subject = ");
            sql.bind(Bind::Text(subject.to_string()));
            sql.push(" AND at > ");
            sql.bind(Bind::Int(since));
            sql.push(" ORDER BY at DESC LIMIT ");
            sql.bind(Bind::Int(*limit));
            sql.push(&format!(") f{k}"));
        }
        let params = rusqlite::params_from_iter(&sql.binds);
        let rows: Vec<(i64, i64)> = match self
            .read_point(&sql.sql, params, |r| Ok((r.get(0)?, r.get(1)?)))
        {
            Some(rows) => rows,
            None => {
                on_conn!(self, c => bind_all!(sqlx::query_as::<_, (i64, i64)>(&sql.sql), &sql.binds)
                .fetch_all(&mut *c).await)?
            }
        };
        let mut out = vec![Vec::new(); subjects.len()];
        for (k, at) in rows {
            if let Some(times) = out.get_mut(k as usize) {
                times.push(at);
            }
        }
        // UNION ALL keeps no order across its parts; within one subject, newest first.
        for times in &mut out {
            times.sort_unstable_by(|a, b| b.cmp(a));
        }
        Ok(out)
    }

    pub async fn clear_login_failures(&self, scope: &str, subject: &str) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND subject = $2")
            .bind(scope).bind(subject).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn prune_login_failures(&self, before: i64) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM login_failures WHERE at <= $1").bind(before).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    /// The stored value of `name`, if any.
    pub async fn setting(&self, name: &str) -> sqlx::Result<Option<String>> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = $1")
            .bind(name).fetch_optional(p).await)
    }

    /// Returns the stored value of `name`, storing `default` first if there is none (first start).
    pub async fn setting_or_insert(&self, name: &str, default: &str) -> sqlx::Result<String> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(default).execute(p).await?;
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = $1").bind(name).fetch_one(p).await
        })
    }
}
