//! Blocking accounts and clearing login locks (issue 15), for administrators.
//!
//! A blocked account keeps its data, memberships and credentials, but none of them
//! authenticates (`auth::authenticate` and the password check refuse it with [`BLOCKED`]);
//! unblocking restores it as it was. Unlike `is_active`, which CVAT's serializers let
//! administrators edit, only these operations change it, and the last active unblocked admin
//! cannot be blocked. An administrator may also require a new password (`must_change_password`):
//! until the user sets one, only the password change, logout and reading oneself pass (the
//! `Requester` extractor asks [`may_pass_before_new_password`]). Clearing a lock forgets the account's failed passwords and second-factor
//! codes, so a user locked out by someone guessing can log in again at once.

use super::audit::{actions, AuditEvent};
use super::users::ensure_admin;
use super::{DomainError, DomainResult, Requester, UserId};
use crate::auth::throttle;
use crate::state::AppState;
use crate::store::{fold, UserRecord};

pub const BLOCKED: &str = "This account is blocked. Ask an administrator to unblock it.";
pub const SELF_BLOCK: &str = "You cannot block your own account.";
pub const MUST_CHANGE_PASSWORD: &str =
    "You must choose a new password first: POST /api/auth/password/change.";

/// What a user who must change the password may still do: change it, read oneself, log out.
/// (Routes that need no authentication, such as `/api/server/*`, never ask.)
pub fn may_pass_before_new_password(parts: &axum::http::request::Parts) -> bool {
    matches!(
        (parts.method.as_str(), parts.uri.path()),
        ("POST", "/api/auth/password/change")
            | ("GET" | "HEAD", "/api/users/self")
            | ("POST", "/api/auth/logout")
    )
}

/// What an administrator sees of an account's access.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountAccess {
    /// When the account was blocked (microseconds); `None`: not blocked.
    pub blocked_date: Option<i64>,
    /// Seconds until password logins unlock, while the account is locked.
    pub login_locked_for: Option<u64>,
    pub must_change_password: bool,
}

pub fn is_blocked(user: &UserRecord) -> bool {
    user.blocked_date.is_some()
}

async fn access_of(state: &AppState, user: &UserRecord) -> DomainResult<AccountAccess> {
    let locked = throttle::account_locked_for(state, &user.username).await?;
    Ok(AccountAccess {
        blocked_date: user.blocked_date,
        login_locked_for: locked,
        must_change_password: user.must_change_password,
    })
}

/// What an administrator asks of an account's access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessChange {
    /// Nothing: just show it.
    Show,
    Block,
    Unblock,
    ClearLock,
}

impl AccessChange {
    /// The console's form value (`block`, `unblock`, `unlock`).
    pub fn parse(form_value: &str) -> Option<AccessChange> {
        match form_value {
            "block" => Some(AccessChange::Block),
            "unblock" => Some(AccessChange::Unblock),
            "unlock" => Some(AccessChange::ClearLock),
            _ => None,
        }
    }
}

/// Applies `change` to `target`'s access; answers the access afterwards.
pub async fn apply(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    change: AccessChange,
) -> DomainResult<AccountAccess> {
    match change {
        AccessChange::Show => access(state, req, target).await,
        AccessChange::Block => set_blocked(state, req, target, true).await,
        AccessChange::Unblock => set_blocked(state, req, target, false).await,
        AccessChange::ClearLock => clear_lock(state, req, target).await,
    }
}

/// The account's block and lock.
pub async fn access(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
) -> DomainResult<AccountAccess> {
    ensure_admin(req)?;
    access_of(state, target).await
}

/// Blocks or unblocks `target` (not oneself; not the last active admin).
pub async fn set_blocked(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    blocked: bool,
) -> DomainResult<AccountAccess> {
    ensure_admin(req)?;
    if blocked && target.id == req.id() {
        return Err(DomainError::non_field(SELF_BLOCK));
    }
    let action = match blocked {
        true => actions::BLOCK_USER,
        false => actions::UNBLOCK_USER,
    };
    let ev = AuditEvent::by(req, action).on_user(target);
    let user = state
        .db
        .set_blocked(UserId(target.id), blocked, &ev)
        .await?;
    let what = if blocked { "blocked" } else { "unblocked" };
    tracing::info!(user_id = user.id, by = req.id(), "account {what}");
    access_of(state, &user).await
}

/// Forgets `target`'s failed passwords and second-factor codes: both locks end.
pub async fn clear_lock(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
) -> DomainResult<AccountAccess> {
    ensure_admin(req)?;
    let db = &state.db;
    db.clear_login_failures(throttle::ACCOUNT, &fold(&target.username))
        .await?;
    db.clear_login_failures(super::mfa::FAILURES, &target.id.to_string())
        .await?;
    tracing::info!(user_id = target.id, by = req.id(), "login lock cleared");
    access_of(state, target).await
}
