//! The audit log's one type: an [`AuditEvent`] says who did what to which object, from where.
//!
//! Why here: the service decides what a change *is* (its action name, its target), so it makes
//! the event and hands it to the store's write function, which appends it to the hash chain
//! inside the change's own transaction (`store/audit.rs`): no change without its event, no
//! event without its change. Callers outside a request (SCIM, the CLI) build one with
//! [`AuditEvent::new`] and the builder methods. Read-only requests make none (decision 4).
//!
//! Action names follow CVAT's `verb:object` (the README lists them); [`actions`] has them all.

use serde_json::{Map, Value};

use super::{OrgId, Requester};
use crate::store::UserRecord;

/// Every action the server records (the README's table).
pub mod actions {
    pub const LOGIN: &str = "login:user";
    pub const LOGIN_FAILED: &str = "login_failed:user";
    pub const LOGOUT: &str = "logout:user";
    pub const REGISTER: &str = "register:user";
    pub const CREATE_USER: &str = "create:user";
    pub const UPDATE_USER: &str = "update:user";
    pub const DELETE_USER: &str = "delete:user";
    pub const BLOCK_USER: &str = "block:user";
    pub const UNBLOCK_USER: &str = "unblock:user";
    pub const CONFIRM_EMAIL: &str = "confirm:email";
    pub const CHANGE_PASSWORD: &str = "change:password";
    pub const RESET_PASSWORD: &str = "reset:password";
    pub const SET_PASSWORD: &str = "set:password";
    pub const CREATE_ACCESS_TOKEN: &str = "create:access_token";
    pub const UPDATE_ACCESS_TOKEN: &str = "update:access_token";
    pub const DELETE_ACCESS_TOKEN: &str = "delete:access_token";
    pub const REVOKE_CREDENTIAL: &str = "revoke:credential";
    pub const REVOKE_CREDENTIALS: &str = "revoke:credentials";
    pub const CREATE_ORG: &str = "create:organization";
    pub const UPDATE_ORG: &str = "update:organization";
    pub const DELETE_ORG: &str = "delete:organization";
    pub const UPDATE_ORG_MFA_POLICY: &str = "update:organization_mfa_policy";
    pub const UPDATE_MEMBERSHIP: &str = "update:membership";
    pub const DELETE_MEMBERSHIP: &str = "delete:membership";
    pub const CREATE_INVITATION: &str = "create:invitation";
    pub const ACCEPT_INVITATION: &str = "accept:invitation";
    pub const DECLINE_INVITATION: &str = "decline:invitation";
    pub const RESEND_INVITATION: &str = "resend:invitation";
    pub const DELETE_INVITATION: &str = "delete:invitation";
    pub const ENABLE_MFA: &str = "enable:mfa";
    pub const DISABLE_MFA: &str = "disable:mfa";
    pub const RESET_MFA: &str = "reset:mfa";
    pub const RENEW_RECOVERY_CODES: &str = "renew:recovery_codes";
}

/// Where a request came from: the client address (as `request::client_address` finds it), its
/// `User-Agent` (at most 512 characters) and its `X-Request-Id`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    pub client_address: String,
    pub user_agent: String,
    pub request_id: String,
}

/// One audit event, before the store numbers and chains it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditEvent {
    /// CVAT-style `verb:object`, one of [`actions`].
    pub action: String,
    /// Who did it (kept as text: the row outlives the user).
    pub actor_id: Option<i64>,
    pub actor_username: String,
    /// How the actor authenticated: `password`, `basic`, `token`, `session`, `access_token`,
    /// `signature`, `totp`, `console`, `cli` (empty for anonymous requests).
    pub auth_method: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub target_name: String,
    pub org_id: Option<i64>,
    pub origin: Origin,
    /// Changed fields as `{"field": {"old": .., "new": ..}}`, or other details; never a secret.
    pub changes: Map<String, Value>,
}

impl AuditEvent {
    /// An event with no actor yet (anonymous requests, the CLI): add one with [`Self::actor`].
    pub fn new(action: &str, origin: &Origin) -> Self {
        AuditEvent {
            action: action.to_string(),
            origin: origin.clone(),
            ..Default::default()
        }
    }

    /// `action` done by an authenticated requester, in its selected organization if any.
    pub fn by(req: &Requester, action: &str) -> Self {
        AuditEvent {
            org_id: req.selected_org().map(|o| o.0),
            ..AuditEvent::new(action, &req.origin).actor(&req.user, req.method.audit_name())
        }
    }

    /// The same actor and origin, another action.
    pub fn with_action(mut self, action: &str) -> Self {
        self.action = action.to_string();
        self
    }

    pub fn actor(mut self, user: &UserRecord, auth_method: &str) -> Self {
        self.actor_id = Some(user.id);
        self.actor_username = user.username.clone();
        self.auth_method = auth_method.to_string();
        self
    }

    /// The authentication method alone (an actor that does not exist yet: a registration).
    pub fn actor_method(mut self, auth_method: &str) -> Self {
        self.auth_method = auth_method.to_string();
        self
    }

    pub fn target(mut self, kind: &str, id: Option<i64>, name: &str) -> Self {
        self.target_type = kind.to_string();
        self.target_id = id;
        self.target_name = name.to_string();
        self
    }

    /// The target is `user`.
    pub fn on_user(self, user: &UserRecord) -> Self {
        self.target("user", Some(user.id), &user.username)
    }

    pub fn in_org(mut self, org: OrgId) -> Self {
        self.org_id = Some(org.0);
        self
    }

    /// A field that changed from `old` to `new`.
    pub fn change(mut self, field: &str, old: impl Into<Value>, new: impl Into<Value>) -> Self {
        self.changes.insert(
            field.to_string(),
            serde_json::json!({"old": old.into(), "new": new.into()}),
        );
        self
    }

    /// A detail of the event that is not a field change (`{"key": value}`).
    pub fn detail(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.changes.insert(key.to_string(), value.into());
        self
    }
}

/// The largest page of `GET /api/audit-events`.
pub const MAX_PAGE_SIZE: i64 = 1000;

/// Who reads which events: administrators all (or, with an organization selected, that one's);
/// owners and maintainers of the selected organization that organization's; anyone else none
/// (403). Reading writes nothing.
pub async fn list(
    db: &crate::store::Db,
    req: &Requester,
    mut q: crate::store::AuditQuery,
) -> super::DomainResult<Vec<crate::store::AuditRecord>> {
    use super::{DomainError, OrgContext, OrgRole};
    match &req.org {
        OrgContext::Org { id, .. } if req.is_admin() => q.org_id = Some(id.0),
        _ if req.is_admin() => {}
        OrgContext::Org {
            id,
            role: Some(OrgRole::Owner | OrgRole::Maintainer),
        } => q.org_id = Some(id.0),
        _ => return Err(DomainError::Forbidden),
    }
    q.limit = q.limit.clamp(1, MAX_PAGE_SIZE);
    Ok(db.list_audit_events(&q).await?)
}
