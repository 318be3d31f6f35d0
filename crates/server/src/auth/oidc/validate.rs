//! The ID token's checks (OpenID Connect Core 1.0 §3.1.3.7 and spec §2.3), apart from
//! fetching keys: size and shape, the header (`alg` on the provider's allow-list before any key
//! is looked up, so `none` and `HS*` never reach a key; unknown `crit` refused; `jku`, `jwk`
//! and `x5u` ignored), the JWS signature (jsonwebtoken), then `iss`, `aud`, `azp`, `exp`,
//! `iat`, `nbf`, `nonce` (constant-time), `sub` and `at_hash`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sha2::Digest;
use subtle::ConstantTimeEq;

/// Larger ID tokens are refused unread.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Why a token was refused (logged; the browser is told `id_token_invalid`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Invalid(pub String);

fn invalid(what: impl Into<String>) -> Invalid {
    Invalid(what.into())
}

/// The parts of the header we act on.
#[derive(Debug, Clone)]
pub struct Header {
    pub alg: Algorithm,
    pub kid: Option<String>,
}

/// Shape, size and header: the algorithm must be on `allowed`.
pub fn header(token: &str, allowed: &[Algorithm]) -> Result<Header, Invalid> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(invalid("token larger than 16 KiB"));
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(invalid(format!(
            "not a signed JWT ({} parts; encrypted tokens are not supported)",
            parts.len()
        )));
    }
    let raw = URL_SAFE_NO_PAD
        .decode(parts[0])
        .map_err(|_| invalid("header is not base64url"))?;
    let h: Map<String, Value> =
        serde_json::from_slice(&raw).map_err(|_| invalid("header is not a JSON object"))?;
    if h.contains_key("crit") {
        return Err(invalid("header has a crit parameter we do not understand"));
    }
    let alg = h.get("alg").and_then(Value::as_str).unwrap_or("");
    let alg = super::settings::ALLOWED_ALGS
        .contains(&alg)
        .then(|| alg.parse::<Algorithm>().ok())
        .flatten()
        .filter(|a| allowed.contains(a))
        .ok_or_else(|| invalid(format!("alg {alg:?} is not allowed")))?;
    let kid = h.get("kid").and_then(Value::as_str).map(str::to_string);
    Ok(Header { alg, kid })
}

/// The JWK a token names: by `kid` when it has one, else the only key usable for `alg`.
pub fn pick_key<'a>(keys: &'a [Jwk], h: &Header) -> Option<&'a Jwk> {
    let usable = |k: &&Jwk| {
        k.common
            .key_algorithm
            .is_none_or(|a| format!("{a:?}") == format!("{:?}", h.alg))
            && !matches!(
                k.common.public_key_use,
                Some(jsonwebtoken::jwk::PublicKeyUse::Encryption)
            )
    };
    match &h.kid {
        Some(kid) => keys
            .iter()
            .filter(usable)
            .find(|k| k.common.key_id.as_deref() == Some(kid.as_str())),
        None => {
            let mut it = keys.iter().filter(usable);
            match (it.next(), it.next()) {
                (Some(k), None) => Some(k),
                _ => None,
            }
        }
    }
}

/// Verifies the signature with `key` and returns the claims (unchecked).
pub fn signed_claims(token: &str, h: &Header, key: &Jwk) -> Result<Map<String, Value>, Invalid> {
    let key = DecodingKey::from_jwk(key).map_err(|e| invalid(format!("unusable key: {e}")))?;
    let mut v = Validation::new(h.alg);
    // The claims are checked below, each as spec §2.3 says.
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &v)
        .map_err(|e| invalid(format!("signature or payload refused: {e}")))?;
    Ok(data.claims)
}

/// What the claims are checked against.
pub struct Expect<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub trusted_audiences: &'a [String],
    pub nonce: &'a str,
    /// Seconds since the epoch.
    pub now: i64,
    pub skew: i64,
    pub max_age: i64,
    pub alg: Algorithm,
    pub access_token: Option<&'a str>,
}

fn int_claim(c: &Map<String, Value>, name: &str) -> Result<Option<i64>, Invalid> {
    match c.get(name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .or_else(|| v.as_f64().map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| invalid(format!("{name} is not a number"))),
    }
}

