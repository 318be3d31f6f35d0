//! TOTP as a second factor (issue 15; `../shared/spec/sso-and-mfa.md` §3, §4.3–§4.7): enrolment,
//! the code checks of login step two, Basic and self-management, recovery codes, and an
//! administrator's reset.
//!
//! A code is accepted within ±1 step and at most once: the step it matched is taken with a
//! compare-and-set in the store, so two replicas (or two requests) cannot both accept it, and a
//! code older than one already accepted is refused too. Every wrong code counts against its
//! user in the failed-login table (scope `mfa`), shared by replicas; enough of them within the
//! window lock the second factor (`MfaError::Locked`), separately from the password lock.
//! Nothing here logs a secret, a code, a recovery code or a ticket.

mod error;
pub mod policy;
pub mod secrets;
pub mod settings;

pub use error::MfaError;

use crate::auth::AuthMethod;
use crate::mail;
use crate::service::audit::{actions, AuditEvent};
use crate::service::{DomainError, DomainResult, Requester, UserId};
use crate::state::AppState;
use crate::store::{digest, now_micros, EnableOutcome, UserRecord};

/// The failed-login table's scope for wrong codes (subject: the user id).
pub(crate) const FAILURES: &str = "mfa";
const MICROS: i64 = 1_000_000;

/// A second factor as the client sent it.
#[derive(Debug, Clone)]
pub enum Factor {
    Code(String),
    Recovery(String),
}

/// The state of a user's factor (`GET /api/auth/mfa`, `GET /api/users/{id}/mfa`).
#[derive(Debug, Clone, Default)]
pub struct MfaStatus {
    pub enabled: bool,
    pub confirmed_date: Option<i64>,
    pub last_used_date: Option<i64>,
    pub recovery_total: i64,
    pub recovery_remaining: i64,
    pub recovery_generated_date: Option<i64>,
    /// A policy covers the user (`policy`): the global one, or an organization's.
    pub required: bool,
    /// `global`, `organization:<slug>`.
    pub required_by: Vec<String>,
    /// The enrolment deadline while the user has no factor.
    pub enrollment_deadline: Option<i64>,
}

/// A started enrolment: what the user's app needs.
#[derive(Debug, Clone)]
pub struct Setup {
    pub secret: String,
    pub otpauth_url: String,
    pub qr_svg: String,
    pub expires_in: i64,
}

/// What a password login needs from the second factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginFactor {
    /// Not enrolled: the password is enough.
    NotEnrolled,
    /// Enrolled and a valid factor came with the password; with the recovery codes left after
    /// a recovery code was used.
    Passed { recovery_remaining: Option<i64> },
}

pub async fn status(state: &AppState, user_id: i64) -> DomainResult<MfaStatus> {
    let totp = state.db.mfa_totp(user_id).await?;
    let codes = state.db.mfa_recovery_counts(user_id).await?;
    let user = state.db.user_by_id(user_id).await?;
    let policy = &state.mfa.policy;
    let mut required_by = Vec::new();
    let mut deadline = user.as_ref().and_then(|u| policy.deadline(u));
    if user.as_ref().is_some_and(|u| policy.covers(u)) {
        required_by.push("global".to_string());
    }
    for (slug, since, grace, joined) in state.db.org_mfa_rules_of(UserId(user_id)).await? {
        required_by.push(format!("organization:{slug}"));
        if totp.is_none() {
            let d = policy::org_deadline(since, grace, joined);
            deadline = Some(deadline.map_or(d, |g| g.min(d)));
        }
    }
    Ok(MfaStatus {
        required: !required_by.is_empty(),
        required_by,
        enrollment_deadline: deadline,
        enabled: totp.is_some(),
        confirmed_date: totp.as_ref().map(|t| t.confirmed_date),
        last_used_date: totp.and_then(|t| t.last_used_date),
        recovery_total: codes.total,
        recovery_remaining: codes.remaining,
        recovery_generated_date: codes.generated_date,
    })
}

/// A user's status as the requester may see it: their own, or anyone's for the admin privilege.
pub async fn status_of(state: &AppState, req: &Requester, id: UserId) -> DomainResult<MfaStatus> {
    if id != req.user_id() && !req.is_admin() {
        return Err(DomainError::Forbidden);
    }
    if state.db.user_by_id(id.0).await?.is_none() {
        return Err(DomainError::NotFound);
    }
    status(state, id.0).await
}

