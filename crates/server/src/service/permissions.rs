//! Who may do what (spec §3–§4, decisions 5 and 6), as plain functions of the requester.

use super::{OrgId, OrgRole, SystemRole, UserId};
use crate::auth::{AuthMethod, Identity};
use crate::store::{OrgScope, UserQuery, UserRecord};

/// Fields that only an `admin` may change (decision 5).
pub const ADMIN_ONLY_FIELDS: [&str; 7] = [
    "email",
    "groups",
    "is_staff",
    "is_superuser",
    "is_active",
    "email_verified",
    "must_change_password",
];

pub fn privilege(groups: &[String]) -> Option<SystemRole> {
    SystemRole::privilege_of(groups)
}

/// The organization a request works in (spec §3.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgContext {
    /// No selector: the personal workspace, no visibility filter.
    Sandbox,
    /// An empty `org`/`X-Organization`: personal workspace, only users without memberships.
    Personal,
    /// A selected organization and the requester's active role in it, if any.
    Org { id: OrgId, role: Option<OrgRole> },
}

/// An authenticated requester that passed the organization gate.
#[derive(Debug, Clone)]
pub struct Requester {
    pub user: UserRecord,
    pub method: AuthMethod,
    pub org: OrgContext,
    /// Where the request came from (for its audit events).
    pub origin: super::audit::Origin,
}

impl Requester {
    pub fn new(identity: Identity, org: OrgContext) -> Self {
        Requester {
            user: identity.user,
            method: identity.method,
            org,
            origin: Default::default(),
        }
    }

    /// The requester, with the request's origin for its audit events.
    pub fn with_origin(mut self, origin: super::audit::Origin) -> Self {
        self.origin = origin;
        self
    }

    pub fn id(&self) -> i64 {
        self.user.id
    }

    pub fn user_id(&self) -> UserId {
        UserId(self.user.id)
    }

    /// The organization the request selected, if any.
    pub fn selected_org(&self) -> Option<OrgId> {
        match self.org {
            OrgContext::Org { id, .. } => Some(id),
            _ => None,
        }
    }

    pub fn is_admin(&self) -> bool {
        privilege(&self.user.groups) == Some(SystemRole::Admin)
    }

    /// CVAT picks the full serializer by the `is_staff` flag, not by privilege (§5.3).
    pub fn is_staff(&self) -> bool {
        self.user.is_staff
    }

    /// `IsMemberInOrganization`: a selected organization needs an active membership, except
    /// for superusers.
    pub fn passes_org_gate(&self) -> bool {
        match &self.org {
            OrgContext::Org { role: None, .. } => self.user.is_superuser,
            _ => true,
        }
    }

    fn org_scope(&self) -> OrgScope {
        match self.org {
            OrgContext::Sandbox => OrgScope::Any,
            OrgContext::Personal => OrgScope::NoMemberships,
            OrgContext::Org { id, .. } => OrgScope::MemberOf(id.0),
        }
    }

    /// The users a list may show: everyone for admins outside an organization, the members of
    /// a selected organization, otherwise only the requester.
    pub fn list_scope(&self) -> UserQuery {
        let only_self = !self.is_admin() && !matches!(self.org, OrgContext::Org { .. });
        UserQuery {
            only_id: only_self.then_some(self.id()),
            org: self.org_scope(),
            ..Default::default()
        }
    }

    /// Detail routes see the organization filter but not the list's "only self" rule: the
    /// object check answers 403 instead (decision table §4.3).
    pub fn detail_scope(&self) -> UserQuery {
        UserQuery {
            org: self.org_scope(),
            ..Default::default()
        }
    }

    pub fn can_view(&self, target_id: i64) -> bool {
        self.is_admin()
            || target_id == self.id()
            || matches!(&self.org, OrgContext::Org { role: Some(_), .. })
    }

    pub fn can_modify(&self, target_id: i64) -> bool {
        self.is_admin() || target_id == self.id()
    }

    /// `POST /api/users` and the console's "new user": the `admin` privilege only.
    pub fn can_create_user(&self) -> bool {
        self.is_admin()
    }

    /// `POST /api/users/{id}/password`: an administrator sets anybody's password (users change
    /// their own through `/api/auth/password/change`, which asks for the old one).
    pub fn can_set_password(&self) -> bool {
        self.is_admin()
    }

    /// The console at `/admin/`: the `admin` privilege only, whatever the `is_staff` flag says.
    pub fn can_use_console(&self) -> bool {
        self.is_admin()
    }
}
