//! Django 3.2 `signing.dumps` / `signing.loads` (TimestampSigner + JSONSerializer), as CVAT's
//! `SignatureAuthentication` uses them for `?sign=` URLs (spec §2.3). Tokens are byte-identical
//! to Django's for the same secret, salt, payload and time.
//!
//! Unlike CVAT, the salt also carries the signer's *binding* (`password_binding`, derived from
//! the stored password hash), so a URL stops working once the signer's password is set or
//! changed: a leaked URL is revoked with the password, as sessions and tokens are. With an
//! empty binding the salt is CVAT's, which the Django vectors below check.

use base64::alphabet::URL_SAFE;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use flate2::read::ZlibDecoder;
use hmac::Mac;
use sha2::{Digest, Sha256};
use std::io::Read;
use subtle::ConstantTimeEq;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Python's `urlsafe_b64decode` is lenient about padding and trailing bits; be the same.
const B64_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Upper bound for a decompressed ('.'-prefixed) payload, against zip bombs.
const MAX_PAYLOAD: u64 = 64 * 1024;

/// Mint a token for `canonical_url` (the absolute URL without its `sign` parameter):
/// `PAYLOAD:TS:SIG` with salt = hex SHA-256 of the URL followed by the signer's `binding`.
pub fn sign_url_token(
    secret: &str,
    canonical_url: &str,
    binding: &str,
    user_id: i64,
    username: &str,
    now_unix: i64,
) -> String {
    let json = format!(
        r#"{{"user_id":{user_id},"username":{}}}"#,
        py_json_string(username)
    );
    let value = format!(
        "{}:{}",
        URL_SAFE_NO_PAD.encode(json),
        base62_encode(now_unix)
    );
    let sig = signature(secret, &salt(canonical_url, binding), &value);
    format!("{value}:{sig}")
}

#[derive(Debug, PartialEq, Eq)]
pub enum SignError {
    Expired,
    Invalid,
}

/// Django's `signing.loads(token, key=secret, salt=sha256(url) + binding, max_age=max_age_secs)`:
/// check the signature (constant time), then the age (`now - ts > max_age` → Expired), then
/// decode the payload. Returns `(user_id, username)`; `binding` must be the one of the user
/// `signer_of` named, from the current row.
///
/// Django 3.2 also accepts legacy HMAC-SHA1 signatures; we don't (no SHA-1 dependency, and we
/// only ever verify tokens that this server minted itself with SHA-256).
pub fn verify_url_token(
    secret: &str,
    canonical_url: &str,
    binding: &str,
    token: &str,
    max_age_secs: i64,
    now_unix: i64,
) -> Result<(i64, String), SignError> {
    let (value, sig) = token.rsplit_once(':').ok_or(SignError::Invalid)?;
    let expected = signature(secret, &salt(canonical_url, binding), value);
    if !bool::from(sig.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(SignError::Invalid);
    }
    let (payload, ts) = value.rsplit_once(':').ok_or(SignError::Invalid)?;
    let ts = base62_decode(ts).ok_or(SignError::Invalid)?;
    if now_unix.saturating_sub(ts) > max_age_secs {
        return Err(SignError::Expired);
    }
    decode_payload(payload).ok_or(SignError::Invalid)
}

/// The user a token claims to be signed by, read *without* checking anything: only to find
/// whose binding `verify_url_token` must check it against.
pub fn signer_of(token: &str) -> Option<(i64, String)> {
    let (value, _) = token.rsplit_once(':')?;
    let (payload, _) = value.rsplit_once(':')?;
    decode_payload(payload)
}

/// A signer's binding: hex SHA-256 of the stored password hash (a new salt, hence a new hash,
/// on every password set or change). The hash never leaves the server: the binding only goes
/// into the HMAC key.
pub fn password_binding(password_hash: &str) -> String {
    hex::encode(Sha256::digest(password_hash.as_bytes()))
}

/// CVAT's salt: lowercase hex SHA-256 of the canonical URL.
fn url_salt(canonical_url: &str) -> String {
    hex::encode(Sha256::digest(canonical_url.as_bytes()))
}

/// CVAT's salt followed by the signer's binding.
fn salt(canonical_url: &str, binding: &str) -> String {
    format!("{}{binding}", url_salt(canonical_url))
}

