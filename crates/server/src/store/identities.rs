//! Single sign-on's tables: `external_identities` (migration 0016: the OpenID Connect
//! identities linked to accounts, keyed by provider and subject) and `oidc_flows` (migration
//! 0020: the server-side state of a sign-in in progress).
//!
//! A flow is taken with one `UPDATE ... WHERE NOT used AND expires > now`: of two callbacks
//! racing on two replicas, the one whose statement changes the row wins and the other finds
//! nothing. Creating an account with its identity, and linking an identity, are one
//! transaction each (the user writes' lock, `users::write_tx`), so a failed link leaves no
//! half-made account behind.

use super::users::{search_key, write_tx, FOLD_USER_COUNT};
use super::{fold, is_unique_violation, now_micros, on_pool, Db, NewUser, UserRecord, WriteError};
use crate::filters::Dialect;

/// An identity linked to an account.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IdentityRow {
    pub user_id: i64,
    pub provider: String,
    pub subject: String,
    pub email: Option<String>,
    pub email_verified: bool,
    pub created_date: i64,
    pub last_login_date: Option<i64>,
}

/// What the provider said about a person, as stored with the identity.
#[derive(Debug, Clone)]
pub struct NewIdentity<'a> {
    pub provider: &'a str,
    pub subject: &'a str,
    pub email: Option<&'a str>,
    pub email_verified: bool,
}

/// A flow to store (digests of the cookie's flow id and of `state`).
#[derive(Debug, Clone)]
pub struct NewFlow<'a> {
    pub flow_hash: &'a str,
    pub provider: &'a str,
    pub state_hash: &'a str,
    pub nonce: &'a str,
    pub code_verifier: &'a str,
    pub next: &'a str,
    pub redirect_uri: &'a str,
    pub expires: i64,
}

/// A flow taken by its callback (now used).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FlowRow {
    pub provider: String,
    pub state_hash: String,
    pub nonce: String,
    pub code_verifier: String,
    pub next: String,
    pub redirect_uri: String,
}

const IDENTITY_COLUMNS: &str =
    "user_id, provider, subject, email, email_verified, created_date, last_login_date";

