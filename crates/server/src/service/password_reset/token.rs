//! Django's `PasswordResetTokenGenerator` as allauth extends it (spec §2.3), so that links are
//! the shape CVAT's UI expects and the spec's test vectors hold: `uid` is base36 of the user
//! id, the token `<ts36>-<32 hex>`, where the hex is every other character of
//! HMAC-SHA256(SHA256(key salt + secret), state of the user + ts). The user state covers the
//! password hash, `last_login` and the e-mail address, so a reset (a new hash), a login or an
//! address change ends every link made before it.

use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::auth::ct_eq;
use crate::store::UserRecord;

const KEY_SALT: &str = "django.contrib.auth.tokens.PasswordResetTokenGenerator";

/// Seconds between the Unix epoch and Django's token epoch, 2001-01-01 00:00:00 UTC.
const EPOCH_2001: i64 = 978_307_200;

/// Lower-case base36, as Django's `int_to_base36`.
pub fn int_to_base36(n: u64) -> String {
    crate::pycompat::encode_base(n, b"0123456789abcdefghijklmnopqrstuvwxyz")
}

/// Django's `base36_to_int`: at most 13 characters, case-insensitive.
pub fn base36_to_int(s: &str) -> Option<u64> {
    if s.is_empty() || s.len() > 13 || !s.chars().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    u64::from_str_radix(s, 36).ok()
}

/// The parts of a user a token depends on.
pub struct TokenState<'a> {
    pub id: i64,
    pub password: &'a str,
    /// Microseconds since the epoch, UTC.
    pub last_login: Option<i64>,
    pub email: &'a str,
    /// Every address of the user (allauth's suffix); ours has only `email`.
    pub addresses: &'a [&'a str],
}

impl<'a> TokenState<'a> {
    pub fn of(user: &'a UserRecord, addresses: &'a [&'a str]) -> TokenState<'a> {
        TokenState {
            id: user.id,
            password: &user.password,
            last_login: user.last_login,
            email: &user.email,
            addresses,
        }
    }

    /// Django's `_make_hash_value` plus allauth's suffix.
    fn hash_value(&self, ts: i64) -> String {
        let login = self
            .last_login
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_default();
        let mut emails: Vec<&str> = self.addresses.to_vec();
        if !self.email.is_empty() {
            emails.push(self.email);
        }
        emails.sort_unstable();
        emails.dedup();
        format!(
            "{}{}{}{}{}{}",
            self.id,
            self.password,
            login,
            ts,
            self.email,
            emails.join("|")
        )
    }
}

/// The token for `state` at `ts` (seconds since 2001-01-01 UTC).
pub fn make_token(secret: &str, state: &TokenState, ts: i64) -> String {
    let key = Sha256::digest(format!("{KEY_SALT}{secret}").as_bytes());
    let mut mac = crate::auth::hmac_sha256(&key);
    mac.update(state.hash_value(ts).as_bytes());
    let hex = hex::encode(mac.finalize().into_bytes());
    let every_other: String = hex.chars().step_by(2).collect();
    format!("{}-{every_other}", int_to_base36(ts.max(0) as u64))
}

/// Now in Django's token clock.
pub fn now_ts() -> i64 {
    chrono::Utc::now().timestamp() - EPOCH_2001
}

/// Django's `check_token`: well formed, made for this state, and at most `timeout` seconds old.
pub fn check_token(secret: &str, state: &TokenState, token: &str, timeout: i64, now: i64) -> bool {
    let mut parts = token.split('-');
    let (Some(ts36), Some(_), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Some(ts) = base36_to_int(ts36).and_then(|t| i64::try_from(t).ok()) else {
        return false;
    };
    ct_eq(&make_token(secret, state, ts), token) && now - ts <= timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice<'a>(addresses: &'a [&'a str]) -> TokenState<'a> {
        let last_login = chrono::DateTime::parse_from_rfc3339("2024-01-02T03:04:05.678Z")
            .unwrap()
            .timestamp_micros();
        TokenState {
            id: 42,
            password: "pbkdf2_sha256$1000000$abc$def=",
            last_login: Some(last_login),
            email: "alice@example.com",
            addresses,
        }
    }

    /// The spec's vectors (§2.3), computed by Django 5.2.
    #[test]
    fn tokens_match_djangos_test_vectors() {
        assert_eq!(int_to_base36(757_382_400), "cixc00");
        // Our users have one address, so allauth's suffix is that address again.
        assert_eq!(
            alice(&[]).hash_value(757_382_400),
            "42pbkdf2_sha256$1000000$abc$def=2024-01-02 03:04:05757382400alice@example.comalice@example.com"
        );
        let with_addresses = alice(&["Alice.Work@example.com"]);
        assert!(with_addresses
            .hash_value(757_382_400)
            .ends_with("alice@example.comAlice.Work@example.com|alice@example.com"));
        assert_eq!(
            make_token("s3cr3t", &with_addresses, 757_382_400),
            "cixc00-861d7102c846b8100fc93b3661bde5da"
        );
    }

    #[test]
    fn the_django_only_vector_holds_for_the_bare_value() {
        let key = Sha256::digest(format!("{KEY_SALT}s3cr3t").as_bytes());
        let mut mac = crate::auth::hmac_sha256(&key);
        mac.update(
            b"42pbkdf2_sha256$1000000$abc$def=2024-01-02 03:04:05757382400alice@example.com",
        );
        let hex = hex::encode(mac.finalize().into_bytes());
        let every_other: String = hex.chars().step_by(2).collect();
        assert_eq!(every_other, "471dc1bff573aa3e142404642a364c0d");
    }

    #[test]
    fn tokens_expire_and_reject_tampering() {
        let state = alice(&[]);
        let token = make_token("s3cr3t", &state, 1000);
        assert!(check_token(
            "s3cr3t",
            &state,
            &token,
            259_200,
            1000 + 259_200
        ));
        assert!(!check_token(
            "s3cr3t",
            &state,
            &token,
            259_200,
            1000 + 259_201
        ));
        assert!(!check_token("other", &state, &token, 259_200, 1000));
        assert!(!check_token(
            "s3cr3t",
            &state,
            &format!("{token}0"),
            259_200,
            1000
        ));
        assert!(!check_token("s3cr3t", &state, "abc", 259_200, 1000));
        assert!(!check_token(
            "s3cr3t",
            &state,
            &format!("{token}-x"),
            259_200,
            1000
        ));
        let changed = TokenState {
            password: "argon2$new",
            ..alice(&[])
        };
        assert!(!check_token("s3cr3t", &changed, &token, 259_200, 1000));
    }

    #[test]
    fn uids_are_base36_ids() {
        for (id, s) in [(1, "1"), (35, "z"), (36, "10"), (1000, "rs")] {
            assert_eq!(int_to_base36(id), s);
            assert_eq!(base36_to_int(s), Some(id));
        }
        assert_eq!(base36_to_int("RS"), Some(1000));
        assert_eq!(base36_to_int(""), None);
        assert_eq!(base36_to_int("-1"), None);
        assert_eq!(base36_to_int("zzzzzzzzzzzzzz"), None);
    }
}
