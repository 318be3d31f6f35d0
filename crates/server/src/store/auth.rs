//! Tokens, sessions, failed-login counters and server settings.

use super::users::{collapse, UserGroupRow, JOINED_FROM, USER_COLUMNS};
use super::{now_micros, on_conn, on_pool, Db, UserRecord};

/// Lookups are by digest so that timing reveals nothing about stored secrets.
pub fn digest(secret: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(secret.as_bytes()))
}

#[derive(sqlx::FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    inner: UserGroupRow,
    token_key: String,
}

impl Db {
    /// The user owning a token and the stored key (to compare in constant time). One query.
    pub async fn user_by_token(&self, key: &str) -> sqlx::Result<Option<(UserRecord, String)>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, g.name AS group_name, t.key AS token_key {JOINED_FROM} \
             JOIN tokens t ON t.user_id = u.id WHERE t.digest = $1 ORDER BY u.id, g.id"
        );
        let digest = digest(key);
        let direct = self.read_point(&sql, [&digest], |r| {
            Ok(TokenUserRow {
                inner: UserGroupRow::from_direct(r)?,
                token_key: r.get(12)?,
            })
        });
        let rows: Vec<TokenUserRow> = match direct {
            Some(rows) => rows,
            None => on_conn!(self, c => {
                sqlx::query_as::<_, TokenUserRow>(&sql).bind(&digest).fetch_all(&mut *c).await
            })?,
        };
        let stored = match rows.first() {
            Some(r) => r.token_key.clone(),
            None => return Ok(None),
        };
        Ok(collapse(rows.into_iter().map(|r| r.inner).collect())
            .pop()
            .map(|u| (u, stored)))
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

    /// DRF's `Token.objects.get_or_create(user=...)`: the same key until logout. One atomic
    /// statement (a no-op update returns the existing row), so a concurrent logout can't make
    /// the key vanish between an insert and a select.
    pub async fn get_or_create_token(&self, user_id: i64, fresh_key: &str) -> sqlx::Result<String> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>(
            "INSERT INTO tokens (key, digest, user_id, created) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id RETURNING key")
            .bind(fresh_key).bind(digest(fresh_key)).bind(user_id).bind(now_micros()).fetch_one(p).await)
    }

    pub async fn delete_token(&self, user_id: i64) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query("DELETE FROM tokens WHERE user_id = $1").bind(user_id).execute(p).await.map(|_| ()))?;
        Ok(())
    }

    pub async fn create_session(
        &self,
        session_key: &str,
        user_id: i64,
        expires: i64,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => {
            // Expired rows are dropped as new ones arrive, so the table stays small.
            sqlx::query("DELETE FROM sessions WHERE expires <= $1").bind(now_micros()).execute(p).await?;
            sqlx::query("INSERT INTO sessions (digest, user_id, expires) VALUES ($1, $2, $3)")
                .bind(digest(session_key)).bind(user_id).bind(expires).execute(p).await.map(|_| ())
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

    /// Failure times of `subject` since `since`, newest first, at most `limit` of them.
    pub async fn recent_login_failures(
        &self,
        scope: &str,
        subject: &str,
        since: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<i64>> {
        const SQL: &str = "SELECT at FROM login_failures WHERE scope = $1 AND subject = $2 \
                           AND at > $3 ORDER BY at DESC LIMIT $4";
        let params = (scope, subject, since, limit);
        if let Some(at) = self.read_point(SQL, params, |r| r.get(0)) {
            return Ok(at);
        }
        on_conn!(self, c => sqlx::query_scalar::<_, i64>(SQL)
            .bind(scope).bind(subject).bind(since).bind(limit).fetch_all(&mut *c).await)
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

    /// Returns the stored value of `name`, storing `default` first if there is none (first start).
    pub async fn setting_or_insert(&self, name: &str, default: &str) -> sqlx::Result<String> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(default).execute(p).await?;
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = $1").bind(name).fetch_one(p).await
        })
    }
}