impl Db {
    pub async fn insert_oidc_flow(&self, f: &NewFlow<'_>) -> sqlx::Result<()> {
        let now = now_micros();
        on_pool!(self, p => {
            // Expired flows go when new ones come (no separate sweeper needed).
            sqlx::query("DELETE FROM oidc_flows WHERE expires <= $1").bind(now).execute(p).await?;
            sqlx::query(
                "INSERT INTO oidc_flows (flow_hash, provider, state_hash, nonce, code_verifier, next, redirect_uri, expires) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(f.flow_hash).bind(f.provider).bind(f.state_hash).bind(f.nonce).bind(f.code_verifier)
                .bind(f.next).bind(f.redirect_uri).bind(f.expires)
                .execute(p).await?;
            Ok(())
        })
    }

    /// Marks the flow used and returns it, if it exists, is unused and has not expired.
    pub async fn take_oidc_flow(&self, flow_hash: &str) -> sqlx::Result<Option<FlowRow>> {
        on_pool!(self, p => sqlx::query_as::<_, FlowRow>(
            "UPDATE oidc_flows SET used = TRUE WHERE flow_hash = $1 AND NOT used AND expires > $2 \
             RETURNING provider, state_hash, nonce, code_verifier, next, redirect_uri")
            .bind(flow_hash).bind(now_micros()).fetch_optional(p).await)
    }

    pub async fn identity_by_subject(
        &self,
        provider: &str,
        subject: &str,
    ) -> sqlx::Result<Option<IdentityRow>> {
        on_pool!(self, p => sqlx::query_as::<_, IdentityRow>(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM external_identities WHERE provider = $1 AND subject = $2"))
            .bind(provider).bind(subject).fetch_optional(p).await)
    }

    /// The user's identities, by provider.
    pub async fn identities_of(&self, user_id: i64) -> sqlx::Result<Vec<IdentityRow>> {
        on_pool!(self, p => sqlx::query_as::<_, IdentityRow>(&format!(
            "SELECT {IDENTITY_COLUMNS} FROM external_identities WHERE user_id = $1 ORDER BY provider"))
            .bind(user_id).fetch_all(p).await)
    }

    /// Records a sign-in through a linked identity (its e-mail as the provider gave it now).
    pub async fn touch_identity(&self, id: &NewIdentity<'_>) -> sqlx::Result<()> {
        on_pool!(self, p => sqlx::query(
            "UPDATE external_identities SET last_login_date = $1, email = $2, email_verified = $3 \
             WHERE provider = $4 AND subject = $5")
            .bind(now_micros()).bind(id.email).bind(id.email_verified).bind(id.provider).bind(id.subject)
            .execute(p).await.map(|_| ()))
    }

    /// Links the identity to an existing user. `UsernameTaken` stands for "already linked"
    /// (the subject to anyone, or this provider to this user).
    pub async fn link_identity(
        &self,
        user_id: i64,
        id: &NewIdentity<'_>,
    ) -> Result<(), WriteError> {
        let now = now_micros();
        let done = on_pool!(self, p => sqlx::query(
            "INSERT INTO external_identities (user_id, provider, subject, email, email_verified, created_date, last_login_date) \
             VALUES ($1, $2, $3, $4, $5, $6, $6)")
            .bind(user_id).bind(id.provider).bind(id.subject).bind(id.email).bind(id.email_verified).bind(now)
            .execute(p).await.map(|_| ()));
        match done {
            Err(e) if is_unique_violation(&e) => Err(WriteError::UsernameTaken),
            other => Ok(other?),
        }
    }

    /// Creates an account (`auth_source = 'oidc'`) with its groups and its identity, in one
    /// transaction. `UsernameTaken` on a username clash or when the identity got linked
    /// meanwhile (the caller tries again).
    pub async fn create_sso_user(
        &self,
        new: &NewUser,
        id: &NewIdentity<'_>,
        ev: &crate::service::AuditEvent,
    ) -> Result<UserRecord, WriteError> {
        let now = now_micros();
        let user_id: i64 = write_tx!(self, tx => {
            let taken: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE username_folded = $1")
                .bind(fold(&new.username)).fetch_one(&mut *tx).await?;
            if taken > 0 {
                return Err(WriteError::UsernameTaken);
            }
            let inserted = sqlx::query_scalar::<_, i64>(
                "INSERT INTO users (username, username_folded, password, email, email_folded, first_name, last_name, \
                 search_key, is_staff, is_superuser, is_active, last_login, date_joined, created_via, email_verified, \
                 must_change_password, auth_source) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, 'sso', $13, FALSE, 'oidc') RETURNING id")
                .bind(&new.username).bind(fold(&new.username)).bind(&new.password_hash).bind(&new.email)
                .bind(fold(&new.email)).bind(&new.first_name).bind(&new.last_name)
                .bind(search_key(&new.username, &new.first_name, &new.last_name))
                .bind(new.is_staff).bind(new.is_superuser).bind(new.is_active).bind(now)
                .bind(new.email_verified).fetch_one(&mut *tx).await;
            let user_id = match inserted {
                Err(e) if is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                other => other?,
            };
            for name in &new.groups {
                sqlx::query("INSERT INTO user_groups (user_id, group_id) SELECT $1, id FROM groups WHERE name = $2 \
                             ON CONFLICT DO NOTHING").bind(user_id).bind(name).execute(&mut *tx).await?;
            }
            let linked = sqlx::query(
                "INSERT INTO external_identities (user_id, provider, subject, email, email_verified, created_date, last_login_date) \
                 VALUES ($1, $2, $3, $4, $5, $6, $6)")
                .bind(user_id).bind(id.provider).bind(id.subject).bind(id.email).bind(id.email_verified).bind(now)
                .execute(&mut *tx).await;
            match linked {
                Err(e) if is_unique_violation(&e) => return Err(WriteError::UsernameTaken),
                other => other?,
            };
            if self.dialect() == Dialect::Postgres {
                sqlx::query(FOLD_USER_COUNT).execute(&mut *tx).await?;
            }
            let ev = ev.clone().target("user", Some(user_id), &new.username);
            crate::store::audit::append_event!(tx, &ev)?;
            tx.commit().await?;
            user_id
        });
        self.user_by_id(user_id).await?.ok_or(WriteError::NotFound)
    }

    /// `local`, `ldap` or `oidc`: where the account's password is checked.
    pub async fn auth_source(&self, user_id: i64) -> sqlx::Result<Option<String>> {
        on_pool!(self, p => sqlx::query_scalar::<_, String>("SELECT auth_source FROM users WHERE id = $1")
            .bind(user_id).fetch_optional(p).await)
    }

    /// Unlinks the user's identity at `provider` unless it is the account's last way in: with
    /// no usable password (`!` prefix), an `oidc` source and no other identity. The check and
    /// the delete are one transaction. `Ok(None)`: not linked; `Ok(Some(false))`: refused.
    pub async fn unlink_identity(
        &self,
        user_id: i64,
        provider: &str,
    ) -> sqlx::Result<Option<bool>> {
        write_tx!(self, tx => {
            let linked: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM external_identities WHERE user_id = $1 AND provider = $2")
                .bind(user_id).bind(provider).fetch_one(&mut *tx).await?;
            if linked == 0 {
                return Ok(None);
            }
            let others: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM external_identities WHERE user_id = $1 AND provider <> $2")
                .bind(user_id).bind(provider).fetch_one(&mut *tx).await?;
            let (password, source): (String, String) = sqlx::query_as(
                "SELECT password, auth_source FROM users WHERE id = $1")
                .bind(user_id).fetch_one(&mut *tx).await?;
            let other_way = others > 0 || source == "ldap" || !password.starts_with('!');
            if !other_way {
                return Ok(Some(false));
            }
            sqlx::query("DELETE FROM external_identities WHERE user_id = $1 AND provider = $2")
                .bind(user_id).bind(provider).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Some(true))
        })
    }
}
