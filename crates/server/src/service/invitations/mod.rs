//! Invitations (spec §4): create, the newest CVAT's detail, accept, decline, resend and delete,
//! and 2.3.0's `PATCH` (resend, or accept with `?accepted`).
//!
//! Who an invitation is for decides what creating it does (spec §4.3, as the newest CVAT): an
//! existing account with a password is accepted at once while `--org-invitation-confirm` is
//! off (2.3.0's behaviour, no mail); otherwise the membership waits for the invitee and the
//! invitation mail is queued in the same transaction. An address without an account gets a
//! placeholder account (unusable password, `created_via = invitation`) that registration with
//! that address takes over. On detail routes the organization is the invitation's, whatever
//! the request selected; pending memberships count as none in every permission check.

pub mod mail;
mod settings;

pub use settings::{InvitationArgs, InvitationSettings};

use rand::distributions::{Alphanumeric, DistString};

use super::audit::{actions, AuditEvent};
use super::{orgs, DomainError, DomainResult, OrgId, OrgRole, Requester, UserId};
use crate::state::AppState;
use crate::store::{
    now_micros, Db, InvitationRecord, InvitationScope, Invitee, NewInvitation, NewMail,
};

pub const NOT_FOUND: &str = "No Invitation matches the given query.";
pub const EXPIRED: &str =
    "Your invitation is expired. Please contact organization owner to renew it.";
pub const ALREADY_ACCEPTED: &str = "Your invitation is already accepted.";
pub const RESEND_ACCEPTED: &str = "This invitation is already accepted.";
pub const NO_SUCH_EMAIL: &str = "No user with this e-mail address exists.";
/// `ResendOrganizationInvitationThrottle`: 5 per hour per user.
pub const LONG_PLACEHOLDER: &str = "An address without an account becomes the new account's \
     username, which holds at most 150 characters; this address is longer.";
const MAX_USERNAME_CHARS: usize = 150;
pub const RESENDS_PER_HOUR: i64 = 5;
const HOUR_MICROS: i64 = 3_600_000_000;

/// Whether the invitation can no longer be accepted: `None` while no mail was sent.
pub fn expired(inv: &InvitationRecord, settings: &InvitationSettings, now: i64) -> Option<bool> {
    inv.sent_date
        .map(|sent| sent.saturating_add(settings.expiry_micros()) <= now)
}

/// The invitations a list shows the requester.
pub fn scope(req: &Requester) -> InvitationScope {
    match (req.selected_org(), req.is_admin()) {
        (Some(org), true) => InvitationScope::Org(org),
        (Some(org), false) if req.is_org_staff_in(org) => InvitationScope::Org(org),
        (Some(org), false) => InvitationScope::Involving {
            user: req.user_id(),
            org: Some(org),
        },
        (None, true) => InvitationScope::All,
        (None, false) => InvitationScope::Involving {
            user: req.user_id(),
            org: None,
        },
    }
}

fn in_scope(scope: InvitationScope, inv: &InvitationRecord) -> bool {
    match scope {
        InvitationScope::All => true,
        InvitationScope::Org(org) => inv.organization_id == org,
        InvitationScope::Involving { user, org } => {
            let involved =
                inv.user.id == user.0 || inv.owner.as_ref().is_some_and(|o| o.id == user.0);
            involved && org.is_none_or(|o| o == inv.organization_id)
        }
    }
}

/// The organization an invitation goes to: the selected one (none selected: forbidden).
pub fn inviting_org(req: &Requester) -> DomainResult<OrgId> {
    req.selected_org().ok_or(DomainError::Forbidden)
}

/// An invitation of `email` as `role` into `org`.
#[derive(Debug, Clone)]
pub struct InviteMember {
    pub org: OrgId,
    pub role: OrgRole,
    pub email: String,
}

/// Django's unusable password: `!` and 40 random characters; it never verifies.
fn unusable_password() -> String {
    format!(
        "!{}",
        Alphanumeric.sample_string(&mut rand::thread_rng(), 40)
    )
}

fn render_mail(
    state: &AppState,
    origin: &str,
    inviter: &str,
    org_slug: &str,
    key: &str,
    to: &str,
    to_name: &str,
) -> DomainResult<NewMail> {
    let m = mail::InvitationMail {
        to,
        to_name,
        inviter,
        org_slug,
        key,
        base: state.mailer.link_base(origin),
    };
    // Addresses passed the e-mail validator; one lettre still refuses is not an address.
    mail::render(&state.mailer, &m)
        .map_err(|_| DomainError::field("email", "Enter a valid email address."))
}

