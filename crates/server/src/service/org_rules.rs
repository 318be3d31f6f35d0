//! Who may do what with organizations, memberships and invitations (CVAT 2.3.0's
//! `organizations.rego`, `memberships.rego`, `invitations.rego`, as summarised in spec §11).

use super::permissions::{privilege, OrgContext, Requester};
use super::{OrgId, OrgRole, SystemRole};
use crate::store::{InvitationRecord, MembershipRecord};

impl Requester {
    fn privilege(&self) -> Option<SystemRole> {
        privilege(&self.user.groups)
    }

    /// `utils.has_perm(USER)`: privilege admin, business or user.
    fn at_least_user(&self) -> bool {
        self.privilege() >= Some(SystemRole::User)
    }

    /// The requester's active role in the selected organization when it is `org`.
    fn role_in(&self, org: OrgId) -> Option<OrgRole> {
        match &self.org {
            OrgContext::Org {
                id,
                role: Some(role),
            } if *id == org => Some(*role),
            _ => None,
        }
    }

    /// Business and admin users may create organizations; users only while they own none.
    pub fn can_create_org(&self, owned: i64) -> bool {
        match self.privilege() {
            Some(SystemRole::Admin | SystemRole::Business) => true,
            Some(SystemRole::User) => owned == 0,
            _ => false,
        }
    }

    /// Owner or maintainer (with any privilege), or an admin.
    pub fn can_update_org(&self, org: OrgId, owner_id: Option<i64>) -> bool {
        self.is_admin()
            || (self.privilege().is_some()
                && (owner_id == Some(self.id()) || self.role_in(org) == Some(OrgRole::Maintainer)))
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
            Some(OrgRole::Owner) => m.role != OrgRole::Owner,
            Some(OrgRole::Maintainer) => m.role <= OrgRole::Supervisor,
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
            && m.role != OrgRole::Owner
            && self.privilege().is_some();
        self.can_change_role(m) || leaving
    }

    /// In the organization's context: owners invite any non-owner role, maintainers workers
    /// and supervisors.
    pub fn can_invite(&self, org: OrgId, role: OrgRole) -> bool {
        if self.is_admin() {
            return true;
        }
        self.at_least_user()
            && match self.role_in(org) {
                Some(OrgRole::Owner) => role != OrgRole::Owner,
                Some(OrgRole::Maintainer) => role <= OrgRole::Supervisor,
                _ => false,
            }
    }

    /// Owners and maintainers (privilege user or higher) see all of the organization's invitations.
    pub fn is_org_staff_in(&self, org: OrgId) -> bool {
        self.at_least_user() && self.role_in(org) >= Some(OrgRole::Maintainer)
    }

    /// Newest CVAT's invitation detail rule: the inviter, the invitee, or the organization's
    /// owner or maintainer (privilege user or higher). `self` is in the invitation's org.
    pub fn can_view_invitation(&self, inv: &InvitationRecord) -> bool {
        self.is_admin()
            || inv.user.id == self.id()
            || self.is_inviter(inv)
            || self.is_org_staff_in(inv.organization_id)
    }

    /// Resend and delete: the inviter (any privilege, even after leaving the organization), or
    /// the organization's owner or maintainer (privilege user or higher).
    pub fn can_manage_invitation(&self, inv: &InvitationRecord) -> bool {
        self.is_admin()
            || (self.privilege().is_some() && self.is_inviter(inv))
            || self.is_org_staff_in(inv.organization_id)
    }

    /// Accept and decline: the invitee only.
    pub fn can_answer_invitation(&self, inv: &InvitationRecord) -> bool {
        self.is_admin() || inv.user.id == self.id()
    }

    fn is_inviter(&self, inv: &InvitationRecord) -> bool {
        inv.owner.as_ref().is_some_and(|o| o.id == self.id())
    }
}
