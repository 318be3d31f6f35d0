//! Password reset by e-mail (spec §2): the logic behind `POST /api/auth/password/reset` and
//! `.../reset/confirm` (`http::password_reset`); Django's token in `token`.
//!
//! A request answers the same, in about the same time, whether or not the address has an
//! account: the only extra work for a known address is one outbox insert; the mail is sent
//! later by the worker (`crate::mail`), so a broken mail server never shows in the answer.
//! Requests are throttled per e-mail address and per client address, with the limits of
//! failed logins; invalid links count as failed logins of the client address.

use serde_json::{Map, Value};

pub mod token;

use self::token::{self as reset_token, TokenState};
use super::audit::{actions, AuditEvent, Origin};
use super::{DomainError, DomainResult};
use crate::auth::{password_rules, throttle};
use crate::mail::{self, escape_html};
use crate::state::AppState;
use crate::store::{fold, now_micros, NewMail, UserRecord};
use crate::validate::{self, FieldErrors};

pub const RESET_SENT: &str = "Password reset e-mail has been sent.";
pub const RESET_DONE: &str = "Password has been reset with the new password.";
pub const INVALID_VALUE: &str = "Invalid value";
pub const PASSWORDS_DIFFER: &str = "The two password fields didn\u{2019}t match.";

const REQUESTS_PER_EMAIL: &str = "reset_email";
const REQUESTS_PER_CLIENT: &str = "reset_client";

/// Queues a reset mail to every active account whose e-mail is `email` (case-insensitive).
/// `origin` (scheme and host of the request) makes the links when `--public-url` is unset.
pub async fn request_reset(
    state: &AppState,
    email: &str,
    origin: &str,
    client: &str,
) -> DomainResult<()> {
    throttle_requests(state, email, client).await?;
    let verifying = state.mailer.settings.email_verification.is_on();
    let users: Vec<UserRecord> = state
        .db
        .users_by_email(email)
        .await?
        .into_iter()
        // An address waiting for confirmation gets no reset (issue 13).
        .filter(|u| u.is_active && !(verifying && u.email_verified == Some(false)))
        .collect();
    if users.is_empty() {
        return Ok(());
    }
    let base = state.mailer.link_base(origin);
    let mut mails = Vec::with_capacity(users.len());
    for user in &users {
        match reset_mail(state, user, email, base) {
            Ok(m) => mails.push(m),
            Err(e) => tracing::warn!(user_id = user.id, error = %e, "no reset mail"),
        }
    }
    let ids = state.db.enqueue_mails(&mails).await?;
    state.mailer.queued();
    for (user, id) in users.iter().zip(ids) {
        tracing::info!(
            user_id = user.id,
            mail_id = id,
            "password reset mail queued"
        );
    }
    Ok(())
}

/// Throttles reset requests like failed logins: per e-mail address (the per-account limit)
/// and per client address (the per-address limit), both within the lockout window.
async fn throttle_requests(state: &AppState, email: &str, client: &str) -> DomainResult<()> {
    let s = &state.settings;
    let email = fold(email);
    let window = s.lockout_secs * 1_000_000;
    let now = now_micros();
    let limits = [
        (
            REQUESTS_PER_EMAIL,
            email.as_str(),
            s.failures_per_account,
            "e-mail address",
        ),
        (
            REQUESTS_PER_CLIENT,
            client,
            s.failures_per_address,
            "client address",
        ),
    ];
    let active: Vec<_> = limits.iter().filter(|l| l.2 > 0).collect();
    let subjects: Vec<(&str, &str, i64)> = active
        .iter()
        .map(|&&(scope, subject, limit, _)| (scope, subject, limit))
        .collect();
    let recent = state
        .db
        .recent_login_failures(&subjects, now - window)
        .await?;
    for (&&(_, _, limit, what), times) in active.iter().zip(recent) {
        if times.len() as i64 >= limit {
            let oldest = times.last().copied().unwrap_or(now);
            let retry_after = ((oldest + window - now).max(1_000_000) as u64).div_ceil(1_000_000);
            return Err(DomainError::Throttled {
                detail: format!(
                    "Too many password reset requests for this {what}. Try again in {retry_after} seconds."
                ),
                retry_after,
            });
        }
    }
    for (scope, subject, _) in subjects {
        state.db.record_login_failure(scope, subject).await?;
    }
    Ok(())
}

