//! User operations (spec §6–§8, decisions 5 and 6, issue 8) for every entry point: the REST
//! handlers, the console and `createsuperuser`. Commands arrive validated field by field (the
//! edge parses CVAT's bodies); here live the rules about who may do what and the writes.

use super::audit::{actions, AuditEvent};
use super::permissions::ADMIN_ONLY_FIELDS;
use super::{DomainError, DomainResult, Requester, SystemRole, UserId};
use crate::auth;
use crate::state::AppState;
use crate::store::{Db, NewUser, UserQuery, UserRecord};
use crate::validate::py_set_repr;

/// A new account (`POST /api/users`, the console's "new user", `createsuperuser`).
#[derive(Debug, Clone)]
pub struct CreateUser {
    pub username: String,
    pub email: String,
    /// Already checked against the password rules.
    pub password: String,
    pub first_name: String,
    pub last_name: String,
    /// `None`: CVAT's default groups.
    pub groups: Option<Vec<String>>,
    pub is_staff: bool,
    pub is_superuser: bool,
    pub is_active: bool,
    /// The user must choose a new password before anything else.
    pub must_change_password: bool,
    /// The provisioning client's id of the account (SCIM `externalId`, `http::scim`).
    pub external_id: Option<String>,
}

/// What a PATCH changes; `None` leaves a column as it is. Values are already validated.
#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub username: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub is_staff: Option<bool>,
    pub is_superuser: Option<bool>,
    pub is_active: Option<bool>,
    pub groups: Option<Vec<String>>,
    /// An administrator marks the address confirmed (`true`), pending (`false`, a mail goes
    /// out) or not asked (`null`).
    pub email_verified: Option<Option<bool>>,
    /// An administrator requires (or lifts) a new password before anything else.
    pub must_change_password: Option<bool>,
    /// The provisioning client's id of the account (SCIM `externalId`); `Some(None)` clears it.
    pub external_id: Option<Option<String>>,
}

impl UserPatch {
    /// The admin-only fields this patch touches, in `ADMIN_ONLY_FIELDS` order.
    fn admin_only_fields(&self) -> Vec<String> {
        let given = [
            self.email.is_some(),
            self.groups.is_some(),
            self.is_staff.is_some(),
            self.is_superuser.is_some(),
            self.is_active.is_some(),
            self.email_verified.is_some(),
            self.must_change_password.is_some(),
        ];
        ADMIN_ONLY_FIELDS
            .iter()
            .zip(given)
            .filter(|(_, g)| *g)
            .map(|(f, _)| f.to_string())
            .collect()
    }
}

/// A new password for someone else (already checked against the password rules).
#[derive(Debug, Clone)]
pub struct SetPassword {
    pub password: String,
    /// The user must choose another one at the next login.
    pub must_change: bool,
}

/// The right a lookup checks once the user is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAccess {
    View,
    Modify,
    SetPassword,
    /// Blocking, unblocking and clearing locks (`service::access`): the admin privilege.
    Administer,
}

impl UserAccess {
    fn allows(self, req: &Requester, target: UserId) -> bool {
        match self {
            UserAccess::View => req.can_view(target.0),
            UserAccess::Modify => req.can_modify(target.0),
            UserAccess::SetPassword => req.can_set_password(),
            UserAccess::Administer => req.is_admin(),
        }
    }
}

/// User `id` as seen through `q` (not found when it is not there), if the requester has
/// `access` to it (forbidden otherwise).
pub async fn find(
    db: &Db,
    req: &Requester,
    q: &UserQuery,
    id: UserId,
    access: UserAccess,
) -> DomainResult<UserRecord> {
    let target = db.find_user(q, id.0).await?.ok_or(DomainError::NotFound)?;
    if !access.allows(req, UserId(target.id)) {
        return Err(DomainError::Forbidden);
    }
    Ok(target)
}

