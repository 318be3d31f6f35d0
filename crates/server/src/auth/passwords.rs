//! Password hashing and verification, compatible with Django's `auth_user.password` column.
//!
//! New hashes use Django's Argon2 encoding (`argon2$argon2id$v=19$m=..,t=..,p=..$salt$hash`) so a
//! database written by this server stays readable by Django, and hashes written by Django/CVAT
//! (PBKDF2-SHA256 by default, Argon2 when configured) keep working here.

use argon2::{Algorithm, Argon2, Params, Version};
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use base64::Engine as _;
use password_hash::PasswordHash;
use rand::RngCore;
use sha2::Sha256;
use std::sync::OnceLock;
use subtle::ConstantTimeEq;

/// OWASP-recommended Argon2id parameters (memory in KiB).
const M_COST: u32 = 19_456;
const T_COST: u32 = 2;
const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const OUTPUT_LEN: usize = 32;

/// Limits on what a stored hash may ask for, so a hostile/corrupt row cannot hang the server.
const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
const MAX_ARGON2_M_COST: u32 = 1 << 20; // 1 GiB in KiB
const MAX_ARGON2_WORK: u64 = 4 << 20; // m_cost * t_cost, i.e. at most ~4 passes over 1 GiB

/// Django's prefix for unusable passwords (`set_unusable_password`).
const UNUSABLE_PREFIX: &str = "!";

/// Hash for storage: Django-compatible Argon2id encoding
/// `argon2$argon2id$v=19$m=19456,t=2,p=1$<salt b64 no pad>$<hash b64 no pad>`, random 16-byte salt.
pub fn hash_password(plain: &str) -> String {
    let mut salt = [0u8; SALT_LEN];
    rand::rngs::OsRng.fill_bytes(&mut salt);
    hash_with_salt(plain, &salt)
}

// argon2 fails only for parameters, salt or output lengths out of its ranges; these are
// constants inside them (and the unit tests hash with them).
#[allow(clippy::expect_used)]
fn hash_with_salt(plain: &str, salt: &[u8]) -> String {
    let params =
        Params::new(M_COST, T_COST, P_COST, Some(OUTPUT_LEN)).expect("valid argon2 params");
    let mut out = [0u8; OUTPUT_LEN];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password_into(plain.as_bytes(), salt, &mut out)
        .expect("argon2 hashing with fixed params cannot fail");
    format!(
        "argon2$argon2id$v=19$m={M_COST},t={T_COST},p={P_COST}${}${}",
        STANDARD_NO_PAD.encode(salt),
        STANDARD_NO_PAD.encode(out)
    )
}

#[derive(Debug, PartialEq, Eq)]
pub enum Verified {
    No,
    Yes { needs_rehash: bool },
}

/// Verifies `plain` against a stored hash. Accepted formats:
/// * `argon2$argon2{id,i,d}$...` (Django's Argon2PasswordHasher, any params within limits);
/// * bare PHC `$argon2{id,i,d}$...`;
/// * `pbkdf2_sha256$<iterations>$<salt>$<b64 hash>` (Django's default hasher).
///
/// Anything else (incl. unusable `!...` passwords) → `No`.
/// `needs_rehash` is true unless the hash is already in our exact storage format and params
/// (a bare PHC string is also re-hashed, so storage converges on what Django can read).
pub fn verify_password(plain: &str, encoded: &str) -> Verified {
    if encoded.starts_with(UNUSABLE_PREFIX) {
        return Verified::No;
    }
    if let Some(phc) = encoded.strip_prefix("argon2$") {
        // Django stores "argon2" + the PHC string minus its leading '$'.
        return verify_argon2(plain, &format!("${phc}"), true);
    }
    if encoded.starts_with("$argon2") {
        return verify_argon2(plain, encoded, false);
    }
    if encoded.starts_with("pbkdf2_sha256$") {
        return verify_pbkdf2_sha256(plain, encoded);
    }
    Verified::No
}

