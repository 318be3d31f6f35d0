//! The LDAP columns of `users` (migration 0019: `ldap_dn`, `ldap_uuid`, `ldap_checked_date`;
//! `auth_source` from 0016): the lookup that says who checks a login's password, and the one
//! transaction that creates or syncs a directory user's account (`service::ldap`).

use super::writes::{write_tx, COUNT_ACTIVE_ADMINS};
use super::{search_key, UserRecord, WriteError, FOLD_USER_COUNT};
use crate::filters::Dialect;
use crate::store::{fold, is_unique_violation, now_micros, on_pool, Db};

/// What the directory said about a user who just logged in.
#[derive(Debug)]
pub struct LdapSync<'a> {
    pub dn: &'a str,
    pub uuid: Option<&'a str>,
    /// Already made a valid local username.
    pub username: &'a str,
    pub email: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    /// The CVAT system group (`admin`, `business`, `user`, `worker`), or none.
    pub role: Option<&'static str>,
    /// Create the account when there is none.
    pub create: bool,
}

#[derive(Debug)]
pub enum LdapSynced {
    User {
        user: Box<UserRecord>,
        created: bool,
    },
    /// The username belongs to a local (or other) account, which is not taken over.
    LocalAccount(i64),
    /// No account, and auto-provisioning is off.
    NotProvisioned,
}

/// The directory link of an account, for the console.
#[derive(Debug, Clone, Default)]
pub struct LdapStatus {
    pub auth_source: String,
    pub ldap_dn: Option<String>,
    pub ldap_checked_date: Option<i64>,
}

/// Gives user `$id` the group `$role` (an `Option<&str>`) inside transaction `$tx`.
macro_rules! set_role {
    ($tx:ident, $id:expr, $role:expr) => {
        if let Some(role) = $role {
            sqlx::query(
                "INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = $2 \
                 ON CONFLICT DO NOTHING",
            )
            .bind($id)
            .bind(role)
            .execute(&mut *$tx)
            .await?;
        }
    };
}

const ROLE_GROUPS: &str = "('admin', 'business', 'user', 'worker')";