/// Managing a factor needs a credential that proved the password (session, Token, or Basic
/// that passed the factor): an access token or a signed URL gets 403 (§4.6).
pub fn require_management_credentials(method: &AuthMethod) -> DomainResult<()> {
    if method.proves_password() {
        Ok(())
    } else {
        Err(MfaError::AccessTokenNotAllowed.into())
    }
}

/// Starts an enrolment (the caller checked the password): a new pending secret replaces any
/// earlier one. 409 when the factor is on already.
pub async fn setup(state: &AppState, user: &UserRecord) -> DomainResult<Setup> {
    if state.db.has_mfa_totp(user.id).await? {
        return Err(MfaError::AlreadyEnabled.into());
    }
    let s = &state.mfa;
    let secret = secrets::new_secret();
    let totp = secrets::totp(&secret, &s.issuer, &user.username)?;
    let otpauth_url = totp
        .to_url()
        .map_err(|e| anyhow::anyhow!("otpauth URI: {e}"))?;
    let sealed = secrets::seal(&s.seal_key, user.id, &secret)?;
    let expires = now_micros() + s.setup_lifetime * MICROS;
    state.db.put_pending_totp(user.id, &sealed, expires).await?;
    tracing::info!(user_id = user.id, "mfa.setup_started");
    Ok(Setup {
        secret: totp.secret().to_base32(),
        qr_svg: secrets::qr_svg(&otpauth_url)?,
        otpauth_url,
        expires_in: s.setup_lifetime,
    })
}

/// Confirms an enrolment with a first valid code of the pending secret: the factor is on, ten
/// recovery codes are made (answered once, stored as digests), and every session and login
/// token of the user is revoked (access tokens stay). Returns the recovery codes.
/// `who`: the requester and origin for the audit event (`AuditEvent::by`); the action and
/// target are set here, as in `disable` and `regenerate_recovery_codes`.
pub async fn confirm(
    state: &AppState,
    user: &UserRecord,
    code: &str,
    who: AuditEvent,
) -> DomainResult<Vec<String>> {
    if state.db.has_mfa_totp(user.id).await? {
        return Err(MfaError::AlreadyEnabled.into());
    }
    let Some(sealed) = state.db.pending_totp(user.id).await? else {
        return Err(MfaError::SetupMissing.into());
    };
    check_lock(state, user.id).await?;
    let secret = secrets::open(&state.mfa.seal_key, user.id, &sealed)?;
    let totp = secrets::totp(&secret, &state.mfa.issuer, &user.username)?;
    let step =
        secrets::normalize_code(code).and_then(|c| secrets::matching_step(&totp, &c, unix_now()));
    let Some(step) = step else {
        return Err(failed(state, user.id, false).await?);
    };
    let codes = secrets::new_recovery_codes();
    let hashes = recovery_digests(state, &codes);
    match state
        .db
        .enable_totp(
            user.id,
            &sealed,
            step,
            &hashes,
            &who.with_action(actions::ENABLE_MFA).on_user(user),
        )
        .await?
    {
        EnableOutcome::Enabled => {
            tracing::info!(
                user_id = user.id,
                "mfa.enabled; sessions and tokens revoked"
            );
            Ok(codes)
        }
        EnableOutcome::AlreadyEnabled => Err(MfaError::AlreadyEnabled.into()),
    }
}

/// Turns the factor off (the caller checked the password) with a current code or an unused
/// recovery code.
pub async fn disable(
    state: &AppState,
    user: &UserRecord,
    factor: &Factor,
    who: AuditEvent,
) -> DomainResult<()> {
    verify_enrolled(state, user, factor, false).await?;
    let ev = who.with_action(actions::DISABLE_MFA).on_user(user);
    if !state.db.remove_totp(user.id, false, None, &ev).await? {
        return Err(MfaError::NotEnabled.into());
    }
    tracing::info!(user_id = user.id, "mfa.disabled");
    Ok(())
}

/// A new set of recovery codes (the caller checked the password), with a current code; the
/// old set stops working.
pub async fn regenerate_recovery_codes(
    state: &AppState,
    user: &UserRecord,
    code: &str,
    who: AuditEvent,
) -> DomainResult<Vec<String>> {
    verify_enrolled(state, user, &Factor::Code(code.to_string()), false).await?;
    let codes = secrets::new_recovery_codes();
    if !state
        .db
        .replace_recovery_codes(
            user.id,
            &recovery_digests(state, &codes),
            &who.with_action(actions::RENEW_RECOVERY_CODES).on_user(user),
        )
        .await?
    {
        return Err(MfaError::NotEnabled.into());
    }
    tracing::info!(user_id = user.id, "mfa.recovery_codes_regenerated");
    Ok(codes)
}

