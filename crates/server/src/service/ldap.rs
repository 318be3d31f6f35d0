//! The local account of a directory user (sso-and-mfa §4.10 steps 8–10): found by the entry's
//! UUID, then its DN, then the username (only an account that came from LDAP); created at the
//! first login when `--ldap-auto-provision` is on (`auth_source = 'ldap'`, `created_via =
//! 'ldap'`, an unusable local password); names, e-mail and role synced at every login, so
//! leaving the admin group in the directory takes effect at the next login (and clears
//! `is_staff`/`is_superuser`, which CVAT forgot, §1.2 flaw a).
//!
//! A local password account with the same username is never taken over (a directory entry
//! could otherwise capture a break-glass admin): that login is refused and logged. Every
//! login is logged with the provider, never with the password.

use crate::auth::ldap::client::{self, LdapFailure};
use crate::auth::ldap::LdapSettings;
use crate::service::DomainResult;
use crate::state::AppState;
use crate::store::{LdapStatus, LdapSync, LdapSynced, UserRecord};

/// Where an account's password is checked, and its directory entry (the console's user page).
pub async fn origin(state: &AppState, user_id: i64) -> DomainResult<LdapStatus> {
    Ok(state.db.ldap_status(user_id).await?.unwrap_or_default())
}

/// The directory's verdict, in the terms of a login.
#[derive(Debug)]
pub enum LdapLogin {
    Verified(Box<UserRecord>),
    /// The same answer as a wrong password.
    Refused,
    /// 503 `ldap_unavailable`.
    Unavailable,
}

/// The local username of a directory name (§2.5): characters outside `[\w.@+-]` become `_`,
/// cut to 150 characters.
pub fn local_username(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '_' | '.' | '@' | '+' | '-') {
                c
            } else {
                '_'
            }
        })
        .take(150)
        .collect()
}

/// The CVAT group of a user in `groups` (DNs): the highest role whose group DNs include one of
/// them, else the default role.
pub fn role_of(settings: &LdapSettings, groups: &[String]) -> Option<&'static str> {
    settings
        .roles
        .iter()
        .find(|(_, dns)| dns.iter().any(|dn| groups.iter().any(|g| dn.matches(g))))
        .map(|(role, _)| *role)
        .or(settings.default_role)
}

/// Checks `login`/`password` with the directory and brings the local account up to date.
pub async fn login(
    state: &AppState,
    settings: &LdapSettings,
    login: &str,
    password: &str,
) -> DomainResult<LdapLogin> {
    let found = match client::authenticate(settings, login, password).await {
        Ok(found) => found,
        Err(LdapFailure::Refused(reason)) => {
            tracing::info!(provider = "ldap", reason, "login refused by the directory");
            return Ok(LdapLogin::Refused);
        }
        Err(LdapFailure::Unavailable(error)) => {
            tracing::warn!(provider = "ldap", %error, "directory unavailable");
            return Ok(LdapLogin::Unavailable);
        }
    };
    let username = local_username(&found.username);
    if username.is_empty() {
        tracing::warn!(
            provider = "ldap",
            "directory entry without a usable username"
        );
        return Ok(LdapLogin::Refused);
    }
    let role = role_of(settings, &found.groups);
    let sync = LdapSync {
        dn: &found.dn,
        uuid: found.uuid.as_deref(),
        username: &username,
        email: found.email.trim(),
        first_name: &found.first_name.chars().take(150).collect::<String>(),
        last_name: &found.last_name.chars().take(150).collect::<String>(),
        role,
        create: settings.auto_provision,
    };
    match state.db.ldap_sync(&sync).await? {
        LdapSynced::User { user, created } if user.is_active => {
            if created {
                tracing::info!(provider = "ldap", user_id = user.id, "user provisioned");
            }
            tracing::info!(
                provider = "ldap",
                user_id = user.id,
                role,
                "directory login"
            );
            Ok(LdapLogin::Verified(user))
        }
        LdapSynced::User { user, .. } => {
            tracing::info!(
                provider = "ldap",
                user_id = user.id,
                "inactive account refused"
            );
            Ok(LdapLogin::Refused)
        }
        LdapSynced::LocalAccount(user_id) => {
            tracing::warn!(
                provider = "ldap",
                user_id,
                "a directory user has the username of a local account: not merged, refused"
            );
            Ok(LdapLogin::Refused)
        }
        LdapSynced::NotProvisioned => {
            tracing::info!(provider = "ldap", "no account and auto-provisioning is off");
            Ok(LdapLogin::Refused)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_usernames_keep_only_safe_characters() {
        assert_eq!(local_username("dan(ops)"), "dan_ops_");
        assert_eq!(local_username("alice.b@x+y-z"), "alice.b@x+y-z");
        assert_eq!(local_username(&"a".repeat(200)).len(), 150);
    }
}