impl Db {
    /// The `auth_source` of each of these users (in no particular order).
    pub async fn auth_sources(&self, ids: &[i64]) -> sqlx::Result<Vec<String>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let source: Option<String> = on_pool!(self, p => sqlx::query_scalar(
                "SELECT auth_source FROM users WHERE id = $1").bind(id).fetch_optional(p).await)?;
            out.extend(source);
        }
        Ok(out)
    }

    /// The account's origin and directory entry.
    pub async fn ldap_status(&self, id: i64) -> sqlx::Result<Option<LdapStatus>> {
        let row: Option<(String, Option<String>, Option<i64>)> = on_pool!(self, p => sqlx::query_as(
            "SELECT auth_source, ldap_dn, ldap_checked_date FROM users WHERE id = $1")
            .bind(id).fetch_optional(p).await)?;
        Ok(
            row.map(|(auth_source, ldap_dn, ldap_checked_date)| LdapStatus {
                auth_source,
                ldap_dn,
                ldap_checked_date,
            }),
        )
    }

    /// Creates or updates the account of a directory user, atomically (with the last-admin
    /// guard of every user write: a sync that would leave no active admin keeps the role).
    pub async fn ldap_sync(&self, s: &LdapSync<'_>) -> Result<LdapSynced, WriteError> {
        let now = now_micros();
        let (id, created) = write_tx!(self, tx => {
            let mut found: Option<(i64, String, Option<String>)> = None;
            if let Some(uuid) = s.uuid {
                found = sqlx::query_as("SELECT id, auth_source, ldap_uuid FROM users WHERE ldap_uuid = $1")
                    .bind(uuid).fetch_optional(&mut *tx).await?;
            }
            if found.is_none() {
                found = sqlx::query_as(
                    "SELECT id, auth_source, ldap_uuid FROM users WHERE ldap_dn = $1 AND auth_source = 'ldap'")
                    .bind(s.dn).fetch_optional(&mut *tx).await?;
            }
            if found.is_none() {
                found = sqlx::query_as("SELECT id, auth_source, ldap_uuid FROM users WHERE username_folded = $1")
                    .bind(fold(s.username)).fetch_optional(&mut *tx).await?;
            }
            // An address another account has is not given to this one (logins by e-mail must
            // name one account).
            let other = found.as_ref().map_or(0, |f| f.0);
            let email_taken: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM users WHERE email_folded = $1 AND id <> $2")
                .bind(fold(s.email)).bind(other).fetch_one(&mut *tx).await?;
            let email = if s.email.is_empty() || email_taken > 0 { None } else { Some(s.email) };
            match found {
                Some((id, source, uuid)) => {
                    let other_entry = matches!((&uuid, s.uuid), (Some(a), Some(b)) if a != b);
                    if source != "ldap" || other_entry {
                        return Ok(LdapSynced::LocalAccount(id));
                    }
                    let admin = s.role == Some("admin");
                    let was_admin: i64 = sqlx::query_scalar(
                        "SELECT COUNT(*) FROM user_groups ug JOIN groups g ON g.id = ug.group_id \
                         JOIN users u ON u.id = ug.user_id \
                         WHERE ug.user_id = $1 AND g.name = 'admin' AND u.is_active AND u.blocked_date IS NULL")
                        .bind(id).fetch_one(&mut *tx).await?;
                    let mut keep_role = false;
                    if was_admin > 0 && !admin {
                        let admins: i64 = sqlx::query_scalar(COUNT_ACTIVE_ADMINS).fetch_one(&mut *tx).await?;
                        if admins <= 1 {
                            tracing::warn!(user_id = id, "LDAP sync would remove the last active admin: role kept");
                            keep_role = true;
                        }
                    }
                    let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                        .bind(id).fetch_one(&mut *tx).await?;
                    sqlx::query(
                        "UPDATE users SET email = COALESCE($2, email), email_folded = COALESCE($3, email_folded), \
                         first_name = $4, last_name = $5, search_key = $6, ldap_dn = $7, \
                         ldap_uuid = COALESCE($8, ldap_uuid), ldap_checked_date = $9 WHERE id = $1")
                        .bind(id).bind(email).bind(email.map(fold)).bind(s.first_name).bind(s.last_name)
                        .bind(search_key(&username, s.first_name, s.last_name)).bind(s.dn).bind(s.uuid)
                        .bind(now).execute(&mut *tx).await?;
                    if !keep_role {
                        sqlx::query("UPDATE users SET is_staff = $2, is_superuser = $2 WHERE id = $1")
                            .bind(id).bind(admin).execute(&mut *tx).await?;
                        sqlx::query(&format!(
                            "DELETE FROM user_groups WHERE user_id = $1 AND group_id IN \
                             (SELECT id FROM groups WHERE name IN {ROLE_GROUPS})"))
                            .bind(id).execute(&mut *tx).await?;
                        set_role!(tx, id, s.role);
                    }
                    tx.commit().await?;
                    (id, false)
                }
                None if !s.create => return Ok(LdapSynced::NotProvisioned),
                None => {
                    let admin = s.role == Some("admin");
                    // Django's unusable password: `!` and random characters, never a hash.
                    let unusable = format!("!{}", crate::auth::new_token_key());
                    let inserted = sqlx::query_scalar::<_, i64>(
                        "INSERT INTO users (username, username_folded, password, email, email_folded, first_name, \
                         last_name, search_key, is_staff, is_superuser, is_active, date_joined, created_via, \
                         auth_source, ldap_dn, ldap_uuid, ldap_checked_date) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, TRUE, $10, 'ldap', 'ldap', $11, $12, $10) \
                         RETURNING id")
                        .bind(s.username).bind(fold(s.username)).bind(&unusable).bind(email.unwrap_or(""))
                        .bind(fold(email.unwrap_or(""))).bind(s.first_name).bind(s.last_name)
                        .bind(search_key(s.username, s.first_name, s.last_name)).bind(admin).bind(now)
                        .bind(s.dn).bind(s.uuid).fetch_one(&mut *tx).await;
                    let id = match inserted {
                        Err(e) if is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                        other => other?,
                    };
                    set_role!(tx, id, s.role);
                    if self.dialect() == Dialect::Postgres {
                        sqlx::query(FOLD_USER_COUNT).execute(&mut *tx).await?;
                    }
                    tx.commit().await?;
                    (id, true)
                }
            }
        });
        let user = self.user_by_id(id).await?.ok_or(WriteError::NotFound)?;
        Ok(LdapSynced::User {
            user: Box::new(user),
            created,
        })
    }
}