/// Django `salted_hmac(salt + "signer", value, secret, algorithm="sha256")`, b64url without '='.
fn signature(secret: &str, salt: &str, value: &str) -> String {
    let key = Sha256::new()
        .chain_update(salt)
        .chain_update("signer")
        .chain_update(secret)
        .finalize();
    let mut mac = super::hmac_sha256(&key);
    mac.update(value.as_bytes());
    URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

/// b64 (optionally '.'-prefixed zlib) → JSON → (user_id, username).
fn decode_payload(payload: &str) -> Option<(i64, String)> {
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    let mut data = B64_LENIENT.decode(b64).ok()?;
    if compressed {
        let mut out = Vec::new();
        ZlibDecoder::new(data.as_slice())
            .take(MAX_PAYLOAD)
            .read_to_end(&mut out)
            .ok()?;
        data = out;
    }
    // Django's JSONSerializer decodes the bytes as latin-1 before json.loads.
    let text: String = data.iter().map(|&b| char::from(b)).collect();
    let obj: serde_json::Value = serde_json::from_str(&text).ok()?;
    let user_id = obj.get("user_id")?.as_i64()?;
    let username = obj.get("username")?.as_str()?.to_owned();
    Some((user_id, username))
}

/// A JSON string literal exactly as Python's `json.dumps` (ensure_ascii=True) writes it:
/// non-ASCII as lowercase `\uXXXX` (UTF-16 surrogate pairs above U+FFFF).
fn py_json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            ' '..='~' => out.push(c),
            _ => {
                let mut units = [0u16; 2];
                for u in c.encode_utf16(&mut units) {
                    out.push_str(&format!("\\u{u:04x}"));
                }
            }
        }
    }
    out.push('"');
    out
}

/// Django `baseconv.base62.encode` (with its '-' sign for negatives).
fn base62_encode(n: i64) -> String {
    let digits = crate::pycompat::encode_base(n.unsigned_abs(), BASE62);
    if n < 0 {
        format!("-{digits}")
    } else {
        digits
    }
}

