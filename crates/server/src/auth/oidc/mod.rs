//! OpenID Connect sign-in against any number of configured providers (issue 14, spec §2.1–2.3,
//! §4.9): discovery, the JWKS, the token request and the ID token's checks. No HTTP handler
//! and no account logic here (`http::oidc`, `service::oidc`).
//!
//! Why it is shaped so:
//! - Issuer, JWKS and token URLs come only from configuration and the issuer's own discovery
//!   document (never from a request), whose `issuer` must equal the configured one exactly.
//! - Discovery is lazy (a provider that is down does not stop start-up) and kept
//!   `discovery_ttl` seconds; the JWKS is kept until a token names an unknown `kid`, then read
//!   again at most once a minute (spec §2.2).
//! - The HTTP client follows no redirects, gives up after `http_timeout`, and reads at most
//!   1 MiB of any answer.
//! - JOSE is jsonwebtoken's; the claim rules are ours, in `validate` (unit-tested).

pub mod settings;
pub mod validate;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use serde_json::{Map, Value};
use tokio::sync::Mutex;

pub use settings::{OidcArgs, OidcSettings, Provider, TokenAuth};

/// Largest answer read from a provider.
const MAX_BODY: usize = 1024 * 1024;
/// The JWKS is read again for an unknown `kid` at most this often.
const JWKS_REFRESH: Duration = Duration::from_secs(60);

/// Why talking to a provider failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    /// Discovery, JWKS: unreachable or invalid (502 `idp_unavailable`).
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// The token endpoint refused the code or answered nonsense.
    #[error("token exchange failed: {0}")]
    TokenExchange(String),
    /// The ID token failed a check.
    #[error("ID token refused: {0}")]
    IdToken(String),
}

/// The fields of the discovery document we use.
#[derive(Debug, Clone, Deserialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    pub response_types_supported: Vec<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
}

struct Discovered {
    meta: Arc<Metadata>,
    at: Instant,
}

struct Keys {
    keys: Arc<Vec<Jwk>>,
    at: Instant,
}

