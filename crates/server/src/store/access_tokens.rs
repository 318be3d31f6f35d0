//! Personal access tokens: stored as digests, listed per owner.

use sqlx::FromRow;

use super::users::{collapse, UserGroupRow, JOINED_FROM, USER_COLUMNS};
use super::{digest, now_micros, on_conn, on_pool, Db, UserRecord};
use crate::service::AuditEvent;
use crate::store::audit::append_event;

#[derive(Debug, Clone, FromRow)]
pub struct AccessTokenRecord {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub read_only: bool,
    pub expiry_date: Option<i64>,
    pub created_date: i64,
    pub updated_date: i64,
    pub last_used_date: Option<i64>,
    /// A SCIM provisioning token (`/scim/v2` only).
    pub scim: bool,
}

const TOKEN_COLUMNS: &str =
    "a.id, a.user_id, a.name, a.read_only, a.expiry_date, a.created_date, a.updated_date, a.last_used_date, a.scim";

/// What a new token may do: read only; SCIM only (`/scim/v2`).
#[derive(Debug, Clone, Copy, Default)]
pub struct TokenFlags {
    pub read_only: bool,
    pub scim: bool,
}

/// What authentication needs of a token.
#[derive(Debug, Clone, FromRow)]
pub struct BearerToken {
    pub token_id: i64,
    pub token_read_only: bool,
    pub token_expiry: Option<i64>,
    /// A SCIM provisioning token: valid under `/scim/v2` only (`auth`).
    pub token_scim: bool,
}

#[derive(FromRow)]
struct TokenUserRow {
    #[sqlx(flatten)]
    inner: UserGroupRow,
    #[sqlx(flatten)]
    token: BearerToken,
}

impl Db {
    /// The owner of the access token whose value is `value`, with the token. One query; the
    /// token's columns are aliased so they cannot shadow the user's (`id` above all).
    pub async fn user_by_access_token(
        &self,
        value: &str,
    ) -> sqlx::Result<Option<(UserRecord, BearerToken)>> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, g.name AS group_name, a.id AS token_id, a.read_only AS token_read_only, \
             a.expiry_date AS token_expiry, a.scim AS token_scim {JOINED_FROM} \
             JOIN access_tokens a ON a.user_id = u.id WHERE a.digest = $1 ORDER BY u.id, g.id"
        );
        let digest = digest(value);
        let direct = self.read_point(&sql, [&digest], |r| {
            Ok(TokenUserRow {
                inner: UserGroupRow::from_direct(r)?,
                token: BearerToken {
                    token_id: r.get(17)?,
                    token_read_only: r.get(18)?,
                    token_expiry: r.get(19)?,
                    token_scim: r.get(20)?,
                },
            })
        });
        let rows: Vec<TokenUserRow> = match direct {
            Some(rows) => rows,
            None => on_conn!(self, c => {
                sqlx::query_as::<_, TokenUserRow>(&sql).bind(&digest).fetch_all(&mut *c).await
            })?,
        };
        let Some(token) = rows.first().map(|r| r.token.clone()) else {
            return Ok(None);
        };
        Ok(collapse(rows.into_iter().map(|r| r.inner).collect())
            .pop()
            .map(|u| (u, token)))
    }

    /// Records a use, at most once a minute per token (a conditional update, no read).
    pub async fn touch_access_token(&self, id: i64) -> sqlx::Result<()> {
        let now = now_micros();
        on_pool!(self, p => sqlx::query(
            "UPDATE access_tokens SET last_used_date = $1 WHERE id = $2 AND (last_used_date IS NULL OR last_used_date < $3)")
            .bind(now).bind(id).bind(now - 60_000_000).execute(p).await.map(|_| ()))
    }

    /// Stores a new token with the event `ev`, whose origin (client address and user agent)
    /// the token keeps for the sessions list.
    pub async fn create_access_token(
        &self,
        user_id: i64,
        name: &str,
        value: &str,
        flags: TokenFlags,
        expiry: Option<i64>,
        ev: &AuditEvent,
    ) -> sqlx::Result<i64> {
        let now = now_micros();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let id = sqlx::query_scalar::<_, i64>(
                "INSERT INTO access_tokens (user_id, name, digest, read_only, expiry_date, created_date, updated_date, \
                 client_address, user_agent, scim) VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9) RETURNING id")
                .bind(user_id).bind(name).bind(digest(value)).bind(flags.read_only).bind(expiry).bind(now)
                .bind(&ev.origin.client_address).bind(&ev.origin.user_agent).bind(flags.scim).fetch_one(&mut *tx).await?;
            let ev = ev.clone().target("access_token", Some(id), name)
                .detail("read_only", flags.read_only).detail("scim", flags.scim).detail("expiry_date", expiry);
            append_event!(tx, &ev)?;
            tx.commit().await?;
            Ok(id)
        })
    }

    pub async fn count_access_tokens(&self, user_id: i64) -> sqlx::Result<i64> {
        on_pool!(self, p => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM access_tokens WHERE user_id = $1")
            .bind(user_id).fetch_one(p).await)
    }

    pub async fn list_access_tokens(
        &self,
        user_id: i64,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<AccessTokenRecord>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM access_tokens a WHERE a.user_id = $1 ORDER BY a.id DESC LIMIT $2 OFFSET $3");
        on_pool!(self, p => sqlx::query_as::<_, AccessTokenRecord>(&sql).bind(user_id).bind(limit).bind(offset).fetch_all(p).await)
    }

    /// A token of `user_id` by id (another user's token is not found).
    pub async fn access_token(
        &self,
        user_id: i64,
        id: i64,
    ) -> sqlx::Result<Option<AccessTokenRecord>> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM access_tokens a WHERE a.id = $1 AND a.user_id = $2"
        );
        on_pool!(self, p => sqlx::query_as::<_, AccessTokenRecord>(&sql).bind(id).bind(user_id).fetch_optional(p).await)
    }

    pub async fn update_access_token(
        &self,
        id: i64,
        name: Option<&str>,
        read_only: Option<bool>,
        expiry: Option<Option<i64>>,
        ev: &AuditEvent,
    ) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query(
                "UPDATE access_tokens SET name = COALESCE($1, name), read_only = COALESCE($2, read_only), \
                 expiry_date = CASE WHEN $3 THEN $4 ELSE expiry_date END, updated_date = $5 WHERE id = $6")
                .bind(name).bind(read_only).bind(expiry.is_some()).bind(expiry.flatten()).bind(now_micros()).bind(id)
                .execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }

    pub async fn delete_access_token(&self, id: i64, ev: &AuditEvent) -> sqlx::Result<()> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("DELETE FROM access_tokens WHERE id = $1").bind(id).execute(&mut *tx).await?;
            append_event!(tx, ev)?;
            tx.commit().await
        })
    }
}
