//! Who may do what with organizations, memberships and invitations (CVAT 2.3.0's
//! `organizations.rego`, `memberships.rego`, `invitations.rego`, as summarised in spec §11).

use crate::permissions::{privilege, OrgContext, Requester};
use crate::store::MembershipRecord;

pub const ROLES: [&str; 4] = ["worker", "supervisor", "maintainer", "owner"];

impl Requester {
    fn privilege(&self) -> Option<&'static str> {
        privilege(&self.user.groups)
    }

    /// `utils.has_perm(USER)`: privilege admin, business or user.
    fn at_least_user(&self) -> bool {
        matches!(self.privilege(), Some("admin" | "business" | "user"))
    }

    /// The requester's active role in the selected organization when it is `org`.
    fn role_in(&self, org: i64) -> Option<&str> {
        match &self.org {
            OrgContext::Org {
                id,
                role: Some(role),
            } if *id == org => Some(role.as_str()),
            _ => None,
        }
    }

    /// Business and admin users may create organizations; users only while they own none.
    pub fn can_create_org(&self, owned: i64) -> bool {
        match self.privilege() {
            Some("admin" | "business") => true,
            Some("user") => owned == 0,
            _ => false,
        }
    }

    /// Owner or maintainer (with any privilege), or an admin.
    pub fn can_update_org(&self, org: i64, owner_id: Option<i64>) -> bool {
        self.is_admin()
            || (self.privilege().is_some()
                && (owner_id == Some(self.id()) || self.role_in(org) == Some("maintainer")))
    }

    pub fn can_delete_org(&self, owner_id: Option<i64>) -> bool {
        self.is_admin() || (self.privilege().is_some() && owner_id == Some(self.id()))
    }

    pub fn can_view_membership(&self, m: &MembershipRecord) -> bool {
        self.is_admin() || m.user.id == self.id() || self.role_in(m.organization_id).is_some()
    }

    /// Owners manage every non-owner membership, maintainers workers and supervisors.
    fn manages(&self, m: &MembershipRecord) -> bool {
        match self.role_in(m.organization_id) {
            Some("owner") => m.role != "owner",
            Some("maintainer") => matches!(m.role.as_str(), "worker" | "supervisor"),
            _ => false,
        }
    }

    pub fn can_change_role(&self, m: &MembershipRecord) -> bool {
        self.is_admin() || (self.privilege().is_some() && self.manages(m))
    }

    /// As `can_change_role`, plus leaving: one's own active, non-owner membership.
    pub fn can_delete_membership(&self, m: &MembershipRecord) -> bool {
        let leaving = m.user.id == self.id()
            && m.is_active
            && m.role != "owner"
            && self.privilege().is_some();
        self.can_change_role(m) || leaving
    }

    /// In the organization's context: owners invite any non-owner role, maintainers workers
    /// and supervisors.
    pub fn can_invite(&self, org: i64, role: &str) -> bool {
        if self.is_admin() {
            return true;
        }
        self.at_least_user()
            && match self.role_in(org) {
                Some("owner") => role != "owner",
                Some("maintainer") => matches!(role, "worker" | "supervisor"),
                _ => false,
            }
    }

    /// Owners and maintainers (privilege user or higher) see all of the organization's invitations.
    pub fn is_org_staff_in(&self, org: i64) -> bool {
        self.at_least_user() && matches!(self.role_in(org), Some("owner" | "maintainer"))
    }
}