/// An administrator removes a user's factor (§4.7): secret, pending secret, recovery codes,
/// login tickets, sessions and login tokens go, and the user is told by mail, queued in the
/// same transaction. Access tokens stay.
pub async fn admin_reset(state: &AppState, req: &Requester, id: UserId) -> DomainResult<()> {
    require_management_credentials(&req.method)?;
    if !req.is_admin() {
        return Err(DomainError::Forbidden);
    }
    let Some(user) = state.db.user_by_id(id.0).await? else {
        return Err(DomainError::NotFound);
    };
    let mail = match reset_mail(state, &user) {
        Ok(mail) => mail,
        Err(e) => {
            tracing::warn!(user_id = user.id, error = %e, "no mail for the mfa reset");
            None
        }
    };
    let ev = AuditEvent::by(req, actions::RESET_MFA).on_user(&user);
    if !state
        .db
        .remove_totp(user.id, true, mail.as_ref(), &ev)
        .await?
    {
        return Err(MfaError::NotEnabled.into());
    }
    if mail.is_some() {
        state.mailer.queued();
    }
    tracing::info!(
        user_id = user.id,
        actor_id = req.id(),
        mailed = mail.is_some(),
        "mfa.reset_by_admin; sessions and tokens revoked"
    );
    Ok(())
}

fn reset_mail(
    state: &AppState,
    user: &UserRecord,
) -> Result<Option<crate::store::NewMail>, mail::MailError> {
    if user.email.is_empty() {
        return Ok(None);
    }
    let text = format!(
        "Hello {name},\n\nan administrator has reset the two-factor authentication of your account \
         \"{username}\". Your sessions and login tokens were signed out; your personal access \
         tokens still work.\n\nYou can log in with your password alone now, and set up \
         two-factor authentication again.\n\nIf you did not ask for this, contact your \
         administrator.\n",
        name = if user.first_name.is_empty() { &user.username } else { &user.first_name },
        username = user.username,
    );
    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n<p>{}</p>\n</body></html>\n",
        mail::escape_html(&text).replace("\n\n", "</p>\n<p>")
    );
    let name = format!("{} {}", user.first_name, user.last_name);
    mail::new_mail(
        &state.mailer,
        "mfa_reset",
        &user.email,
        &name,
        "Two-factor authentication was reset",
        text,
        html,
    )
    .map(Some)
}

/// The second factor of a password login (§4.3): nothing for users without the factor; for
/// enrolled users the factor sent with the password, or else a step-two ticket (401
/// `mfa_required`).
pub async fn login_factor(
    state: &AppState,
    user: &UserRecord,
    factor: Option<&Factor>,
) -> DomainResult<LoginFactor> {
    if !state.db.has_mfa_totp(user.id).await? {
        return Ok(LoginFactor::NotEnrolled);
    }
    match factor {
        Some(factor) => {
            let recovery_remaining = verify_enrolled(state, user, factor, false).await?;
            Ok(LoginFactor::Passed { recovery_remaining })
        }
        None => {
            let ticket = secrets::new_ticket();
            let lifetime = state.mfa.ticket_lifetime;
            state
                .db
                .create_mfa_ticket(
                    &digest(&ticket),
                    user.id,
                    "login",
                    "pwd",
                    now_micros() + lifetime * MICROS,
                )
                .await?;
            tracing::info!(
                user_id = user.id,
                "login needs the second factor; ticket issued"
            );
            Err(MfaError::Required {
                ticket,
                expires_in: lifetime,
            }
            .into())
        }
    }
}

/// Login step two (§4.4): the ticket's user, once its factor checked out; the ticket is used up.
/// Wrong codes count against the ticket and the user.
pub async fn complete_login(
    state: &AppState,
    ticket: &str,
    factor: &Factor,
) -> DomainResult<(UserRecord, LoginFactor)> {
    let hash = digest(ticket);
    let max = state.mfa.ticket_attempts;
    let found = state.db.mfa_ticket(&hash).await?;
    let Some(found) = found.filter(|t| t.purpose == "login" && t.attempts < max) else {
        return Err(MfaError::TicketInvalid.into());
    };
    let user = match state.db.user_by_id(found.user_id).await? {
        Some(u) if u.is_active => u,
        _ => return Err(MfaError::TicketInvalid.into()),
    };
    let recovery_remaining = match verify_enrolled(state, &user, factor, false).await {
        Ok(r) => r,
        Err(DomainError::Mfa(MfaError::NotEnabled)) => return Err(MfaError::TicketInvalid.into()),
        Err(e) => {
            if matches!(e, DomainError::Mfa(MfaError::CodeInvalid { .. })) {
                state.db.mfa_ticket_failed(&hash).await?;
            }
            return Err(e);
        }
    };
    if !state.db.consume_mfa_ticket(&hash, max).await? {
        return Err(MfaError::TicketInvalid.into());
    }
    Ok((user, LoginFactor::Passed { recovery_remaining }))
}

