//! Organizations and memberships (spec §11): lookups with CVAT's visibility rules, and writes
//! for the requesters `org_rules` allows. Invitations are in `invitations`.

use super::audit::{actions, AuditEvent};
use super::{DomainError, DomainResult, OrgContext, OrgId, OrgRole, Requester};
use crate::filters;
use crate::store::{Db, MembershipRecord, MembershipScope, OrgChanges, OrgRecord};

/// The requester as if it had selected `org` (its active role there, if any).
pub async fn in_org(db: &Db, req: &Requester, org: OrgId) -> DomainResult<Requester> {
    let role = db.active_role(req.user_id(), org).await?;
    Ok(Requester {
        org: OrgContext::Org { id: org, role },
        ..req.clone()
    })
}

// ---------------------------------------------------------------------------------------------
// Organizations

/// The organizations the requester may see (admins: all), newest first, with `search` applied.
pub async fn visible(
    db: &Db,
    req: &Requester,
    search: Option<&str>,
) -> DomainResult<Vec<OrgRecord>> {
    let visible_to = (!req.is_admin()).then_some(req.user_id());
    let search = filters::parse_search(search).map_err(|e| DomainError::Refused(e.0))?;
    Ok(db.list_orgs(visible_to, &search).await?)
}

/// Organization `id` if the requester may see it (not found otherwise).
pub async fn find(db: &Db, req: &Requester, id: OrgId) -> DomainResult<OrgRecord> {
    let org = db.org(id).await?.ok_or(DomainError::NotFound)?;
    if !req.is_admin() && !db.org_visible_to(id, req.user_id()).await? {
        return Err(DomainError::NotFound);
    }
    Ok(org)
}

