//! Remembers Basic credentials that verified, so that a client sending `Authorization: Basic`
//! with every request pays for the password hash (an imported `pbkdf2_sha256$260000` or our
//! Argon2id: tens of milliseconds) once every few minutes instead of on every request.
//!
//! Safe because a hit needs all of:
//! * the same login and password: entries are keyed by HMAC-SHA256(server secret, length of
//!   login, login, NUL, password), so neither the password nor an unsalted hash of it is kept in memory;
//! * the same answer from the database on this request: the active users the login names,
//!   in Django's order, up to the one that matched, with exactly the stored hashes the
//!   password was checked against. A password change (a new hash), a deactivation, a deletion
//!   or a rename takes effect on the next request, on every replica;
//! * an entry younger than [`TTL`]; at most [`CAPACITY`] entries are kept.
//!
//! Locks from failed logins still apply to hits (the caller checks them), and the upgrade of
//! an old hash happens on the first verification, as before.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use hmac::Mac;

use crate::store::UserRecord;

pub const TTL: Duration = Duration::from_secs(300);
pub const CAPACITY: usize = 10_000;

pub type Key = [u8; 32];

/// The users a password was checked against, in order: `(id, stored hash)`; the last matched.
pub type Verified = Vec<(i64, String)>;

struct Entry {
    verified: Verified,
    at: Instant,
    /// [`TTL`], or the directory's shorter one for LDAP passwords (`auth::ldap`).
    ttl: Duration,
}

#[derive(Default)]
pub struct BasicCache {
    entries: Mutex<HashMap<Key, Entry>>,
    /// One verification at a time per key: concurrent requests with the same credentials wait
    /// for the first one instead of hashing in parallel.
    in_flight: Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
}

/// The process's cache (entries are bound to a user's stored hash, so one cache can serve
/// any number of databases).
pub fn cache() -> &'static BasicCache {
    static CACHE: OnceLock<BasicCache> = OnceLock::new();
    CACHE.get_or_init(BasicCache::default)
}

pub fn key(secret: &str, login: &str, password: &str) -> Key {
    let mut mac = super::hmac_sha256(secret.as_bytes());
    // The login's length first: a NUL inside a login cannot shift the boundary.
    mac.update(&(login.len() as u64).to_be_bytes());
    mac.update(login.as_bytes());
    mac.update(&[0]);
    mac.update(password.as_bytes());
    mac.finalize().into_bytes().into()
}

impl BasicCache {
    /// The user these credentials verified for, if `active` (the login's active users, in
    /// order) still starts with exactly the users and hashes they were checked against.
    pub fn hit(&self, key: &Key, active: &[&UserRecord]) -> Option<UserRecord> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let entry = entries.get(key)?;
        if entry.at.elapsed() > entry.ttl || entry.verified.len() > active.len() {
            return None;
        }
        let same = entry
            .verified
            .iter()
            .zip(active)
            .all(|((id, hash), u)| *id == u.id && *hash == u.password);
        same.then(|| (*active[entry.verified.len() - 1]).clone())
    }

    pub fn insert(&self, key: Key, verified: Verified) {
        self.insert_for(key, verified, TTL);
    }

    /// `insert` with a lifetime of at most `ttl` (capped at [`TTL`]).
    pub fn insert_for(&self, key: Key, verified: Verified, ttl: Duration) {
        if verified.is_empty() {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= CAPACITY {
            entries.retain(|_, e| e.at.elapsed() <= e.ttl);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(
            key,
            Entry {
                verified,
                at: Instant::now(),
                ttl: ttl.min(TTL),
            },
        );
    }

    /// Waits until no other request verifies these credentials; hold the guard while verifying.
    pub async fn single_flight(&self, key: Key) -> Flight<'_> {
        let lock = {
            let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(key).or_default().clone()
        };
        let guard = lock.clone().lock_owned().await;
        Flight {
            cache: self,
            key,
            _guard: guard,
        }
    }
}

pub struct Flight<'a> {
    cache: &'a BasicCache,
    key: Key,
    _guard: tokio::sync::OwnedMutexGuard<()>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        let mut map = self
            .cache
            .in_flight
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Drop the key's lock once nobody else holds or waits for it.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) <= 2)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: i64, hash: &str, active: bool) -> UserRecord {
        UserRecord {
            id,
            username: format!("u{id}"),
            password: hash.into(),
            email: String::new(),
            first_name: String::new(),
            last_name: String::new(),
            is_staff: false,
            is_superuser: false,
            is_active: active,
            last_login: None,
            date_joined: 0,
            groups: vec![],
            created_via: None,
            email_verified: None,
            blocked_date: None,
            must_change_password: false,
            mfa_enabled: false,
        }
    }

    #[test]
    fn hits_only_while_the_database_says_the_same() {
        let cache = BasicCache::default();
        let k = key("secret", "alice", "pw");
        assert_ne!(k, key("secret", "alice", "pw2"));
        assert_ne!(k, key("other", "alice", "pw"));
        assert_ne!(key("s", "a\0b", "c"), key("s", "a", "b\0c"));
        let (a, b) = (user(1, "h1", true), user(2, "h2", true));
        assert!(cache.hit(&k, &[&a]).is_none());
        // Checked against user 1 (no match), then matched user 2.
        cache.insert(k, vec![(1, "h1".into()), (2, "h2".into())]);
        assert_eq!(cache.hit(&k, &[&a, &b]).map(|u| u.id), Some(2));
        // A new hash on either user, a missing or reordered user: no hit.
        assert!(cache.hit(&k, &[&a, &user(2, "new", true)]).is_none());
        assert!(cache.hit(&k, &[&user(1, "new", true), &b]).is_none());
        assert!(cache.hit(&k, &[&b]).is_none());
        assert!(cache.hit(&k, &[&b, &a]).is_none());
        assert!(cache
            .hit(&key("secret", "alice", "other"), &[&a, &b])
            .is_none());
    }

    #[tokio::test]
    async fn one_verification_at_a_time_per_key() {
        let cache = BasicCache::default();
        let k = key("s", "l", "p");
        let first = cache.single_flight(k).await;
        let second = tokio::time::timeout(Duration::from_millis(50), cache.single_flight(k)).await;
        assert!(second.is_err(), "the second waits");
        let _other = cache.single_flight(key("s", "l", "q")).await;
        drop(first);
        let _again = cache.single_flight(k).await;
    }
}
