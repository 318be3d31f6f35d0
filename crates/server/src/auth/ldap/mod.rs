//! LDAP logins (issue 14, sso-and-mfa §4.10): the directory checks the password of directory
//! users, through the routes clients already call (`POST /api/auth/login`, `Authorization:
//! Basic`), so both SDKs log in with directory credentials unchanged.
//!
//! Who asks the directory: when LDAP is on and the login names no local-password account
//! (`auth_source = 'local'`), the directory decides, and only the directory: an account with
//! `auth_source = 'ldap'` has an unusable local hash and is never checked against it (no
//! fallback, §2.6). A login that names a local account (a break-glass admin) is checked
//! locally as before and never reaches the directory, so those still log in while the
//! directory is down; directory users then get 503 `ldap_unavailable`.
//!
//! Throttling is the password logins' (checked before the directory is contacted; a refusal
//! counts as a failure). Basic: a directory password that verified is remembered in the Basic
//! cache for `--ldap-basic-cache-seconds` (60 by default; 0 asks the directory every time), so
//! a user disabled in the directory keeps Basic access at most that long. The account sync
//! lives in `service::ldap`.

pub mod client;
pub mod dn;
pub mod settings;

use axum::http::StatusCode;
use serde_json::Map;

pub use settings::{LdapArgs, LdapSettings};

use super::{basic_cache, throttle};
use crate::error::{ApiError, ApiResult};
use crate::service::ldap::LdapLogin;
use crate::state::AppState;
use crate::store::UserRecord;

/// 503 `ldap_unavailable` with `Retry-After: 30` (§4.1).
pub fn unavailable() -> ApiError {
    let mut body = Map::new();
    body.insert(
        "detail".into(),
        "The user directory cannot be reached. Try again later.".into(),
    );
    body.insert("code".into(), "ldap_unavailable".into());
    ApiError::Coded {
        status: StatusCode::SERVICE_UNAVAILABLE,
        code: "ldap_unavailable",
        body,
        headers: vec![("retry-after", "30".into())],
    }
}

/// The directory's settings when it decides for this login: LDAP is on and none of the users
/// the login names is a local-password account.
pub async fn decides<'a>(
    state: &'a AppState,
    matching: &[UserRecord],
) -> ApiResult<Option<&'a LdapSettings>> {
    let Some(settings) = state.ldap.as_deref() else {
        return Ok(None);
    };
    let ids: Vec<i64> = matching.iter().map(|u| u.id).collect();
    let sources = state.db.auth_sources(&ids).await?;
    Ok((!sources.iter().any(|s| s == "local")).then_some(settings))
}

/// The directory's verdict on `login` and `password`, as `verify_login` answers: the user
/// (created or synced) on success, counted as a failure otherwise; 503 when unreachable.
pub async fn verify(
    state: &AppState,
    settings: &LdapSettings,
    login: &str,
    password: &str,
    accounts: &[String],
    address: &str,
) -> ApiResult<Option<(UserRecord, basic_cache::Verified)>> {
    match crate::service::ldap::login(state, settings, login, password).await? {
        LdapLogin::Verified(user) => {
            throttle::succeeded(state, &user).await?;
            if !settings.basic_cache.is_zero() {
                basic_cache::cache().insert_for(
                    basic_cache::key(&state.secret, login, password),
                    vec![(user.id, user.password.clone())],
                    settings.basic_cache,
                );
            }
            // The Basic cache entry is made above, with the directory's shorter lifetime.
            Ok(Some((*user, Vec::new())))
        }
        LdapLogin::Refused => {
            throttle::failed(state, accounts, address).await?;
            Ok(None)
        }
        LdapLogin::Unavailable => Err(unavailable()),
    }
}