/// Burn the same time as a real verify (of a hash with our current params), for unknown
/// usernames: response timing must not reveal which usernames exist.
pub fn dummy_verify(plain: &str) {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let hash = DUMMY.get_or_init(|| hash_password("dummy password, never matches"));
    let _ = std::hint::black_box(verify_password(plain, hash));
}

fn verify_argon2(plain: &str, phc: &str, django_prefixed: bool) -> Verified {
    let Some((matched, current)) = argon2_check(plain, phc) else {
        return Verified::No;
    };
    if matched {
        Verified::Yes {
            needs_rehash: !(django_prefixed && current),
        }
    } else {
        Verified::No
    }
}

/// Returns `(password matches, hash uses exactly our params)`, or None if the hash is
/// malformed or asks for unreasonable resources.
fn argon2_check(plain: &str, phc: &str) -> Option<(bool, bool)> {
    let parsed = PasswordHash::new(phc).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    // The PHC format says a missing "v=" means Argon2 version 1.0 (0x10), as argon2-cffi does.
    let version = match parsed.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::V0x10,
    };
    let params = Params::try_from(&parsed).ok()?;
    if params.m_cost() > MAX_ARGON2_M_COST
        || u64::from(params.m_cost()) * u64::from(params.t_cost()) > MAX_ARGON2_WORK
    {
        return None;
    }
    let mut salt_buf = [0u8; 64];
    let salt = parsed.salt?.decode_b64(&mut salt_buf).ok()?;
    let expected = parsed.hash?;
    let mut out = vec![0u8; expected.len()];
    Argon2::new(algorithm, version, params.clone())
        .hash_password_into(plain.as_bytes(), salt, &mut out)
        .ok()?;
    let matched: bool = out.as_slice().ct_eq(expected.as_bytes()).into();
    let current = algorithm == Algorithm::Argon2id
        && version == Version::V0x13
        && params.m_cost() == M_COST
        && params.t_cost() == T_COST
        && params.p_cost() == P_COST
        && expected.len() == OUTPUT_LEN
        && salt.len() >= SALT_LEN;
    Some((matched, current))
}