/// Creates the invitation (spec §4.3); `origin` is the request's scheme and host, for the link.
pub async fn invite(
    state: &AppState,
    req: &Requester,
    cmd: &InviteMember,
    origin: &str,
) -> DomainResult<InvitationRecord> {
    let db = &state.db;
    if inviting_org(req)? != cmd.org || !req.can_invite(cmd.org, cmd.role) {
        return Err(DomainError::Forbidden);
    }
    let org = db
        .org_by_id(cmd.org.0)
        .await?
        .ok_or(DomainError::NotFound)?;
    let invitees = db.users_by_email(&cmd.email).await?;
    if invitees.len() > 1 {
        return Err(DomainError::field(
            "email",
            "Several users have this e-mail address; invite is ambiguous.",
        ));
    }
    let key = Alphanumeric.sample_string(&mut rand::thread_rng(), 64);
    let (invitee, to, to_name, regular) = match invitees.first() {
        Some(u) => (
            Invitee::Existing(UserId(u.id)),
            u.email.clone(),
            format!("{} {}", u.first_name, u.last_name),
            !u.password.starts_with('!'),
        ),
        None => {
            let email = cmd.email.to_lowercase();
            // The placeholder's username is the address (spec §4.3), and usernames hold 150.
            if email.chars().count() > MAX_USERNAME_CHARS {
                return Err(DomainError::field("email", LONG_PLACEHOLDER));
            }
            let placeholder = Invitee::Placeholder {
                email: email.clone(),
                password_hash: unusable_password(),
            };
            (placeholder, email, String::new(), false)
        }
    };
    let accepted = regular && !state.settings.invitations.confirm;
    let mail = match accepted {
        true => None,
        false => Some(render_mail(
            state,
            origin,
            &req.user.username,
            &org.slug,
            &key,
            &to,
            &to_name,
        )?),
    };
    let new = NewInvitation {
        key: &key,
        owner: req.user_id(),
        org: cmd.org,
        invitee,
        role: cmd.role,
        accepted,
        mail: mail.as_ref(),
    };
    let ev = AuditEvent::by(req, actions::CREATE_INVITATION)
        .target("invitation", None, &cmd.email)
        .in_org(cmd.org);
    db.create_invitation(&new, &ev).await.map_err(|e| match e {
        // The invitee was deleted meanwhile: as if it had not been found.
        crate::store::OrgWriteError::Gone => DomainError::field("email", NO_SUCH_EMAIL),
        other => other.into(),
    })?;
    if mail.is_some() {
        state.mailer.queued();
    }
    tracing::info!(
        org_id = %cmd.org,
        by = req.id(),
        accepted,
        mailed = mail.is_some(),
        "invitation created"
    );
    db.invitation(&key).await?.ok_or(DomainError::NotFound)
}

/// The invitation by key, or the newest CVAT's 404.
async fn lookup(db: &Db, key: &str) -> DomainResult<InvitationRecord> {
    db.invitation(key)
        .await?
        .ok_or(DomainError::Missing(NOT_FOUND))
}

/// `GET /api/invitations/{key}`: 404, then 403, in the invitation's organization.
pub async fn find(db: &Db, req: &Requester, key: &str) -> DomainResult<InvitationRecord> {
    let inv = lookup(db, key).await?;
    let req = orgs::in_org(db, req, inv.organization_id).await?;
    if !req.can_view_invitation(&inv) {
        return Err(DomainError::Forbidden);
    }
    Ok(inv)
}

/// Accept (invitee only): 404, 403, expired, already accepted. Answers the org's slug.
pub async fn accept(state: &AppState, req: &Requester, key: &str) -> DomainResult<String> {
    let inv = lookup(&state.db, key).await?;
    if !req.can_answer_invitation(&inv) {
        return Err(DomainError::Forbidden);
    }
    accept_checked(state, req, &inv, None).await?;
    Ok(inv.org_slug)
}

/// Expiry first (an old accepted invitation says "expired", as CVAT's), then acceptance.
async fn accept_checked(
    state: &AppState,
    req: &Requester,
    inv: &InvitationRecord,
    joined: Option<i64>,
) -> DomainResult<()> {
    if expired(inv, &state.settings.invitations, now_micros()) == Some(true) {
        return Err(DomainError::RefusedText(EXPIRED));
    }
    let ev = invitation_event(req, actions::ACCEPT_INVITATION, inv);
    if inv.accepted || !state.db.accept_invitation(&inv.key, joined, &ev).await? {
        return Err(DomainError::RefusedText(ALREADY_ACCEPTED));
    }
    tracing::info!(
        membership_id = inv.membership_id,
        by = req.id(),
        "invitation accepted"
    );
    Ok(())
}

/// Decline (invitee only): deletes the membership (leaving the organization if accepted).
pub async fn decline(db: &Db, req: &Requester, key: &str) -> DomainResult<()> {
    let inv = lookup(db, key).await?;
    if !req.can_answer_invitation(&inv) {
        return Err(DomainError::Forbidden);
    }
    db.decline_invitation(
        key,
        &invitation_event(req, actions::DECLINE_INVITATION, &inv),
    )
    .await?;
    tracing::info!(
        membership_id = inv.membership_id,
        by = req.id(),
        "invitation declined"
    );
    Ok(())
}

