//! The TOTP factor's values and their algorithms, with no I/O: secrets (sealed with
//! AES-256-GCM, bound to their user), codes (RFC 6238 through `totp-rs`: SHA-1, 6 digits, 30 s,
//! ±1 step), recovery codes (keyed digests) and login tickets (SHA-256 digests). Every random
//! value comes from the operating system's generator.
//!
//! Recovery codes are 50 random bits each, so a keyed hash (HMAC-SHA-256) is enough: guessing
//! one online is throttled and single use, and offline a copy of the digests is useless
//! without the key, which is not stored beside them. A slow password hash (Argon2) would add
//! nothing against a 2^50 search that needs the key anyway, and would cost tens of
//! milliseconds per code on every login with one.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use totp_rs::{Algorithm, Totp};

/// RFC 6238 parameters (spec §3.1): what every authenticator app supports.
pub const DIGITS: usize = 6;
pub const PERIOD: u64 = 30;
pub const SKEW: u16 = 1;
pub const SECRET_BYTES: usize = 20;
pub const RECOVERY_CODES: usize = 10;
const RECOVERY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const RECOVERY_LEN: usize = 10;
const NONCE_LEN: usize = 12;

/// A fresh secret: 20 random bytes (160 bits, RFC 4226's recommendation).
pub fn new_secret() -> Vec<u8> {
    let mut bytes = vec![0u8; SECRET_BYTES];
    OsRng.fill_bytes(&mut bytes);
    bytes
}

fn aad(user_id: i64) -> Vec<u8> {
    format!("cvat-mfa-totp:{user_id}").into_bytes()
}

/// The secret sealed for storage: base64 of nonce and ciphertext. The user id is authenticated
/// data, so a sealed secret copied to another user's row does not open there.
pub fn seal(key: &[u8; 32], user_id: i64, secret: &[u8]) -> anyhow::Result<String> {
    let cipher = Aes256Gcm::new(key.into());
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let aad = aad(user_id);
    let sealed = cipher
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: secret,
                aad: &aad,
            },
        )
        .map_err(|_| anyhow::anyhow!("sealing a TOTP secret failed"))?;
    let mut out = nonce.to_vec();
    out.extend_from_slice(&sealed);
    Ok(base64::engine::general_purpose::STANDARD.encode(out))
}

/// The secret of a sealed value; an error when the key or the user does not match.
pub fn open(key: &[u8; 32], user_id: i64, sealed: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = base64::engine::general_purpose::STANDARD.decode(sealed)?;
    if bytes.len() <= NONCE_LEN {
        anyhow::bail!("sealed TOTP secret too short");
    }
    let (nonce, ct) = bytes.split_at(NONCE_LEN);
    let aad = aad(user_id);
    Aes256Gcm::new(key.into())
        .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: &aad })
        .map_err(|_| {
            anyhow::anyhow!("a stored TOTP secret does not open (was the encryption key changed?)")
        })
}

/// The `totp-rs` generator of a secret, labelled `issuer:account` for the URI.
pub fn totp(secret: &[u8], issuer: &str, account: &str) -> anyhow::Result<Totp> {
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS as u8)
        .with_skew(SKEW)
        .with_step_duration(PERIOD)
        .with_secret(secret.to_vec())
        .with_issuer(Some(issuer))
        .with_account_name(account)
        .build()
        .map_err(|e| anyhow::anyhow!("TOTP parameters refused: {e}"))
}

/// A code as typed: spaces removed, then exactly six ASCII digits.
pub fn normalize_code(code: &str) -> Option<String> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

/// The step (`floor(t / 30)`) whose code `code` is, within ±1 step of `now` (seconds).
pub fn matching_step(totp: &Totp, code: &str, now: u64) -> Option<i64> {
    totp.check(code, now).and_then(|s| i64::try_from(s).ok())
}

/// The SVG image of a QR code of `text` (the `otpauth://` URI), made here.
pub fn qr_svg(text: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build())
}

/// Ten fresh recovery codes, `XXXXX-XXXXX`.
pub fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let symbols: String = (0..RECOVERY_LEN)
                .map(|_| char::from(RECOVERY_ALPHABET[(OsRng.next_u32() % 32) as usize]))
                .collect();
            format!("{}-{}", &symbols[..5], &symbols[5..])
        })
        .collect()
}

/// A recovery code as typed: upper-cased, `-` and spaces removed, ten symbols of the alphabet.
pub fn normalize_recovery_code(code: &str) -> Option<String> {
    let code: String = code
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == RECOVERY_LEN && code.bytes().all(|b| RECOVERY_ALPHABET.contains(&b)))
        .then_some(code)
}

/// The stored digest of a normalized recovery code.
pub fn recovery_digest(key: &[u8; 32], normalized: &str) -> String {
    use hmac::Mac;
    let mut mac = crate::auth::hmac_sha256(key);
    mac.update(normalized.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A login ticket: 32 random bytes, base64url without padding (43 characters).
pub fn new_ticket() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors_with_six_digits() {
        let t = totp(
            b"12345678901234567890",
            "CVAT Identity",
            "alice@example.test",
        )
        .unwrap();
        assert_eq!(t.generate(59).to_string(), "287082");
        assert_eq!(t.generate(1_111_111_109).to_string(), "081804");
        assert_eq!(
            matching_step(&t, "081804", 1_111_111_109 + 30),
            Some(37_037_036)
        );
        assert_eq!(matching_step(&t, "081804", 1_111_111_109 + 60), None);
    }

    #[test]
    fn the_uri_has_the_shape_of_the_contract() {
        let t = totp(
            b"12345678901234567890",
            "CVAT Identity",
            "alice@example.test",
        )
        .unwrap();
        assert_eq!(
            t.to_url().unwrap(),
            "otpauth://totp/CVAT%20Identity:alice%40example.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=CVAT%20Identity"
        );
    }

    #[test]
    fn sealed_secrets_open_only_for_their_user_and_key() {
        let key = [7u8; 32];
        let sealed = seal(&key, 5, b"12345678901234567890").unwrap();
        assert_eq!(open(&key, 5, &sealed).unwrap(), b"12345678901234567890");
        assert!(open(&key, 6, &sealed).is_err());
        assert!(open(&[8u8; 32], 5, &sealed).is_err());
        assert!(!sealed.contains("GEZDGNBV"));
    }

    #[test]
    fn codes_and_recovery_codes_are_normalized_strictly() {
        assert_eq!(normalize_code(" 123 456 ").as_deref(), Some("123456"));
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            assert_eq!(normalize_code(bad), None, "{bad}");
        }
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        for c in &codes {
            assert_eq!(c.len(), 11);
            assert_eq!(
                normalize_recovery_code(&c.to_lowercase()).unwrap(),
                c.replace('-', "")
            );
        }
        assert_eq!(normalize_recovery_code("ABCDE-FGHI1"), None); // I and 1 are not symbols
        assert_eq!(new_ticket().len(), 43);
        assert_ne!(
            recovery_digest(&[1; 32], "ABCDEFGHJK"),
            recovery_digest(&[2; 32], "ABCDEFGHJK")
        );
    }
}