/// Checked before the body is read (403 before 400, as in CVAT) and again on creation.
pub async fn ensure_can_create(db: &Db, req: &Requester) -> DomainResult<()> {
    if req.can_create_org(db.count_owned_orgs(req.user_id()).await?) {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

/// Creates an organization owned by the requester (with its `owner` membership).
pub async fn create(db: &Db, req: &Requester, fields: &OrgChanges) -> DomainResult<OrgRecord> {
    ensure_can_create(db, req).await?;
    let ev = AuditEvent::by(req, actions::CREATE_ORG);
    let id = db.create_org(req.user_id(), fields, &ev).await?;
    tracing::info!(org_id = %id, by = req.id(), "organization created");
    db.org(id).await?.ok_or(DomainError::NotFound)
}

pub fn ensure_can_update(req: &Requester, org: &OrgRecord) -> DomainResult<()> {
    if req.can_update_org(org.id, org.owner.as_ref().map(|o| o.id)) {
        Ok(())
    } else {
        Err(DomainError::Forbidden)
    }
}

pub async fn update(
    db: &Db,
    req: &Requester,
    org: &OrgRecord,
    fields: &OrgChanges,
) -> DomainResult<OrgRecord> {
    ensure_can_update(req, org)?;
    let ev = AuditEvent::by(req, actions::UPDATE_ORG)
        .target("organization", Some(org.id.0), &org.slug)
        .in_org(org.id);
    db.update_org(org.id, fields, &ev).await?;
    db.org(org.id).await?.ok_or(DomainError::NotFound)
}

/// Deletes an organization; its memberships and invitations go with it.
pub async fn delete(db: &Db, req: &Requester, org: &OrgRecord) -> DomainResult<()> {
    if !req.can_delete_org(org.owner.as_ref().map(|o| o.id)) {
        return Err(DomainError::Forbidden);
    }
    let ev = AuditEvent::by(req, actions::DELETE_ORG)
        .target("organization", Some(org.id.0), &org.slug)
        .in_org(org.id);
    db.delete_org(org.id, &ev).await?;
    tracing::info!(org_id = %org.id, by = req.id(), "organization deleted");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Memberships

/// The memberships a list shows the requester.
pub fn membership_scope(req: &Requester) -> MembershipScope {
    match (req.selected_org(), req.is_admin()) {
        (Some(org), admin) => MembershipScope::Org {
            org,
            only_active: !admin,
        },
        (None, true) => MembershipScope::All,
        (None, false) => MembershipScope::OwnActive(req.user_id()),
    }
}

/// The right a membership lookup checks once the membership is found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MembershipAccess {
    View,
    ChangeRole,
    /// Checked by `remove_membership` itself (leaving is allowed too).
    Remove,
}

/// Membership `id`; one of another organization than the selected one is not found.
pub async fn find_membership(
    db: &Db,
    req: &Requester,
    id: i64,
    access: MembershipAccess,
) -> DomainResult<MembershipRecord> {
    let m = db.membership(id).await?.ok_or(DomainError::NotFound)?;
    if req
        .selected_org()
        .is_some_and(|org| org != m.organization_id)
    {
        return Err(DomainError::NotFound);
    }
    let allowed = match access {
        MembershipAccess::View => req.can_view_membership(&m),
        MembershipAccess::ChangeRole => req.can_change_role(&m),
        MembershipAccess::Remove => true,
    };
    if !allowed {
        return Err(DomainError::Forbidden);
    }
    Ok(m)
}

/// Gives the member `role` (`None` changes nothing); the membership as stored afterwards.
pub async fn change_role(
    db: &Db,
    req: &Requester,
    m: &MembershipRecord,
    role: Option<OrgRole>,
) -> DomainResult<MembershipRecord> {
    if !req.can_change_role(m) {
        return Err(DomainError::Forbidden);
    }
    if let Some(role) = role {
        db.set_membership_role(
            m.id,
            role,
            &membership_event(req, actions::UPDATE_MEMBERSHIP, m),
        )
        .await?;
    }
    db.membership(m.id).await?.ok_or(DomainError::NotFound)
}

pub async fn remove_membership(db: &Db, req: &Requester, m: &MembershipRecord) -> DomainResult<()> {
    if !req.can_delete_membership(m) {
        return Err(DomainError::Forbidden);
    }
    db.delete_membership(m.id, &membership_event(req, actions::DELETE_MEMBERSHIP, m))
        .await?;
    tracing::info!(membership_id = m.id, by = req.id(), "membership deleted");
    Ok(())
}

/// `action` on membership `m` (its target name: the member's username).
fn membership_event(req: &Requester, action: &str, m: &MembershipRecord) -> AuditEvent {
    AuditEvent::by(req, action)
        .target("membership", Some(m.id), &m.user.username)
        .in_org(m.organization_id)
        .detail("user_id", m.user.id)
}

// ---------------------------------------------------------------------------------------------
// Second-factor policy (sso-and-mfa §4.8)

/// An organization's second-factor policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgMfaPolicy {
    /// Since when members must have TOTP (`None`: they need not).
    pub required_since: Option<i64>,
    pub grace_period_hours: i64,
}

/// The policy of organization `id`, for its members and the admin privilege (404 otherwise).
pub async fn mfa_policy(db: &Db, req: &Requester, id: OrgId) -> DomainResult<OrgMfaPolicy> {
    find(db, req, id).await?;
    let org = db.org_by_id(id.0).await?.ok_or(DomainError::NotFound)?;
    Ok(OrgMfaPolicy {
        required_since: org.mfa_required_since,
        grace_period_hours: org.mfa_grace_period_hours,
    })
}

/// Who may change the policy: the owner or the admin privilege (404 for those who cannot see
/// the organization, 403 for other members).
pub async fn ensure_can_set_mfa_policy(db: &Db, req: &Requester, id: OrgId) -> DomainResult<()> {
    let org = find(db, req, id).await?;
    match req.is_admin() || org.owner.as_ref().is_some_and(|o| o.id == req.id()) {
        true => Ok(()),
        false => Err(DomainError::Forbidden),
    }
}

/// Changes the policy (the owner or the admin privilege; 403 for other members). `None` keeps
/// a value.
pub async fn set_mfa_policy(
    db: &Db,
    req: &Requester,
    id: OrgId,
    require: Option<bool>,
    grace_hours: Option<i64>,
) -> DomainResult<OrgMfaPolicy> {
    ensure_can_set_mfa_policy(db, req, id).await?;
    let current = mfa_policy(db, req, id).await?;
    let require = require.unwrap_or(current.required_since.is_some());
    let grace = grace_hours.unwrap_or(current.grace_period_hours);
    let ev = AuditEvent::by(req, actions::UPDATE_ORG_MFA_POLICY)
        .target("organization", Some(id.0), "")
        .in_org(id);
    db.set_org_mfa_policy(id, require, grace, &ev).await?;
    tracing::info!(org_id = %id, by = req.id(), require, grace, "organization mfa policy changed");
    mfa_policy(db, req, id).await
}
