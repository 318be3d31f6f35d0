//! Password hashing off the async runtime, a few at a time (Argon2id is slow and large on
//! purpose).

use super::passwords;
use crate::error::{ApiError, ApiResult};
use crate::store::UserRecord;

/// Password hashes run one per CPU at a time: Argon2id takes 19 MiB and tens of milliseconds
/// each, so a burst of logins queues here instead of multiplying memory and threads.
async fn hashing_permit() -> ApiResult<tokio::sync::SemaphorePermit<'static>> {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS
        .get_or_init(|| {
            let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
            tokio::sync::Semaphore::new(cpus)
        })
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Tries `password` against each candidate off the async runtime (hashes are slow on purpose).
pub(super) async fn verify_any(
    candidates: Vec<UserRecord>,
    password: String,
) -> ApiResult<Option<(UserRecord, bool)>> {
    let _permit = hashing_permit().await?;
    let found = tokio::task::spawn_blocking(move || {
        if candidates.is_empty() {
            passwords::dummy_verify(&password);
            return None;
        }
        candidates.into_iter().find_map(|u| {
            match passwords::verify_password(&password, &u.password) {
                passwords::Verified::Yes { needs_rehash } => Some((u, needs_rehash)),
                passwords::Verified::No => None,
            }
        })
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    Ok(found)
}

pub async fn hash_blocking(password: String) -> ApiResult<String> {
    let _permit = hashing_permit().await?;
    tokio::task::spawn_blocking(move || passwords::hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.into()))
}