/// The claim checks; `Ok` with the subject.
pub fn check_claims(c: &Map<String, Value>, e: &Expect<'_>) -> Result<String, Invalid> {
    if c.get("iss").and_then(Value::as_str) != Some(e.issuer) {
        return Err(invalid("iss is not the issuer"));
    }
    let aud: Vec<&str> = match c.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => return Err(invalid("aud missing")),
    };
    if !aud.contains(&e.client_id) {
        return Err(invalid("aud does not contain the client id"));
    }
    if aud
        .iter()
        .any(|a| *a != e.client_id && !e.trusted_audiences.iter().any(|t| t == a))
    {
        return Err(invalid("aud has an untrusted audience"));
    }
    match c.get("azp") {
        Some(Value::String(azp)) if azp == e.client_id => {}
        Some(_) => return Err(invalid("azp is not the client id")),
        None if aud.len() > 1 => return Err(invalid("azp missing with several audiences")),
        None => {}
    }
    let exp = int_claim(c, "exp")?.ok_or_else(|| invalid("exp missing"))?;
    if e.now > exp + e.skew {
        return Err(invalid("expired"));
    }
    let iat = int_claim(c, "iat")?.ok_or_else(|| invalid("iat missing"))?;
    if iat > e.now + e.skew {
        return Err(invalid("iat in the future"));
    }
    if iat < e.now - e.max_age {
        return Err(invalid("iat too old"));
    }
    if let Some(nbf) = int_claim(c, "nbf")? {
        if nbf > e.now + e.skew {
            return Err(invalid("nbf in the future"));
        }
    }
    let nonce = c.get("nonce").and_then(Value::as_str).unwrap_or("");
    let same: bool = nonce.as_bytes().ct_eq(e.nonce.as_bytes()).into();
    if nonce.is_empty() || !same {
        return Err(invalid("nonce missing or not this flow's"));
    }
    let sub = c.get("sub").and_then(Value::as_str).unwrap_or("");
    if sub.is_empty() || sub.len() > 255 || !sub.is_ascii() {
        return Err(invalid("sub missing, too long or not ASCII"));
    }
    if let (Some(at_hash), Some(token)) = (c.get("at_hash"), e.access_token) {
        let expected = at_hash_of(e.alg, token);
        let given = at_hash.as_str().unwrap_or("");
        let same: bool = given.as_bytes().ct_eq(expected.as_bytes()).into();
        if !same {
            return Err(invalid("at_hash does not match the access token"));
        }
    }
    Ok(sub.to_string())
}

/// BASE64URL of the left half of the `alg`'s hash of the access token (Core §3.2.2.9).
fn at_hash_of(alg: Algorithm, token: &str) -> String {
    let digest: Vec<u8> = match alg {
        Algorithm::RS384 | Algorithm::PS384 | Algorithm::ES384 => {
            sha2::Sha384::digest(token.as_bytes()).to_vec()
        }
        Algorithm::RS512 | Algorithm::PS512 | Algorithm::EdDSA => {
            sha2::Sha512::digest(token.as_bytes()).to_vec()
        }
        _ => sha2::Sha256::digest(token.as_bytes()).to_vec(),
    };
    URL_SAFE_NO_PAD.encode(&digest[..digest.len() / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn b64(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(v.to_string())
    }

    #[test]
    fn headers_outside_the_allow_list_are_refused_before_any_key() {
        let rs = [Algorithm::RS256];
        let tok = |h: Value| format!("{}.{}.sig", b64(&h), b64(&json!({})));
        assert!(header(&tok(json!({"alg": "RS256", "kid": "k"})), &rs).is_ok());
        for h in [
            json!({"alg": "none"}),
            json!({"alg": "HS256"}),
            json!({"alg": "RS384"}),
            json!({"alg": "RS256", "crit": ["exp"]}),
            json!({}),
        ] {
            assert!(header(&tok(h.clone()), &rs).is_err(), "{h}");
        }
        assert!(header("a.b.c.d.e", &rs).is_err());
        assert!(header("!!.b.c", &rs).is_err());
        let big = format!(
            "{}.{}.s",
            b64(&json!({"alg": "RS256"})),
            "a".repeat(MAX_TOKEN_BYTES)
        );
        assert!(header(&big, &rs).is_err());
    }

    fn claims() -> Map<String, Value> {
        json!({"iss": "https://op", "aud": "cvat", "exp": 2000, "iat": 1000, "nonce": "n1", "sub": "u1"})
            .as_object()
            .unwrap()
            .clone()
    }

    fn expect() -> Expect<'static> {
        Expect {
            issuer: "https://op",
            client_id: "cvat",
            trusted_audiences: &[],
            nonce: "n1",
            now: 1000,
            skew: 60,
            max_age: 600,
            alg: Algorithm::RS256,
            access_token: Some("tok"),
        }
    }

    #[test]
    fn claims_are_checked() {
        assert_eq!(check_claims(&claims(), &expect()).unwrap(), "u1");
        let bad: Vec<(&str, Value)> = vec![
            ("iss", json!("https://op/")),
            ("aud", json!("other")),
            ("aud", json!(["cvat", "other"])),
            ("azp", json!("other")),
            ("exp", json!(939)),
            ("iat", json!(1061)),
            ("iat", json!(399)),
            ("nbf", json!(1061)),
            ("nonce", json!("n2")),
            ("sub", json!("x".repeat(256))),
            ("at_hash", json!("wrong")),
        ];
        for (k, v) in bad {
            let mut c = claims();
            c.insert(k.into(), v.clone());
            assert!(check_claims(&c, &expect()).is_err(), "{k} = {v}");
        }
        for k in ["nonce", "sub", "exp", "iat", "aud"] {
            let mut c = claims();
            c.remove(k);
            assert!(check_claims(&c, &expect()).is_err(), "without {k}");
        }
        let mut c = claims();
        c.insert("aud".into(), json!(["cvat", "other"]));
        c.insert("azp".into(), json!("cvat"));
        let trusted = ["other".to_string()];
        let e = Expect {
            trusted_audiences: &trusted,
            ..expect()
        };
        assert!(check_claims(&c, &e).is_ok());
        let mut c = claims();
        c.insert("at_hash".into(), json!(at_hash_of(Algorithm::RS256, "tok")));
        assert!(check_claims(&c, &expect()).is_ok());
    }
}
