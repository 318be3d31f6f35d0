//! E-mail verification (spec §3, issue 13): CVAT's three modes, the confirmation mail and its
//! link, and the rules that keep an unconfirmed address out of logins and password resets.
//!
//! A user's `email_verified` is `None` when nobody asked (accounts made while verification was
//! off, by administrators or imports: turning the setting on locks nobody out), `Some(false)`
//! while a confirmation is pending, `Some(true)` once the link was opened. The link's key is
//! `<id base36>-<unix time base36>-<hex HMAC-SHA256(secret; id, address, time)>`: it needs no
//! table, dies with a new address, and works once because confirming ends the pending state.

use clap::ValueEnum;
use hmac::Mac;

use super::audit::{actions, AuditEvent, Origin};
use super::{DomainError, DomainResult, UserId};
use crate::auth::ct_eq;
use crate::mail::{self, escape_html};
use crate::service::password_reset::token::{base36_to_int, int_to_base36};
use crate::state::AppState;
use crate::store::{fold, now_micros, NewMail, UserRecord};

/// CVAT's `ACCOUNT_EMAIL_VERIFICATION`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum EmailVerification {
    /// No confirmation mail; addresses are taken as given (CVAT's default).
    #[default]
    None,
    /// A confirmation mail at registration; login works before it is confirmed, but not with
    /// the unconfirmed address, and password resets skip it.
    Optional,
    /// As optional, and no login at all until the address is confirmed.
    Mandatory,
}

impl EmailVerification {
    pub fn as_str(self) -> &'static str {
        match self {
            EmailVerification::None => "none",
            EmailVerification::Optional => "optional",
            EmailVerification::Mandatory => "mandatory",
        }
    }

    pub fn is_on(self) -> bool {
        self != EmailVerification::None
    }
}

/// Days a confirmation link works (allauth's `ACCOUNT_EMAIL_CONFIRMATION_EXPIRE_DAYS`).
pub const LINK_DAYS: i64 = 3;
/// Where the confirmation link redirects (CVAT's UI routes).
pub const CONFIRMED_PAGE: &str = "/auth/email-confirmation";
pub const INCORRECT_PAGE: &str = "/auth/incorrect-email-confirmation";
/// The login refusal in mandatory mode (an HTML body in CVAT, not JSON).
pub const UNVERIFIED_LOGIN: &str = "Unverified email";
/// The Basic refusal in mandatory mode (the newest CVAT).
pub const UNVERIFIED_BASIC: &str = "E-mail is not verified.";

const KEY_PURPOSE: &str = "cvat-server.email-confirmation";

