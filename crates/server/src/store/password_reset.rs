//! The write of a password reset: a compare-and-set on the password hash, so that a reset
//! link (whose token is derived from the hash) works once even when two requests race.

use super::{on_pool, Db};

impl Db {
    /// Replaces the password hash `expected` of `user_id` by `hash` and revokes every credential
    /// the user holds (sessions, the API token, access tokens), as an administrator's password
    /// set does, in one transaction. `false` (nothing changed) when the hash is no longer
    /// `expected`: the link was used, or the password changed meanwhile.
    pub async fn reset_password_revoking(
        &self,
        user_id: i64,
        expected: &str,
        hash: &str,
    ) -> sqlx::Result<bool> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let updated = sqlx::query("UPDATE users SET password = $1 WHERE id = $2 AND password = $3")
                .bind(hash).bind(user_id).bind(expected).execute(&mut *tx).await?;
            if updated.rows_affected() == 0 {
                return Ok(false);
            }
            for table in ["sessions", "tokens", "access_tokens"] {
                sqlx::query(&format!("DELETE FROM {table} WHERE user_id = $1"))
                    .bind(user_id).execute(&mut *tx).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }
}