/// Basic credentials of an enrolled user (§4.5) pass only with a current, unused code in
/// `X-CVAT-OTP`; users without the factor are not asked.
pub async fn basic_factor(
    state: &AppState,
    user: &UserRecord,
    otp: Option<&str>,
) -> DomainResult<()> {
    if !state.db.has_mfa_totp(user.id).await? {
        return Ok(());
    }
    match otp {
        Some(code) if state.mfa.basic_otp_header => {
            verify_enrolled(state, user, &Factor::Code(code.to_string()), true)
                .await
                .map(|_| ())
        }
        _ => Err(MfaError::BasicRequired.into()),
    }
}

/// Checks `factor` against the user's confirmed factor and uses it up: the code's step, or the
/// recovery code. With a recovery code, how many are left. Refusals: 409 not enabled, 429
/// locked, 400 (401 for Basic) invalid, the latter counted.
async fn verify_enrolled(
    state: &AppState,
    user: &UserRecord,
    factor: &Factor,
    basic: bool,
) -> DomainResult<Option<i64>> {
    let Some(row) = state.db.mfa_totp(user.id).await? else {
        return Err(MfaError::NotEnabled.into());
    };
    check_lock(state, user.id).await?;
    match factor {
        Factor::Code(code) => {
            let secret = secrets::open(&state.mfa.seal_key, user.id, &row.secret_enc)?;
            let totp = secrets::totp(&secret, &state.mfa.issuer, &user.username)?;
            let step = secrets::normalize_code(code)
                .and_then(|c| secrets::matching_step(&totp, &c, unix_now()));
            match step {
                Some(step) if state.db.take_totp_step(user.id, step).await? => Ok(None),
                _ => Err(failed(state, user.id, basic).await?),
            }
        }
        Factor::Recovery(code) => {
            let used = match secrets::normalize_recovery_code(code) {
                Some(c) => {
                    let hash = secrets::recovery_digest(&state.mfa.recovery_key, &c);
                    state.db.use_recovery_code(user.id, &hash).await?
                }
                None => false,
            };
            if !used {
                return Err(failed(state, user.id, basic).await?);
            }
            let left = state.db.mfa_recovery_counts(user.id).await?.remaining;
            tracing::info!(
                user_id = user.id,
                remaining = left,
                "mfa.recovery_code_used"
            );
            Ok(Some(left))
        }
    }
}

fn recovery_digests(state: &AppState, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|c| secrets::normalize_recovery_code(c))
        .map(|c| secrets::recovery_digest(&state.mfa.recovery_key, &c))
        .collect()
}

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

/// Records a wrong code of `user_id`; the error to answer.
async fn failed(state: &AppState, user_id: i64, basic: bool) -> DomainResult<DomainError> {
    state
        .db
        .record_login_failure(FAILURES, &user_id.to_string())
        .await?;
    tracing::warn!(user_id, "mfa.challenge_failed");
    Ok(MfaError::CodeInvalid { basic }.into())
}

/// 429 while the user's second factor is locked: `failures` wrong codes within the window
/// lock it for the window's length after the last of them.
async fn check_lock(state: &AppState, user_id: i64) -> DomainResult<()> {
    let s = &state.mfa;
    if s.failures <= 0 {
        return Ok(());
    }
    let now = now_micros();
    let window = s.lockout * MICROS;
    let subject = user_id.to_string();
    let recent = state
        .db
        .recent_login_failures(&[(FAILURES, subject.as_str(), s.failures)], now - window)
        .await?;
    let times = recent.into_iter().next().unwrap_or_default();
    if (times.len() as i64) < s.failures {
        return Ok(());
    }
    let newest = times.first().copied().unwrap_or(now);
    let until = newest + window;
    if now >= until {
        return Ok(());
    }
    tracing::warn!(user_id, "mfa.locked");
    Err(MfaError::Locked {
        retry_after: ((until - now) as u64).div_ceil(MICROS as u64),
    }
    .into())
}
