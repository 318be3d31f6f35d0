//! Brute-force protection for password checks (decision 10): failures are counted per account
//! and per client address in the database, so replicas sharing it share the counters.

use crate::service::{DomainError, DomainResult};
use crate::state::AppState;
use crate::store::{fold, now_micros, UserRecord};

pub(crate) const ACCOUNT: &str = "account";
const ADDRESS: &str = "address";
const MICROS: i64 = 1_000_000;

/// Seconds until a subject may try again, given the times of its latest `limit` failures
/// (newest first), if `limit` of them fell within the window.
fn locked_for(recent: &[i64], limit: i64, window: i64, now: i64) -> Option<u64> {
    if limit <= 0 || (recent.len() as i64) < limit {
        return None;
    }
    let (newest, oldest) = (recent[0], recent[recent.len() - 1]);
    let until = newest + window;
    if newest - oldest <= window && now < until {
        return Some(((until - now) as u64).div_ceil(MICROS as u64));
    }
    None
}

/// The account subjects a login names: the users it matches (by folded username), or the
/// folded login itself when it matches nobody.
pub fn accounts(login: &str, matching: &[UserRecord]) -> Vec<String> {
    if matching.is_empty() {
        // PostgreSQL text holds no NUL: such a login is counted under U+FFFD instead.
        vec![fold(login).replace('\0', "\u{fffd}")]
    } else {
        matching.iter().map(|u| fold(&u.username)).collect()
    }
}

/// 429 while an account or the address is locked; nothing is verified then. One statement
/// reads every lock.
pub async fn check(state: &AppState, accounts: &[String], address: &str) -> DomainResult<()> {
    let s = &state.settings;
    let mut locks: Vec<(&str, &str, i64, &str)> = accounts
        .iter()
        .map(|a| (ACCOUNT, a.as_str(), s.failures_per_account, "account"))
        .collect();
    locks.push((ADDRESS, address, s.failures_per_address, "address"));
    locks.retain(|&(_, _, limit, _)| limit > 0);
    if locks.is_empty() {
        return Ok(());
    }
    let now = now_micros();
    let window = s.lockout_secs * MICROS;
    let subjects: Vec<(&str, &str, i64)> = locks
        .iter()
        .map(|&(scope, subject, limit, _)| (scope, subject, limit))
        .collect();
    let recent = state
        .db
        .recent_login_failures(&subjects, now - 2 * window)
        .await?;
    for ((scope, _, limit, what), times) in locks.into_iter().zip(recent) {
        if let Some(retry_after) = locked_for(&times, limit, window, now) {
            tracing::warn!(scope, "password logins locked after repeated failures");
            crate::metrics::login_locked();
            return Err(DomainError::Throttled {
                detail: format!(
                    "Too many failed login attempts for this {what}. Try again in {retry_after} seconds."
                ),
                retry_after,
            });
        }
    }
    Ok(())
}

pub async fn failed(state: &AppState, accounts: &[String], address: &str) -> DomainResult<()> {
    crate::metrics::failed_login();
    for account in accounts {
        state.db.record_login_failure(ACCOUNT, account).await?;
    }
    state.db.record_login_failure(ADDRESS, address).await?;
    Ok(())
}

/// A correct password resets the account's count (not the address's: one valid account must
/// not let an address keep guessing others).
pub async fn succeeded(state: &AppState, user: &UserRecord) -> DomainResult<()> {
    state
        .db
        .clear_login_failures(ACCOUNT, &fold(&user.username))
        .await?;
    Ok(())
}

/// Seconds until `username`'s password logins unlock, if they are locked now.
pub async fn account_locked_for(state: &AppState, username: &str) -> sqlx::Result<Option<u64>> {
    let s = &state.settings;
    if s.failures_per_account <= 0 {
        return Ok(None);
    }
    let (now, window) = (now_micros(), s.lockout_secs * MICROS);
    let subject = fold(username);
    let recent = state
        .db
        .recent_login_failures(
            &[(ACCOUNT, subject.as_str(), s.failures_per_account)],
            now - 2 * window,
        )
        .await?;
    let times = recent.into_iter().next().unwrap_or_default();
    Ok(locked_for(&times, s.failures_per_account, window, now))
}
