//! Tokens, sessions, failed-login counters and server settings.

use super::users::{collapse, UserGroupRow, JOINED_FROM, USER_COLUMNS};
use super::{bind_all, now_micros, on_conn, on_pool, Db, UserRecord};
use crate::filters::{Bind, SqlBuf};

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

    /// Returns the stored value of `name`, storing `default` first if there is none (first start).
    pub async fn setting_or_insert(&self, name: &str, default: &str) -> sqlx::Result<String> {
        on_pool!(self, p => {
            sqlx::query("INSERT INTO settings (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(name).bind(default).execute(p).await?;
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE name = $1").bind(name).fetch_one(p).await
        })
    }
}