/// Django's PBKDF2PasswordHasher: re-encode with the stored salt/iterations and compare the
/// whole encoded string in constant time, exactly as Django's `verify()` does.
fn verify_pbkdf2_sha256(plain: &str, encoded: &str) -> Verified {
    let mut parts = encoded.splitn(4, '$');
    let (Some(_algo), Some(iterations), Some(salt), Some(_hash)) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Verified::No;
    };
    if iterations.is_empty() || !iterations.bytes().all(|b| b.is_ascii_digit()) {
        return Verified::No;
    }
    let iterations: u32 = match iterations.parse() {
        Ok(n) if (1..=MAX_PBKDF2_ITERATIONS).contains(&n) => n,
        _ => return Verified::No,
    };
    let mut out = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(plain.as_bytes(), salt.as_bytes(), iterations, &mut out);
    let recomputed = format!("pbkdf2_sha256${iterations}${salt}${}", STANDARD.encode(out));
    if bool::from(recomputed.as_bytes().ct_eq(encoded.as_bytes())) {
        Verified::Yes { needs_rehash: true }
    } else {
        Verified::No
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PW: &str = "!Q@W#E$R";
    const UNICODE_PW: &str = "pässwörd ✓";

    fn yes(rehash: bool) -> Verified {
        Verified::Yes {
            needs_rehash: rehash,
        }
    }

    // Django 3.2.16 vectors. Full-cost hashes (260k PBKDF2 iterations, Argon2 m=100 MiB) are
    // checked once each: they take seconds in debug builds. Cheap-param Django hashes cover the rest.
    #[test]
    fn pbkdf2_vectors_from_django() {
        // CVAT fixture hash, and make_password(PW, hasher='pbkdf2_sha256').
        let fixture = "pbkdf2_sha256$260000$DevmxlmLwciP1P6sZs2Qag$U9DFtjTWx96Sk95qY6UXVcvpdQEP2LcoFBftk5D2RKY=";
        assert_eq!(verify_password(PW, fixture), yes(true));
        let h = "pbkdf2_sha256$260000$voSROS3wU4P1aSjSzPtJFa$W+KEgg9Vjwiw+YnGKh8RiaR/j/iexs3UsTyFefau3pk=";
        assert_eq!(verify_password(PW, h), yes(true));
        // PBKDF2PasswordHasher().encode(pw, salt, iterations=1000).
        let h = "pbkdf2_sha256$1000$6vcDFyCUZSe5pmKk0H7oOc$2mtRndyl+6fC3MkKINXDSfpbNNGC+bkHEV9Ir1U7rXo=";
        assert_eq!(verify_password(PW, h), yes(true));
        assert_eq!(verify_password("!Q@W#E$r", h), Verified::No);
        assert_eq!(verify_password("", h), Verified::No);
        let h = "pbkdf2_sha256$1000$0GbJKN3OFw7dFJqDJiOsIM$jZbOvn/7lIh9C4nCGTgWVl+BCl0wYk/FqtXh3I1/fOo=";
        assert_eq!(verify_password(UNICODE_PW, h), yes(true));
        assert_eq!(verify_password("passwörd ✓", h), Verified::No);
        let h = "pbkdf2_sha256$1000$mh6jRYzeoPCBglk5t44QSJ$Ai7+8+AeJz6b+lTVVWH508ThM5tt/3W8JemYumBVbIg=";
        assert_eq!(verify_password("", h), yes(true));
        assert_eq!(verify_password(" ", h), Verified::No);
    }

    #[test]
    fn pbkdf2_rejects_malformed_and_hostile() {
        let h =
            "pbkdf2_sha256$1000$6vcDFyCUZSe5pmKk0H7oOc$2mtRndyl+6fC3MkKINXDSfpbNNGC+bkHEV9Ir1U7rXo";
        assert_eq!(
            verify_password(PW, h),
            Verified::No,
            "padding is part of Django's encoding"
        );
        for bad in [
            "pbkdf2_sha256$4000000000$salt$AAAA",
            "pbkdf2_sha256$0$salt$AAAA",
            "pbkdf2_sha256$-1$salt$AAAA",
            "pbkdf2_sha256$abc$salt$AAAA",
            "pbkdf2_sha256$260000$salt",
            "pbkdf2_sha256$",
        ] {
            assert_eq!(verify_password(PW, bad), Verified::No, "{bad}");
        }
    }

    #[test]
    fn argon2_vectors_from_django() {
        // Django 3.2.16 Argon2PasswordHasher defaults (argon2-cffi 25.1): m=102400,t=2,p=8.
        let h = "argon2$argon2id$v=19$m=102400,t=2,p=8$dVZ6anh0NmFWd3ZEM2U3Tnl5ekY4Wg$jQroblGsEG15vy2lZFBv7AIW5lw9Ktj4wKQtNRFse2w";
        assert_eq!(verify_password(PW, h), yes(true));
        // Same hasher subclassed with memory_cost=1024, time_cost=1, parallelism=2.
        let h = "argon2$argon2id$v=19$m=1024,t=1,p=2$VGtVaXdIWHZXNU1EOUMzOElpM1doNA$soNNtY1f0wGfAJ6fE1PbdqhvCUqJHu1EzcMjFF+ZGRA";
        assert_eq!(verify_password(PW, h), yes(true));
        assert_eq!(verify_password("wrong", h), Verified::No);
        let h = "argon2$argon2id$v=19$m=1024,t=1,p=2$WHJTUUlReFR4VkpQSlpXZXpNeW8ybA$WKXUTtCPc7I+7LBoXSdHBX7ax7A5sXX0TyKyrx7A1V0";
        assert_eq!(verify_password(UNICODE_PW, h), yes(true));
        let h = "argon2$argon2id$v=19$m=1024,t=1,p=2$VWo0U3BMUXhwWmYxQVlZM0p4SHRxcQ$OjhXLUqWYf4ZyT9GTJuUOMDmHvaMJQi0AnsIDtZqBHE";
        assert_eq!(verify_password("", h), yes(true));
        assert_eq!(verify_password(" ", h), Verified::No);
        // argon2-cffi low-level hashes with our exact params, and other variants/versions.
        let ours = "argon2$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$jcssvJUaV2HreySHY+hIvtGBDJoCTBSuFCQFpyeW3RM";
        assert_eq!(verify_password(PW, ours), yes(false));
        assert_eq!(
            verify_password(PW, &ours["argon2".len()..]),
            yes(true),
            "bare PHC"
        );
        let i = "argon2$argon2i$v=19$m=64,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$A+JvFZOqTdopJmRSluP26Kh8GTHyeAJhoequN54hdIQ";
        assert_eq!(verify_password(PW, i), yes(true));
        let d = "argon2$argon2d$v=19$m=64,t=1,p=2$c29tZXNhbHRzb21lc2FsdA$3kOn7XWsGNxieRmRlO/DvOwr/lVZfYgwreYmj7yVHVE";
        assert_eq!(verify_password(PW, d), yes(true));
        let v16 = "argon2$argon2i$v=16$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$PBeYMXYYUzxKBbKMNXKRVA";
        assert_eq!(verify_password(PW, v16), yes(true));
        assert_eq!(verify_password("x", v16), Verified::No);
    }

    #[test]
    fn hash_roundtrip_and_format() {
        let h = hash_password(PW);
        assert!(
            h.starts_with("argon2$argon2id$v=19$m=19456,t=2,p=1$"),
            "{h}"
        );
        let fields: Vec<&str> = h.split('$').collect();
        assert_eq!(fields.len(), 6);
        assert_eq!(STANDARD_NO_PAD.decode(fields[4]).unwrap().len(), SALT_LEN);
        assert_eq!(STANDARD_NO_PAD.decode(fields[5]).unwrap().len(), OUTPUT_LEN);
        assert_eq!(verify_password(PW, &h), yes(false));
        assert_eq!(verify_password("!Q@W#E$r", &h), Verified::No);
        assert_ne!(h, hash_password(PW), "salt must be random");
        // Deterministic with a fixed salt: equals argon2-cffi's output for the same input.
        assert_eq!(
            hash_with_salt(PW, b"0123456789abcdef"),
            "argon2$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg$jcssvJUaV2HreySHY+hIvtGBDJoCTBSuFCQFpyeW3RM"
        );
    }

    #[test]
    fn rejects_unusable_unknown_and_hostile() {
        for bad in [
            "",
            "!",
            "!Tk8gjBcT2kEyXeBLBS7OhMDRaOc7oXbLWDgSjSEC",
            "md5$salt$abc",
            "bcrypt_sha256$$2b$12$abc",
            "argon2$",
            "argon2$argon2id$v=19$m=19456,t=2,p=1$MDEyMzQ1Njc4OWFiY2RlZg",
            "argon2$argon2x$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$PBeYMXYYUzxKBbKMNXKRVA",
            // Absurd memory (2 GiB) / work: rejected before any hashing happens.
            "argon2$argon2id$v=19$m=2097152,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$PBeYMXYYUzxKBbKMNXKRVA",
            "argon2$argon2id$v=19$m=1048576,t=100,p=1$c29tZXNhbHRzb21lc2FsdA$PBeYMXYYUzxKBbKMNXKRVA",
        ] {
            assert_eq!(verify_password(PW, bad), Verified::No, "{bad}");
        }
    }

    #[test]
    fn dummy_verify_runs() {
        dummy_verify(PW);
        dummy_verify("");
    }
}
