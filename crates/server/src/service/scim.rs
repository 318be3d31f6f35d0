//! What SCIM provisioning adds to the user operations of `users.rs` (issue 17): deprovisioning.
//! A user an identity provider turns off (`active: false`) or deletes loses every session,
//! login token and access token at once, besides the account refusing them (`auth` already
//! refuses inactive accounts); `DELETE` deactivates or deletes (`--scim-delete`). Every
//! change goes through `users::create`/`update`/`delete`/`set_password`, so the same rules
//! hold as for the REST API (the last-admin guard, who may change groups).
//!
//! Audit log: the changes are recorded by the `users` operations they go through (created,
//! changed with the fields, deactivated or deleted) and the revocation here, each with the
//! SCIM token as the actor's method (`scim`).

use clap::{Args, ValueEnum};

use super::audit::{actions, AuditEvent};
use super::users::{self, CreateUser, SetPassword, UserPatch};
use super::{DomainResult, Requester, UserId};
use crate::state::AppState;
use crate::store::{KeptCredential, UserRecord};

/// What `DELETE /scim/v2/Users/{id}` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum ScimDelete {
    /// Turn the account off (`is_active = false`) and revoke its credentials: its data and
    /// memberships stay, and the identity provider can turn it on again.
    #[default]
    Deactivate,
    /// Delete the account (as `DELETE /api/users/{id}`).
    Delete,
}

impl ScimDelete {
    fn as_str(self) -> &'static str {
        match self {
            ScimDelete::Deactivate => "deactivate",
            ScimDelete::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ScimArgs {
    /// What a SCIM `DELETE /scim/v2/Users/{id}` does: `deactivate` (keep the account, turned
    /// off, credentials revoked) or `delete` (remove it).
    #[arg(long, env = "CVAT_SCIM_DELETE", value_enum, default_value_t = ScimDelete::Deactivate)]
    pub scim_delete: ScimDelete,
}

impl ScimArgs {
    pub fn to_toml(&self, out: &mut String) {
        out.push_str(&format!(
            "scim_delete = \"{}\"\n",
            self.scim_delete.as_str()
        ));
    }
}

/// Revokes every credential of a user that was just turned off.
async fn revoke_all(state: &AppState, req: &Requester, user: &UserRecord) -> DomainResult<()> {
    let ev = AuditEvent::by(req, actions::REVOKE_CREDENTIALS).on_user(user);
    let gone = state
        .db
        .revoke_credentials_except(user.id, KeptCredential::Nothing, &ev)
        .await?;
    tracing::info!(
        user_id = user.id,
        revoked = gone,
        "SCIM deprovisioning: credentials revoked"
    );
    Ok(())
}

/// A provisioned user: `users::create` with the client's id.
pub async fn create(
    state: &AppState,
    req: &Requester,
    cmd: CreateUser,
) -> DomainResult<UserRecord> {
    let user = users::create(state, req, cmd).await?;
    tracing::info!(
        user_id = user.id,
        by = req.id(),
        "user provisioned through SCIM"
    );
    Ok(user)
}

/// A PUT or PATCH: the changes (one transaction), then a new password if one was given (which
/// revokes the user's credentials); turning the user off revokes them too.
pub async fn apply(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    patch: &UserPatch,
    password: Option<SetPassword>,
    base: &str,
) -> DomainResult<UserRecord> {
    let updated = users::update(state, req, target, patch, base).await?;
    if let Some(password) = password {
        users::set_password(state, req, &updated, password).await?;
    }
    if target.is_active && !updated.is_active {
        revoke_all(state, req, &updated).await?;
    }
    Ok(updated)
}

/// `DELETE`: as `--scim-delete` says.
pub async fn remove(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    mode: ScimDelete,
    base: &str,
) -> DomainResult<()> {
    match mode {
        ScimDelete::Delete => users::delete(state, req, target).await,
        ScimDelete::Deactivate => {
            let off = UserPatch {
                is_active: Some(false),
                ..Default::default()
            };
            let updated = users::update(state, req, target, &off, base).await?;
            revoke_all(state, req, &updated).await?;
            tracing::info!(
                user_id = target.id,
                by = req.id(),
                "user deprovisioned through SCIM"
            );
            Ok(())
        }
    }
}

/// The user `id`, whoever may see it (the SCIM requester is an administrator).
pub async fn find(state: &AppState, id: UserId) -> DomainResult<UserRecord> {
    state
        .db
        .user_by_id(id.0)
        .await?
        .ok_or(super::DomainError::NotFound)
}