/// The link's host (and port): CVAT's `site_name` when `UI_HOST` is set.
pub(crate) fn site_name(base: &str) -> &str {
    let rest = base.split_once("://").map_or(base, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// CVAT's `authentication/password_reset_key` mail (spec §2.2), to the address as typed.
fn reset_mail(
    state: &AppState,
    user: &UserRecord,
    to: &str,
    base: &str,
) -> Result<NewMail, mail::MailError> {
    let token = reset_token::make_token(
        &state.secret,
        &TokenState::of(user, &[]),
        reset_token::now_ts(),
    );
    let uid = reset_token::int_to_base36(user.id as u64);
    let link = format!("{base}/auth/password/reset/confirm?uid={uid}&token={token}");
    let site = site_name(base);
    let text = format!(
        "You're receiving this email because you requested a password reset for your user account at {site}.\n\n\
         Please go to the following page and choose a new password:\n\n{link}\n\n\
         Your username, in case you've forgotten: {username}\n\n\
         Thanks for using our site!\n\nThe {site} team\n",
        username = user.username
    );
    let (site_h, link_h) = (escape_html(site), escape_html(&link));
    let html = format!(
        "<!DOCTYPE html>\n<html><body>\n\
         <p>You're receiving this email because you requested a password reset for your user account at {site_h}.</p>\n\
         <p>Please go to the following page and choose a new password:</p>\n\
         <p><a href=\"{link_h}\">{link_h}</a></p>\n\
         <p>Your username, in case you've forgotten: {}</p>\n\
         <p>Thanks for using our site!</p>\n<p>The {site_h} team</p>\n</body></html>\n",
        escape_html(&user.username)
    );
    let name = format!("{} {}", user.first_name, user.last_name);
    mail::new_mail(
        &state.mailer,
        "password_reset",
        to,
        &name,
        &format!("[{site}] Password Reset E-mail"),
        text,
        html,
    )
}

/// Sets a new password from a reset link, in the spec's order of checks (§2.4): fields, `uid`,
/// `token`, then the passwords. Revokes the user's sessions, API token and access tokens.
pub async fn confirm_reset(
    state: &AppState,
    body: &Map<String, Value>,
    origin: &Origin,
) -> DomainResult<()> {
    let client = origin.client_address.as_str();
    let mut errors: FieldErrors = Vec::new();
    let mut values = Vec::new();
    for (k, max) in [
        ("new_password1", 128),
        ("new_password2", 128),
        ("uid", usize::MAX),
        ("token", usize::MAX),
    ] {
        match body.get(k).map(|v| validate::char_field(v, false, max)) {
            None => errors.push((k.into(), vec!["This field is required.".into()])),
            Some(Err(m)) => errors.push((k.into(), m)),
            Some(Ok(v)) => values.push(v),
        }
    }
    if !errors.is_empty() {
        return Err(DomainError::Invalid(errors));
    }
    let Ok([new1, new2, uid, token]) = <[String; 4]>::try_from(values) else {
        return Err(DomainError::Invalid(errors));
    };
    throttle::check(state, &[], client).await?;
    let user = match reset_token::base36_to_int(&uid).and_then(|id| i64::try_from(id).ok()) {
        Some(id) => state.db.user_by_id(id).await?,
        None => None,
    };
    let Some(user) = user else {
        throttle::failed(state, &[], client).await?;
        return Err(DomainError::field("uid", INVALID_VALUE));
    };
    let timeout = state.mailer.settings.password_reset_timeout;
    let state_now = TokenState::of(&user, &[]);
    if !reset_token::check_token(
        &state.secret,
        &state_now,
        &token,
        timeout,
        reset_token::now_ts(),
    ) {
        throttle::failed(state, &[], client).await?;
        return Err(DomainError::field("token", INVALID_VALUE));
    }
    if new1 != new2 {
        return Err(DomainError::field("new_password2", PASSWORDS_DIFFER));
    }
    let attrs = password_rules::UserAttributes {
        username: &user.username,
        first_name: &user.first_name,
        last_name: &user.last_name,
        email: &user.email,
    };
    let problems = password_rules::validate_password(&new1, Some(&attrs));
    if !problems.is_empty() {
        return Err(DomainError::Invalid(vec![(
            "new_password2".into(),
            problems,
        )]));
    }
    let hash = super::users::hash(new1).await?;
    // The hash the token was checked against must still be the stored one: a link works once
    // even when two confirmations race.
    if !state
        .db
        .reset_password_revoking(
            user.id,
            &user.password,
            &hash,
            &AuditEvent::new(actions::RESET_PASSWORD, origin)
                .actor(&user, "reset_link")
                .on_user(&user),
        )
        .await?
    {
        return Err(DomainError::field("token", INVALID_VALUE));
    }
    tracing::info!(
        user_id = user.id,
        "password reset by e-mail link; credentials revoked"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_site_name_is_the_links_host_and_port() {
        assert_eq!(
            super::site_name("https://cvat.local:8080"),
            "cvat.local:8080"
        );
        assert_eq!(super::site_name("http://example.com/cvat"), "example.com");
    }
}