/// Inverse of `base62_encode`; None on bad characters or overflow.
fn base62_decode(s: &str) -> Option<i64> {
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if digits.is_empty() {
        return None;
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        let d = BASE62.iter().position(|&x| x == b)? as i64;
        v = v.checked_mul(62)?.checked_add(d)?;
    }
    Some(if neg { -v } else { v })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "k3y-with-some-entropy_+!@#$%^&*()";
    const URL: &str = "http://localhost:8080/api/users/self";

    /// (url, user_id, username, unix time, token) from Django 3.2.16 `signing.dumps(
    /// {"user_id": id, "username": name}, key=SECRET, salt=sha256(url).hexdigest())`
    /// with `time.time` mocked (fractional seconds are truncated by Django, as here).
    const DJANGO: &[(&str, i64, &str, i64, &str)] = &[
        (URL, 1, "admin1", 1_700_000_000,
         "eyJ1c2VyX2lkIjoxLCJ1c2VybmFtZSI6ImFkbWluMSJ9:1r31eq:NtGQHIZUJ9rhLKZ9a5_j7OU5aUbT5JvQ-FmW8sMZd8g"),
        ("https://cvat.example.com/api/users?page=2&search=a+b", 42, "Jöhn \"Doe\"\\ 😀\n", 1_671_700_000,
         "eyJ1c2VyX2lkIjo0MiwidXNlcm5hbWUiOiJKXHUwMGY2aG4gXCJEb2VcIlxcIFx1ZDgzZFx1ZGUwMFxuIn0:1p8HXE:2_Sx1VieCCTsVg1JLDw1uEqCFI4g4C2niORNSHJcdiI"),
        ("http://h/api/x", 7, "user<tab>\tx/", 0,
         "eyJ1c2VyX2lkIjo3LCJ1c2VybmFtZSI6InVzZXI8dGFiPlx0eC8ifQ:0:uGl5pmI3UceHWnoK2mhEGgwBKp-X_YF3Y-AIoqGSaXM"),
        ("http://h/x", -5, "a\u{1}\u{1f}\u{7f}\u{2028}\u{8}\u{c}\r/é", 1_234_567_890,
         "eyJ1c2VyX2lkIjotNSwidXNlcm5hbWUiOiJhXHUwMDAxXHUwMDFmXHUwMDdmXHUyMDI4XGJcZlxyL1x1MDBlOSJ9:1LY7VK:e6z1Z9BLtjRdvm_wKpKpjTbXEfaX-D7MzA-AF3eOfIE"),
    ];

    #[test]
    fn tokens_match_django_byte_for_byte() {
        for &(url, id, name, t, token) in DJANGO {
            assert_eq!(
                sign_url_token(SECRET, url, "", id, name, t),
                token,
                "{name:?}"
            );
            assert_eq!(
                verify_url_token(SECRET, url, "", token, 30, t),
                Ok((id, name.to_owned()))
            );
            assert_eq!(
                verify_url_token(SECRET, url, "", token, 30, t + 30),
                Ok((id, name.to_owned()))
            );
            assert_eq!(
                verify_url_token(SECRET, url, "", token, 30, t + 31),
                Err(SignError::Expired)
            );
        }
        assert_eq!(
            url_salt(URL),
            "bb6671e5c2e96d1e71411e2928a4fb4ad41f51a05c7530958157dec7aadd0ec5"
        );
    }

    #[test]
    fn rejects_wrong_url_secret_and_tampering() {
        let (url, _, _, t, token) = DJANGO[0];
        let bad = |tok: &str, u: &str, s: &str| verify_url_token(s, u, "", tok, 30, t);
        assert_eq!(
            bad(token, "http://localhost:8080/api/users/self?x=1", SECRET),
            Err(SignError::Invalid)
        );
        assert_eq!(
            bad(token, "http://localhost:8081/api/users/self", SECRET),
            Err(SignError::Invalid)
        );
        assert_eq!(bad(token, url, "other-secret"), Err(SignError::Invalid));
        // Flip one character in each part.
        for i in [3, 46, token.len() - 1] {
            let mut b = token.as_bytes().to_vec();
            b[i] = if b[i] == b'A' { b'B' } else { b'A' };
            assert_eq!(
                bad(std::str::from_utf8(&b).unwrap(), url, SECRET),
                Err(SignError::Invalid),
                "pos {i}"
            );
        }
        // Another user's payload with this token's signature.
        let other = sign_url_token(SECRET, url, "", 2, "admin2", t);
        let forged = format!(
            "{}:{}",
            other.rsplit_once(':').unwrap().0,
            token.rsplit_once(':').unwrap().1
        );
        assert_eq!(bad(&forged, url, SECRET), Err(SignError::Invalid));
        for junk in ["", ":", "::", "abc", "a:b:c", &token[..token.len() - 1]] {
            assert_eq!(bad(junk, url, SECRET), Err(SignError::Invalid), "{junk:?}");
        }
    }

    #[test]
    fn django_legacy_sha1_token_is_rejected() {
        // Django 3.2.16 TimestampSigner(algorithm='sha1'); documented as unsupported here.
        let t = "eyJ1c2VyX2lkIjoxLCJ1c2VybmFtZSI6ImFkbWluMSJ9:1r31eq:rQ7p_DYJMZM08iwefM24DnuSdTg";
        assert_eq!(
            verify_url_token(SECRET, URL, "", t, 30, 1_700_000_000),
            Err(SignError::Invalid)
        );
    }

    #[test]
    fn signed_but_malformed_payloads_are_invalid() {
        // Correctly signed values whose payload is not the expected JSON object.
        let salt = url_salt(URL);
        for json in [
            &b"[1,2]"[..],
            b"{\"user_id\":\"1\",\"username\":\"a\"}",
            b"{\"user_id\":1}",
            b"\xff",
        ] {
            let value = format!("{}:0", URL_SAFE_NO_PAD.encode(json));
            let tok = format!("{value}:{}", signature(SECRET, &salt, &value));
            assert_eq!(
                verify_url_token(SECRET, URL, "", &tok, 30, 0),
                Err(SignError::Invalid)
            );
        }
        // Expiry is checked before the payload, as in Django.
        let value = "!!!:0";
        let tok = format!("{value}:{}", signature(SECRET, &salt, value));
        assert_eq!(
            verify_url_token(SECRET, URL, "", &tok, 30, 100),
            Err(SignError::Expired)
        );
    }

    #[test]
    fn compressed_payload_accepted() {
        use flate2::{write::ZlibEncoder, Compression};
        use std::io::Write;
        let mut enc = ZlibEncoder::new(Vec::new(), Compression::default());
        enc.write_all(br#"{"user_id":3,"username":"zed"}"#).unwrap();
        let value = format!(".{}:1", URL_SAFE_NO_PAD.encode(enc.finish().unwrap()));
        let tok = format!("{value}:{}", signature(SECRET, &url_salt(URL), &value));
        assert_eq!(
            verify_url_token(SECRET, URL, "", &tok, 30, 1),
            Ok((3, "zed".to_owned()))
        );
    }

    #[test]
    fn a_token_verifies_only_with_the_binding_it_was_signed_with() {
        let (old, new) = (
            password_binding("argon2$old"),
            password_binding("argon2$new"),
        );
        let tok = sign_url_token(SECRET, URL, &old, 1, "admin1", 10);
        assert_eq!(
            verify_url_token(SECRET, URL, &old, &tok, 30, 10),
            Ok((1, "admin1".to_owned()))
        );
        for other in [new.as_str(), ""] {
            assert_eq!(
                verify_url_token(SECRET, URL, other, &tok, 30, 10),
                Err(SignError::Invalid)
            );
        }
        // The payload is readable before verification (to find the signer), and only that.
        assert_eq!(signer_of(&tok), Some((1, "admin1".to_owned())));
        assert_eq!(signer_of("junk"), None);
    }

    #[test]
    fn base62_roundtrip() {
        for n in [0, 1, 61, 62, 1_700_000_000, -62, i64::MAX, i64::MIN + 1] {
            assert_eq!(base62_decode(&base62_encode(n)), Some(n));
        }
        assert_eq!(base62_encode(1_700_000_000), "1r31eq");
        assert_eq!(base62_decode("zzzzzzzzzzzzzzzzzzzz"), None);
        assert_eq!(base62_decode("1r3!eq"), None);
    }
}
