//! Brute-force protection for password checks (decision 10): failures are counted per account
//! and per client address in the database, so replicas sharing it share the counters.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::store::{fold, now_micros, UserRecord};

const ACCOUNT: &str = "account";
const ADDRESS: &str = "address";
const MICROS: i64 = 1_000_000;

/// Seconds until `subject` may try again, if `limit` failures fell within the window.
async fn locked_for(
    state: &AppState,
    scope: &str,
    subject: &str,
    limit: i64,
) -> ApiResult<Option<u64>> {
    if limit <= 0 {
        return Ok(None);
    }
    let now = now_micros();
    let window = state.settings.lockout_secs * MICROS;
    let recent = state
        .db
        .recent_login_failures(scope, subject, now - 2 * window, limit)
        .await?;
    if (recent.len() as i64) < limit {
        return Ok(None);
    }
    let (newest, oldest) = (recent[0], recent[recent.len() - 1]);
    let until = newest + window;
    if newest - oldest <= window && now < until {
        return Ok(Some(((until - now) as u64).div_ceil(MICROS as u64)));
    }
    Ok(None)
}

/// The account subjects a login names: the users it matches (by folded username), or the
/// folded login itself when it matches nobody.
pub fn accounts(login: &str, matching: &[UserRecord]) -> Vec<String> {
    if matching.is_empty() {
        vec![fold(login)]
    } else {
        matching.iter().map(|u| fold(&u.username)).collect()
    }
}

/// 429 while an account or the address is locked; nothing is verified then.
pub async fn check(state: &AppState, accounts: &[String], address: &str) -> ApiResult<()> {
    let s = &state.settings;
    let mut locks: Vec<(&str, String, i64, &str)> = accounts
        .iter()
        .map(|a| (ACCOUNT, a.clone(), s.failures_per_account, "account"))
        .collect();
    locks.push((
        ADDRESS,
        address.to_string(),
        s.failures_per_address,
        "address",
    ));
    for (scope, subject, limit, what) in locks {
        if let Some(retry_after) = locked_for(state, scope, &subject, limit).await? {
            tracing::warn!(scope, "password logins locked after repeated failures");
            crate::http::metrics::login_locked();
            return Err(ApiError::Throttled {
                detail: format!(
                    "Too many failed login attempts for this {what}. Try again in {retry_after} seconds."
                ),
                retry_after,
            });
        }
    }
    Ok(())
}

pub async fn failed(state: &AppState, accounts: &[String], address: &str) -> ApiResult<()> {
    crate::http::metrics::failed_login();
    for account in accounts {
        state.db.record_login_failure(ACCOUNT, account).await?;
    }
    state.db.record_login_failure(ADDRESS, address).await?;
    Ok(())
}

/// A correct password resets the account's count (not the address's: one valid account must
/// not let an address keep guessing others).
pub async fn succeeded(state: &AppState, user: &UserRecord) -> ApiResult<()> {
    state
        .db
        .clear_login_failures(ACCOUNT, &fold(&user.username))
        .await?;
    Ok(())
}