/// The settings, the outgoing HTTP client and the per-provider caches (one per process;
/// replicas each keep their own, which is harmless: they are only caches).
pub struct Oidc {
    pub settings: OidcSettings,
    http: reqwest::Client,
    discovered: Mutex<HashMap<String, Discovered>>,
    keys: Mutex<HashMap<String, Keys>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint gave, once the ID token passed every check.
#[derive(Debug, Clone)]
pub struct Verified {
    pub subject: String,
    pub claims: Map<String, Value>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    access_token: Option<String>,
}

impl Oidc {
    pub fn new(settings: OidcSettings) -> anyhow::Result<Oidc> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(settings.http_timeout))
            .user_agent("cvat-server")
            .build()?;
        Ok(Oidc {
            settings,
            http,
            discovered: Mutex::new(HashMap::new()),
            keys: Mutex::new(HashMap::new()),
        })
    }

    pub fn provider(&self, id: &str) -> Option<&Provider> {
        self.settings.providers.get(id)
    }

    /// Reads an answer of at most 1 MiB; `Err` on a non-2xx status or a larger body.
    async fn read(resp: reqwest::Response) -> Result<(u16, Vec<u8>), String> {
        let status = resp.status().as_u16();
        let mut resp = resp;
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_BODY {
                return Err("answer larger than 1 MiB".into());
            }
        }
        Ok((status, body))
    }

    async fn get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Result<T, String> {
        let resp = self.http.get(url).send().await.map_err(|e| e.to_string())?;
        let (status, body) = Self::read(resp).await?;
        if !(200..300).contains(&status) {
            return Err(format!("{url} answered {status}"));
        }
        serde_json::from_slice(&body).map_err(|e| format!("{url}: {e}"))
    }

    /// The provider's discovery document (cached).
    pub async fn metadata(&self, p: &Provider) -> Result<Arc<Metadata>, ProviderError> {
        let ttl = Duration::from_secs(self.settings.discovery_ttl.unsigned_abs());
        if let Some(d) = self.discovered.lock().await.get(&p.id) {
            if d.at.elapsed() < ttl {
                return Ok(d.meta.clone());
            }
        }
        let url = format!("{}/.well-known/openid-configuration", p.issuer);
        let meta: Metadata = self
            .get_json(&url)
            .await
            .map_err(ProviderError::Unavailable)?;
        if meta.issuer != p.issuer {
            return Err(ProviderError::Unavailable(format!(
                "discovery names the issuer {:?}, not {:?}",
                meta.issuer, p.issuer
            )));
        }
        if !meta.response_types_supported.iter().any(|t| t == "code") {
            return Err(ProviderError::Unavailable(
                "the provider does not support the code flow".into(),
            ));
        }
        let meta = Arc::new(meta);
        self.discovered.lock().await.insert(
            p.id.clone(),
            Discovered {
                meta: meta.clone(),
                at: Instant::now(),
            },
        );
        Ok(meta)
    }

    /// The provider's keys; `refresh` reads them again unless that happened within a minute.
    async fn jwks(
        &self,
        p: &Provider,
        meta: &Metadata,
        refresh: bool,
    ) -> Result<Arc<Vec<Jwk>>, ProviderError> {
        if let Some(k) = self.keys.lock().await.get(&p.id) {
            if !refresh || k.at.elapsed() < JWKS_REFRESH {
                return Ok(k.keys.clone());
            }
        }
        let set: JwkSet = self
            .get_json(&meta.jwks_uri)
            .await
            .map_err(ProviderError::Unavailable)?;
        let keys = Arc::new(set.keys);
        self.keys.lock().await.insert(
            p.id.clone(),
            Keys {
                keys: keys.clone(),
                at: Instant::now(),
            },
        );
        Ok(keys)
    }

    /// Redeems `code` at the token endpoint and checks the ID token it gives.
    pub async fn redeem(
        &self,
        p: &Provider,
        code: &str,
        verifier: &str,
        redirect_uri: &str,
        nonce: &str,
    ) -> Result<Verified, ProviderError> {
        let meta = self.metadata(p).await?;
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ];
        let mut req = self.http.post(&meta.token_endpoint);
        match p.token_auth {
            TokenAuth::Basic => {
                // RFC 6749 §2.3.1: both form-urlencoded before Basic's base64.
                let enc =
                    |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
                req = req.basic_auth(enc(&p.client_id), Some(enc(&p.client_secret)));
            }
            TokenAuth::Post => {
                form.push(("client_id", &p.client_id));
                form.push(("client_secret", &p.client_secret));
            }
        }
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&form)
            .finish();
        let resp = req
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| ProviderError::TokenExchange(e.to_string()))?;
        let (status, body) = Self::read(resp)
            .await
            .map_err(ProviderError::TokenExchange)?;
        if status != 200 {
            let error = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_default();
            return Err(ProviderError::TokenExchange(format!(
                "token endpoint answered {status} {error}"
            )));
        }
        let answer: TokenAnswer = serde_json::from_slice(&body)
            .map_err(|e| ProviderError::TokenExchange(format!("token answer: {e}")))?;
        let id_token = answer
            .id_token
            .ok_or_else(|| ProviderError::TokenExchange("no id_token in the answer".into()))?;
        self.verify(p, &meta, &id_token, nonce, answer.access_token.as_deref())
            .await
    }

    async fn verify(
        &self,
        p: &Provider,
        meta: &Metadata,
        token: &str,
        nonce: &str,
        access_token: Option<&str>,
    ) -> Result<Verified, ProviderError> {
        let bad = |e: validate::Invalid| ProviderError::IdToken(e.0);
        let header = validate::header(token, &p.algs).map_err(bad)?;
        let keys = self.jwks(p, meta, false).await?;
        let key = match validate::pick_key(&keys, &header) {
            Some(k) => k.clone(),
            None => {
                let keys = self.jwks(p, meta, true).await?;
                validate::pick_key(&keys, &header)
                    .cloned()
                    .ok_or_else(|| ProviderError::IdToken("no key for the token's kid".into()))?
            }
        };
        let claims = validate::signed_claims(token, &header, &key).map_err(bad)?;
        let s = &self.settings;
        let expect = validate::Expect {
            issuer: &meta.issuer,
            client_id: &p.client_id,
            trusted_audiences: &p.trusted_audiences,
            nonce,
            now: chrono::Utc::now().timestamp(),
            skew: s.clock_skew,
            max_age: s.max_id_token_age,
            alg: header.alg,
            access_token,
        };
        let subject = validate::check_claims(&claims, &expect).map_err(bad)?;
        Ok(Verified { subject, claims })
    }
}