/// Creating users and setting passwords: the `admin` privilege only. Handlers call this before
/// reading the body, so that 403 comes before 400 as in CVAT.
pub fn ensure_admin(req: &Requester) -> DomainResult<()> {
    if req.can_create_user() && req.can_set_password() {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

pub(super) async fn hash(password: String) -> DomainResult<String> {
    auth::hash_blocking(password)
        .await
        .map_err(|e| DomainError::Internal(e.into()))
}

/// CVAT's post-save signal on creation: `admin` for a staff superuser, else `user`; a given
/// list replaces that, but a staff superuser keeps `admin` (spec §7.4).
fn groups_of(cmd: &CreateUser) -> Vec<String> {
    let admin = SystemRole::Admin.as_str();
    let staff_superuser = cmd.is_superuser && cmd.is_staff;
    let default = if staff_superuser {
        SystemRole::Admin
    } else {
        SystemRole::User
    };
    let mut groups = cmd
        .groups
        .clone()
        .unwrap_or_else(|| vec![default.as_str().into()]);
    if staff_superuser && !groups.iter().any(|g| g == admin) {
        groups.insert(0, admin.into());
    }
    groups
}

fn new_user(cmd: &CreateUser, password_hash: String) -> NewUser {
    NewUser {
        username: cmd.username.clone(),
        password_hash,
        email: cmd.email.clone(),
        first_name: cmd.first_name.clone(),
        last_name: cmd.last_name.clone(),
        is_staff: cmd.is_staff,
        is_superuser: cmd.is_superuser,
        groups: groups_of(cmd),
        logged_in: false,
        is_active: cmd.is_active,
        created_via: None,
        email_verified: None,
        must_change_password: cmd.must_change_password,
        external_id: cmd.external_id.clone(),
    }
}

/// Creates a user for an administrator.
pub async fn create(
    state: &AppState,
    req: &Requester,
    cmd: CreateUser,
) -> DomainResult<UserRecord> {
    ensure_admin(req)?;
    let hashed = hash(cmd.password.clone()).await?;
    let ev = AuditEvent::by(req, actions::CREATE_USER);
    let user = state.db.create_user(&new_user(&cmd, hashed), &ev).await?;
    tracing::info!(user_id = user.id, by = req.id(), "user created");
    Ok(user)
}

/// `createsuperuser`: the operator at the server's console creates a staff superuser (the
/// `admin` group follows from the flags).
pub async fn create_superuser(db: &Db, cmd: CreateUser) -> DomainResult<UserRecord> {
    let cmd = CreateUser {
        is_staff: true,
        is_superuser: true,
        ..cmd
    };
    let hashed = hash(cmd.password.clone()).await?;
    // Not logged: the command prints its own result.
    let ev = AuditEvent::new(actions::CREATE_USER, &Default::default())
        .actor_method("cli")
        .detail("command", "createsuperuser");
    Ok(db.create_user(&new_user(&cmd, hashed), &ev).await?)
}

/// Applies a PATCH to a user the requester may modify, in one transaction (the last-admin
/// guard answers a conflict). Staff who are not admins may not touch the admin-only fields.
/// A new address needs confirming while verification is on: the mail's link starts with
/// `base` (`Mailer::link_base`).
pub async fn update(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    patch: &UserPatch,
    base: &str,
) -> DomainResult<UserRecord> {
    if !req.can_modify(target.id) {
        return Err(DomainError::Forbidden);
    }
    if req.is_staff() && !req.is_admin() {
        // Decision 5: the staff flag alone does not let anyone change privileges or e-mail.
        let restricted = patch.admin_only_fields();
        if !restricted.is_empty() {
            return Err(DomainError::non_field(format!(
                "You do not have permissions to access some of these fields: {}",
                py_set_repr(&restricted)
            )));
        }
    }
    let (patch, mail) = super::verification::on_update(state, target, patch, base);
    let updated = state
        .db
        .update_user_mailing(
            UserId(target.id),
            &patch,
            mail.as_ref(),
            &AuditEvent::by(req, actions::UPDATE_USER),
        )
        .await?;
    if mail.is_some() {
        state.mailer.queued();
    }
    Ok(updated)
}

/// Deletes a user the requester may modify (a conflict for the last active admin).
pub async fn delete(state: &AppState, req: &Requester, target: &UserRecord) -> DomainResult<()> {
    if !req.can_modify(target.id) {
        return Err(DomainError::Forbidden);
    }
    let ev = AuditEvent::by(req, actions::DELETE_USER).on_user(target);
    state.db.delete_user(UserId(target.id), &ev).await?;
    tracing::info!(user_id = target.id, by = req.id(), "user deleted");
    Ok(())
}

pub const PASSWORD_SET: &str =
    "The password has been set. The user's sessions and tokens have been revoked.";

/// Sets `target`'s password and revokes its sessions, API token and personal access tokens.
pub async fn set_password(
    state: &AppState,
    req: &Requester,
    target: &UserRecord,
    cmd: SetPassword,
) -> DomainResult<()> {
    ensure_admin(req)?;
    let hashed = hash(cmd.password).await?;
    if !state
        .db
        .set_password_revoking(
            target.id,
            &hashed,
            cmd.must_change,
            &AuditEvent::by(req, actions::SET_PASSWORD)
                .on_user(target)
                .detail("must_change_password", cmd.must_change),
        )
        .await?
    {
        return Err(DomainError::NotFound);
    }
    tracing::info!(
        user_id = target.id,
        by = req.id(),
        "password set by an administrator; credentials revoked"
    );
    Ok(())
}
