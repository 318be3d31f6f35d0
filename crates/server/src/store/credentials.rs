//! Every credential of a user in one list (sessions, login tokens, access tokens), and
//! revoking them one by one or all at once (issue 15). Each table keeps its own rows; this
//! module only reads and deletes them together.

use super::{now_micros, on_pool, Db, KeptCredential};
use crate::service::AuditEvent;
use crate::store::audit::append_event;

/// One credential as listed. `key` is the public id within its kind: the first 16 hex
/// characters of a session's or token's digest (never the secret), an access token's id.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CredentialRow {
    pub kind: String,
    pub key: String,
    pub name: Option<String>,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub last_used: Option<i64>,
    pub client_address: Option<String>,
    pub user_agent: Option<String>,
}

/// The three kinds, as `kind` says them.
pub const SESSION: &str = "session";
pub const TOKEN: &str = "token";
pub const ACCESS_TOKEN: &str = "access_token";

/// At most this many of each kind are listed (tokens are capped at 100 anyway).
const LIST_LIMIT: i64 = 500;

impl Db {
    /// The user's live credentials, newest first.
    pub async fn list_credentials(&self, user_id: i64) -> sqlx::Result<Vec<CredentialRow>> {
        let sql = "SELECT * FROM ( \
             SELECT 'session' AS kind, substr(digest, 1, 16) AS key, CAST(NULL AS TEXT) AS name, created, \
                    expires, CAST(NULL AS BIGINT) AS last_used, client_address, user_agent \
             FROM sessions WHERE user_id = $1 AND expires > $2 \
             UNION ALL SELECT 'token', substr(digest, 1, 16), NULL, created, NULL, NULL, client_address, user_agent \
             FROM tokens WHERE user_id = $1 \
             UNION ALL SELECT 'access_token', CAST(id AS TEXT), name, created_date, expiry_date, last_used_date, \
                    client_address, user_agent \
             FROM access_tokens WHERE user_id = $1 AND (expiry_date IS NULL OR expiry_date > $2) \
             ) AS c ORDER BY created DESC, kind, key LIMIT $3";
        on_pool!(self, p => sqlx::query_as::<_, CredentialRow>(sql)
            .bind(user_id).bind(now_micros()).bind(LIST_LIMIT * 3).fetch_all(p).await)
    }

    /// Revokes one credential of the user; `false` when there is none such. `key` must be
    /// what `list_credentials` lists (hex for sessions and tokens, digits for access tokens).
    pub async fn revoke_credential(
        &self,
        user_id: i64,
        kind: &str,
        key: &str,
        ev: &AuditEvent,
    ) -> sqlx::Result<bool> {
        let sql = match kind {
            SESSION => "DELETE FROM sessions WHERE user_id = $1 AND substr(digest, 1, 16) = $2",
            TOKEN => "DELETE FROM tokens WHERE user_id = $1 AND substr(digest, 1, 16) = $2",
            ACCESS_TOKEN => {
                "DELETE FROM access_tokens WHERE user_id = $1 AND CAST(id AS TEXT) = $2"
            }
            _ => return Ok(false),
        };
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let gone = sqlx::query(sql).bind(user_id).bind(key).execute(&mut *tx).await?.rows_affected() > 0;
            if gone {
                append_event!(tx, ev)?;
                tx.commit().await?;
            }
            Ok(gone)
        })
    }

    /// Revokes every credential of the user but `kept`, in one transaction; how many went.
    pub async fn revoke_credentials_except(
        &self,
        user_id: i64,
        kept: KeptCredential<'_>,
        ev: &AuditEvent,
    ) -> sqlx::Result<u64> {
        let (session, token, access_token) = kept.kept_values();
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let mut gone = 0;
            gone += sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND digest <> $2")
                .bind(user_id).bind(&session).execute(&mut *tx).await?.rows_affected();
            gone += sqlx::query("DELETE FROM tokens WHERE user_id = $1 AND digest <> $2")
                .bind(user_id).bind(&token).execute(&mut *tx).await?.rows_affected();
            gone += sqlx::query("DELETE FROM access_tokens WHERE user_id = $1 AND id <> $2")
                .bind(user_id).bind(access_token).execute(&mut *tx).await?.rows_affected();
            append_event!(tx, &ev.clone().detail("revoked", gone))?;
            tx.commit().await?;
            Ok(gone)
        })
    }
}