fn signature(secret: &str, id: i64, email: &str, ts: i64) -> String {
    let mut mac = crate::auth::hmac_sha256(secret.as_bytes());
    mac.update(format!("{KEY_PURPOSE}\n{id}\n{}\n{ts}", fold(email)).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The key of a confirmation link for user `id`'s address `email`, made at `ts` (Unix seconds).
pub fn make_key(secret: &str, id: i64, email: &str, ts: i64) -> String {
    format!(
        "{}-{}-{}",
        int_to_base36(id as u64),
        int_to_base36(ts as u64),
        signature(secret, id, email, ts)
    )
}

/// The user id and time of a well-formed key, unchecked.
fn key_parts(key: &str) -> Option<(i64, i64, &str)> {
    let mut parts = key.split('-');
    let (id, ts, sig) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let id = i64::try_from(base36_to_int(id)?).ok()?;
    let ts = i64::try_from(base36_to_int(ts)?).ok()?;
    Some((id, ts, sig))
}

/// `true` when `key` was made for `user`'s current address within the last `LINK_DAYS`.
pub fn key_matches(secret: &str, key: &str, user: &UserRecord, now: i64) -> bool {
    match key_parts(key) {
        Some((id, ts, sig)) => {
            id == user.id
                && ts <= now
                && now - ts <= LINK_DAYS * 86_400
                && ct_eq(sig, &signature(secret, id, &user.email, ts))
        }
        None => false,
    }
}

/// allauth's `email_confirmation_signup` mail (spec §3.3) to `email`, for user `id`.
pub fn confirmation_mail(
    state: &AppState,
    id: i64,
    username: &str,
    email: &str,
    name: &str,
    base: &str,
) -> Option<NewMail> {
    let key = make_key(&state.secret, id, email, now_micros() / 1_000_000);
    let link = format!("{base}/api/auth/account-confirm-email/{key}/");
    let site = super::password_reset::site_name(base);
    let text = format!(
        "Hello from {site}!\n\n\
         You're receiving this email because user {username} has given your email address to register an account on {site}.\n\n\
         To confirm this is correct, go to {link}\n\n\
         Thank you for using {site}!\n{site}\n"
    );
    let link_h = escape_html(&link);
    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n<h1>Confirm Your Email Address</h1>\n\
         <p>Thank you for signing up for CVAT!</p>\n\
         <p>To complete registration and start annotating, simply tap the button below and confirm your email address.</p>\n\
         <p><a href=\"{link_h}\">Confirm</a></p>\n\
         <p>If you didn't request this, please ignore this email.</p>\n</body></html>\n"
    );
    let subject = format!("[{site}] Please Confirm Your Email Address");
    match mail::new_mail(
        &state.mailer,
        "email_confirmation",
        email,
        name,
        &subject,
        text,
        html,
    ) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(user_id = id, error = %e, "no confirmation mail");
            None
        }
    }
}

/// The mail for `user`'s current address.
pub fn mail_for(state: &AppState, user: &UserRecord, base: &str) -> Option<NewMail> {
    let name = format!("{} {}", user.first_name, user.last_name);
    confirmation_mail(state, user.id, &user.username, &user.email, &name, base)
}

/// Sends the confirmation again if one is pending and none went out in the cooldown. Quiet
/// either way: callers answer the same whatever happened.
pub async fn send_again(state: &AppState, user: &UserRecord, base: &str) -> DomainResult<()> {
    if user.email_verified != Some(false) || user.email.is_empty() {
        return Ok(());
    }
    let cooldown = state.mailer.settings.email_confirmation_cooldown;
    let not_before = now_micros() - cooldown * 1_000_000;
    let Some(mail) = mail_for(state, user, base) else {
        return Ok(());
    };
    if state
        .db
        .queue_verification_mail(user.id, &user.email, not_before, &mail)
        .await?
    {
        state.mailer.queued();
        tracing::info!(user_id = user.id, "confirmation mail queued again");
    }
    Ok(())
}

/// `POST /api/auth/resend-email`: a new confirmation for every pending account with `email`.
pub async fn resend_to(state: &AppState, email: &str, base: &str) -> DomainResult<()> {
    if !state.mailer.settings.email_verification.is_on() {
        return Ok(());
    }
    for user in state.db.users_by_email(email).await? {
        if user.is_active {
            send_again(state, &user, base).await?;
        }
    }
    Ok(())
}

/// Opens a confirmation link: `Ok(())` when it confirmed the address, `NotFound` for a bad,
/// used or expired key.
pub async fn confirm(state: &AppState, key: &str, origin: &Origin) -> DomainResult<UserId> {
    let (id, _, _) = key_parts(key).ok_or(DomainError::NotFound)?;
    let user = state
        .db
        .user_by_id(id)
        .await?
        .ok_or(DomainError::NotFound)?;
    let now = now_micros() / 1_000_000;
    if user.email_verified != Some(false) || !key_matches(&state.secret, key, &user, now) {
        return Err(DomainError::NotFound);
    }
    let ev = AuditEvent::new(actions::CONFIRM_EMAIL, origin)
        .actor(&user, "confirmation_link")
        .on_user(&user)
        .detail("email", user.email.clone());
    if !state.db.confirm_email(user.id, &user.email, &ev).await? {
        return Err(DomainError::NotFound);
    }
    tracing::info!(user_id = user.id, "e-mail address confirmed");
    Ok(UserId(user.id))
}