/// The resend limit, counted before anything else is looked at (CVAT's throttle runs first).
async fn throttle_resend(db: &Db, req: &Requester) -> DomainResult<()> {
    if let Err(oldest) = db
        .count_resend(req.user_id(), HOUR_MICROS, RESENDS_PER_HOUR)
        .await?
    {
        let wait = (oldest + HOUR_MICROS - now_micros()).max(1_000_000);
        let retry_after = (wait as u64).div_ceil(1_000_000);
        let unit = if retry_after == 1 {
            "second"
        } else {
            "seconds"
        };
        return Err(DomainError::Throttled {
            detail: format!("Request was throttled. Expected available in {retry_after} {unit}."),
            retry_after,
        });
    }
    Ok(())
}

/// `action` on invitation `inv` (its target: the invitation's membership and invitee; never
/// the key, which lets its holder join).
fn invitation_event(req: &Requester, action: &str, inv: &InvitationRecord) -> AuditEvent {
    AuditEvent::by(req, action)
        .target("invitation", Some(inv.membership_id), &inv.user.username)
        .in_org(inv.organization_id)
}

/// The invitation mail again, same key, `sent_date` now (so the expiry restarts).
async fn send_again(
    state: &AppState,
    req: &Requester,
    inv: &InvitationRecord,
    origin: &str,
) -> DomainResult<()> {
    let inviter = inv.owner.as_ref().map_or("", |o| o.username.as_str());
    let name = format!("{} {}", inv.user.first_name, inv.user.last_name);
    let mail = render_mail(
        state,
        origin,
        inviter,
        &inv.org_slug,
        &inv.key,
        &inv.user_email,
        &name,
    )?;
    let ev = invitation_event(req, actions::RESEND_INVITATION, inv);
    if !state.db.resend_invitation(&inv.key, &mail, &ev).await? {
        return Err(DomainError::RefusedText(RESEND_ACCEPTED));
    }
    state.mailer.queued();
    tracing::info!(
        membership_id = inv.membership_id,
        "invitation mail queued again"
    );
    Ok(())
}

/// Resend: 429, 404, 403, already accepted.
pub async fn resend(
    state: &AppState,
    req: &Requester,
    key: &str,
    origin: &str,
) -> DomainResult<()> {
    throttle_resend(&state.db, req).await?;
    let inv = lookup(&state.db, key).await?;
    let in_org = orgs::in_org(&state.db, req, inv.organization_id).await?;
    if !in_org.can_manage_invitation(&inv) {
        return Err(DomainError::Forbidden);
    }
    if inv.accepted {
        return Err(DomainError::RefusedText(RESEND_ACCEPTED));
    }
    send_again(state, req, &inv, origin).await
}

/// Delete the invitation only; its membership stays (CVAT's behaviour).
pub async fn destroy(db: &Db, req: &Requester, key: &str) -> DomainResult<()> {
    let inv = lookup(db, key).await?;
    let in_org = orgs::in_org(db, req, inv.organization_id).await?;
    if !in_org.can_manage_invitation(&inv) {
        return Err(DomainError::Forbidden);
    }
    db.delete_invitation(
        key,
        &invitation_event(req, actions::DELETE_INVITATION, &inv),
    )
    .await?;
    tracing::info!(
        membership_id = inv.membership_id,
        by = req.id(),
        "invitation deleted"
    );
    Ok(())
}

/// cvat-sdk 2.3.0's `PATCH /api/invitations/{key}` (spec §4.5): the list's visibility first
/// (404 `Not found.`), then accept (`?accepted`, the invitee) or resend (the inviter, or the
/// organization's owner or maintainer). Resend does what 2.3.0's `send()` does for accounts
/// with a password while confirmation is off (accept, joined at creation, no mail); for the
/// invitations that wait for their invitee it sends the mail again, as the newest resend.
/// Accepting checks the expiry too (2.3.0 had none): an expired link stays expired.
pub async fn legacy_patch(
    state: &AppState,
    req: &Requester,
    key: &str,
    accept: bool,
    origin: &str,
) -> DomainResult<InvitationRecord> {
    let db = &state.db;
    let inv = db.invitation(key).await?.ok_or(DomainError::NotFound)?;
    if !in_scope(scope(req), &inv) {
        return Err(DomainError::NotFound);
    }
    if accept {
        if !req.can_answer_invitation(&inv) {
            return Err(DomainError::Forbidden);
        }
        if !inv.accepted {
            accept_checked(state, req, &inv, None).await?;
        }
    } else {
        let in_org = orgs::in_org(db, req, inv.organization_id).await?;
        if !in_org.can_manage_invitation(&inv) {
            return Err(DomainError::Forbidden);
        }
        if !inv.accepted {
            let invitee = db.user_by_id(inv.user.id).await?;
            let regular = invitee.is_some_and(|u| !u.password.starts_with('!'));
            if regular && !state.settings.invitations.confirm {
                let ev = invitation_event(req, actions::ACCEPT_INVITATION, &inv)
                    .detail("resent_by_inviter", true);
                db.accept_invitation(key, Some(inv.created_date), &ev)
                    .await?;
            } else {
                throttle_resend(db, req).await?;
                send_again(state, req, &inv, origin).await?;
            }
        }
    }
    db.invitation(key).await?.ok_or(DomainError::NotFound)
}