/// What an administrator's PATCH does to the verification state: a new address is pending
/// (and mailed) while verification is on, not asked while it is off, unless the PATCH sets
/// `email_verified` itself; a pending state set anew is mailed too.
pub fn on_update(
    state: &AppState,
    target: &UserRecord,
    patch: &super::UserPatch,
    base: &str,
) -> (super::UserPatch, Option<NewMail>) {
    let mut patch = patch.clone();
    let on = state.mailer.settings.email_verification.is_on();
    let new_email = patch
        .email
        .as_ref()
        .filter(|e| fold(e) != fold(&target.email))
        .cloned();
    if new_email.is_some() && patch.email_verified.is_none() {
        patch.email_verified = Some(on.then_some(false));
    }
    let email = new_email.unwrap_or_else(|| target.email.clone());
    let pending_anew = patch.email_verified == Some(Some(false))
        && (email != target.email || target.email_verified != Some(false));
    let mail = (on && pending_anew && !email.is_empty())
        .then(|| {
            let first = patch.first_name.as_deref().unwrap_or(&target.first_name);
            let last = patch.last_name.as_deref().unwrap_or(&target.last_name);
            let username = patch.username.as_deref().unwrap_or(&target.username);
            confirmation_mail(
                state,
                target.id,
                username,
                &email,
                &format!("{first} {last}"),
                base,
            )
        })
        .flatten();
    (patch, mail)
}

/// Whether `login` may name `user` by an address: not by one still waiting for confirmation.
pub fn login_may_name(state: &AppState, user: &UserRecord, login: &str) -> bool {
    let by_address = fold(login) == fold(&user.email) && fold(login) != fold(&user.username);
    // Mandatory mode refuses such a user whatever the login says (`blocks_login`).
    !(by_address
        && state.mailer.settings.email_verification == EmailVerification::Optional
        && user.email_verified == Some(false))
}

/// Mandatory mode: a user whose address is not confirmed may not sign in.
pub fn blocks_login(state: &AppState, user: &UserRecord) -> bool {
    state.mailer.settings.email_verification == EmailVerification::Mandatory
        && user.email_verified == Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, email: &str) -> UserRecord {
        UserRecord {
            id,
            username: "alice".into(),
            password: String::new(),
            email: email.into(),
            first_name: String::new(),
            last_name: String::new(),
            is_staff: false,
            is_superuser: false,
            is_active: true,
            last_login: None,
            date_joined: 0,
            groups: Vec::new(),
            created_via: None,
            email_verified: Some(false),
            blocked_date: None,
            must_change_password: false,
            mfa_enabled: false,
        }
    }

    #[test]
    fn a_key_fits_its_user_address_and_time_only() {
        let now = 1_700_000_000;
        let key = make_key("s3cr3t", 7, "Alice@Example.com", now);
        assert!(key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let alice = user(7, "alice@example.com");
        assert!(key_matches("s3cr3t", &key, &alice, now + 60));
        assert!(!key_matches("other", &key, &alice, now + 60));
        assert!(!key_matches(
            "s3cr3t",
            &key,
            &user(8, "alice@example.com"),
            now
        ));
        assert!(!key_matches(
            "s3cr3t",
            &key,
            &user(7, "new@example.com"),
            now
        ));
        assert!(!key_matches(
            "s3cr3t",
            &key,
            &alice,
            now + LINK_DAYS * 86_400 + 1
        ));
        let flipped = if key.ends_with('0') { '1' } else { '0' };
        let tampered = format!("{}{flipped}", &key[..key.len() - 1]);
        assert!(!key_matches("s3cr3t", &tampered, &alice, now));
        assert!(!key_matches("s3cr3t", "7-x-y-z", &alice, now));
    }
}
