//! The OpenID Connect options: the global `[oidc]` keys (flags `--oidc-*`, `CVAT_OIDC_*`) and
//! the providers, any number of `[oidc.providers.<id>]` tables.
//!
//! The configuration file flattens tables into flag keys, which cannot express a map of
//! providers; `config::file` therefore hands the `providers` tables over whole, as TOML text
//! in the hidden key `oidc_providers` (also `CVAT_OIDC_PROVIDERS`), and they are parsed here
//! into typed, checked [`Provider`]s. A client secret comes from `client_secret`, from
//! `client_secret_file`, or from `CVAT_OIDC__PROVIDERS__<ID>__CLIENT_SECRET` (which wins).
//! Everything is checked at start-up, each message naming the key.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use serde::Deserialize;

use crate::config::{toml_list, MASK};

/// Signature algorithms an ID token may use (spec §2.3 #7); `none` and `HS*` never.
pub const ALLOWED_ALGS: [&str; 9] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA",
];

/// The system groups a mapping may give (the 2.3 set), highest first.
pub const ROLES: [&str; 4] = ["admin", "business", "user", "worker"];

#[derive(Debug, Clone, Args)]
pub struct OidcArgs {
    /// Seconds a sign-in may take between leaving for the provider and coming back.
    #[arg(long, env = "CVAT_OIDC_FLOW_TTL_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(i64).range(30..=3600))]
    pub oidc_flow_ttl_seconds: i64,
    /// Clock difference tolerated with a provider when checking `exp`, `iat` and `nbf`.
    #[arg(long, env = "CVAT_OIDC_CLOCK_SKEW_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(i64).range(0..=600))]
    pub oidc_clock_skew_seconds: i64,
    /// Oldest `iat` of an ID token accepted, in seconds.
    #[arg(long, env = "CVAT_OIDC_MAX_ID_TOKEN_AGE_SECONDS", default_value_t = 600,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub oidc_max_id_token_age_seconds: i64,
    /// Seconds a provider's discovery document is kept before it is read again.
    #[arg(long, env = "CVAT_OIDC_DISCOVERY_TTL_SECONDS", default_value_t = 3600,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub oidc_discovery_ttl_seconds: i64,
    /// Timeout of each request to a provider, in seconds.
    #[arg(long, env = "CVAT_OIDC_HTTP_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=120))]
    pub oidc_http_timeout_seconds: u64,
    /// Accept `http://` issuers on loopback addresses (tests only).
    #[arg(
        long,
        env = "CVAT_OIDC_ALLOW_INSECURE_HTTP",
        default_value = "false",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub oidc_allow_insecure_http: bool,
    /// Where a browser goes after signing in when the login named no `next`.
    #[arg(long, env = "CVAT_OIDC_LOGIN_REDIRECT", default_value = "/")]
    pub oidc_login_redirect: String,
    /// Where a browser goes when a sign-in fails after the provider (with `?error=<code>`).
    #[arg(long, env = "CVAT_OIDC_ERROR_REDIRECT", default_value = "/auth/login")]
    pub oidc_error_redirect: String,
    /// The `[oidc.providers.<id>]` tables of the configuration file, as TOML text.
    #[arg(long, env = "CVAT_OIDC_PROVIDERS", hide = true, hide_env_values = true)]
    pub oidc_providers: Option<String>,
}

/// One `[oidc.providers.<id>]` table as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderFile {
    #[serde(default = "yes")]
    enabled: bool,
    #[serde(default)]
    name: String,
    issuer: String,
    client_id: String,
    #[serde(default)]
    client_secret: String,
    #[serde(default)]
    client_secret_file: String,
    #[serde(default = "basic")]
    token_auth_method: String,
    #[serde(default = "default_scopes")]
    scopes: Vec<String>,
    #[serde(default)]
    redirect_uri: String,
    #[serde(default = "default_algs")]
    id_token_signing_algs: Vec<String>,
    #[serde(default)]
    trusted_audiences: Vec<String>,
    #[serde(default = "claim_username")]
    username_claim: String,
    #[serde(default = "claim_email")]
    email_claim: String,
    #[serde(default = "claim_first")]
    first_name_claim: String,
    #[serde(default = "claim_last")]
    last_name_claim: String,
    #[serde(default = "yes")]
    auto_provision: bool,
    #[serde(default = "verified_email")]
    link_existing: String,
    #[serde(default)]
    trust_email: bool,
    #[serde(default)]
    link_privileged: bool,
    #[serde(default)]
    allowed_email_domains: Vec<String>,
    #[serde(default)]
    authorization: Option<AuthorizationFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthorizationFile {
    #[serde(default = "default_groups_claims")]
    groups_claims: Vec<String>,
    #[serde(default)]
    case_sensitive: bool,
    #[serde(default = "default_role")]
    default_role: String,
    #[serde(default)]
    mapping: Vec<MappingFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    groups: Vec<String>,
    root_role: String,
}

fn yes() -> bool {
    true
}
fn basic() -> String {
    "client_secret_basic".into()
}
fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "email".into(), "profile".into()]
}
fn default_algs() -> Vec<String> {
    vec!["RS256".into()]
}
fn claim_username() -> String {
    "preferred_username".into()
}
fn claim_email() -> String {
    "email".into()
}
fn claim_first() -> String {
    "given_name".into()
}
fn claim_last() -> String {
    "family_name".into()
}
fn verified_email() -> String {
    "verified_email".into()
}
fn default_groups_claims() -> Vec<String> {
    vec!["groups".into()]
}
fn default_role() -> String {
    "user".into()
}

/// How the client authenticates at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenAuth {
    Basic,
    Post,
}

/// Group claims to CVAT's system group (`authorization`, as in CVAT Enterprise).
#[derive(Debug, Clone)]
pub struct Authorization {
    pub groups_claims: Vec<String>,
    pub case_sensitive: bool,
    pub default_role: String,
    /// (provider groups, CVAT group)
    pub mapping: Vec<(Vec<String>, String)>,
}

/// A checked provider.
#[derive(Clone)]
pub struct Provider {
    pub id: String,
    pub name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub token_auth: TokenAuth,
    pub scopes: Vec<String>,
    /// Empty: `{public_url or the request's origin}/api/auth/oidc/<id>/login/callback/`.
    pub redirect_uri: String,
    pub algs: Vec<jsonwebtoken::Algorithm>,
    pub trusted_audiences: Vec<String>,
    pub username_claim: String,
    pub email_claim: String,
    pub first_name_claim: String,
    pub last_name_claim: String,
    pub auto_provision: bool,
    pub link_verified_email: bool,
    pub trust_email: bool,
    pub link_privileged: bool,
    /// Lower-case domains; empty: any.
    pub allowed_email_domains: Vec<String>,
    pub authorization: Option<Authorization>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.id)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &MASK)
            .finish_non_exhaustive()
    }
}

/// The checked OpenID Connect settings.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    pub flow_ttl: i64,
    pub clock_skew: i64,
    pub max_id_token_age: i64,
    pub discovery_ttl: i64,
    pub http_timeout: u64,
    pub allow_insecure_http: bool,
    pub login_redirect: String,
    pub error_redirect: String,
    /// By id, enabled ones only.
    pub providers: BTreeMap<String, Provider>,
}

fn valid_id(id: &str) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && (b[0].is_ascii_lowercase() || b[0].is_ascii_digit())
        && b.iter()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
}

/// The environment variable that overrides a provider's client secret.
pub fn secret_env_name(id: &str) -> String {
    format!(
        "CVAT_OIDC__PROVIDERS__{}__CLIENT_SECRET",
        id.to_ascii_uppercase().replace('-', "_")
    )
}

fn is_loopback_host(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => host,
    };
    host == "127.0.0.1" || host == "[::1]" || host == "localhost"
}

impl OidcArgs {
    fn provider_tables(&self) -> anyhow::Result<BTreeMap<String, ProviderFile>> {
        let Some(text) = self
            .oidc_providers
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        else {
            return Ok(BTreeMap::new());
        };
        toml::from_str(text).map_err(|e| anyhow::anyhow!("oidc.providers: {e}"))
    }

    /// Checks every option; `env` reads the secret overrides (the process environment at
    /// start-up).
    pub fn settings(&self, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<OidcSettings> {
        for (key, v) in [
            ("oidc_login_redirect", &self.oidc_login_redirect),
            ("oidc_error_redirect", &self.oidc_error_redirect),
        ] {
            if !v.starts_with('/') || v.starts_with("//") || v.chars().any(char::is_control) {
                bail!("{key} must be a path starting with a single '/', not {v:?}");
            }
        }
        let mut providers = BTreeMap::new();
        for (id, file) in self.provider_tables()? {
            let key = |k: &str| format!("oidc.providers.{id}.{k}");
            if !valid_id(&id) {
                bail!("oidc.providers.{id}: a provider id must match ^[a-z0-9][a-z0-9-]{{0,62}}$");
            }
            // Ids have no `_`, so no two of them share a variable.
            let env_secret = env(&secret_env_name(&id));
            let p = check_provider(&id, file, &key, self.oidc_allow_insecure_http, env_secret)?;
            if let Some(p) = p {
                providers.insert(id, p);
            }
        }
        Ok(OidcSettings {
            flow_ttl: self.oidc_flow_ttl_seconds,
            clock_skew: self.oidc_clock_skew_seconds,
            max_id_token_age: self.oidc_max_id_token_age_seconds,
            discovery_ttl: self.oidc_discovery_ttl_seconds,
            http_timeout: self.oidc_http_timeout_seconds,
            allow_insecure_http: self.oidc_allow_insecure_http,
            login_redirect: self.oidc_login_redirect.clone(),
            error_redirect: self.oidc_error_redirect.clone(),
            providers,
        })
    }

    /// The options as `cvat-server config` prints them; providers as commented tables (they
    /// follow the flat keys), secrets masked.
    pub fn to_toml(&self, out: &mut String) {
        let s = |v: &str| toml::Value::String(v.to_string()).to_string();
        out.push_str(&format!(
            "oidc_flow_ttl_seconds = {}\n",
            self.oidc_flow_ttl_seconds
        ));
        out.push_str(&format!(
            "oidc_clock_skew_seconds = {}\n",
            self.oidc_clock_skew_seconds
        ));
        out.push_str(&format!(
            "oidc_max_id_token_age_seconds = {}\n",
            self.oidc_max_id_token_age_seconds
        ));
        out.push_str(&format!(
            "oidc_discovery_ttl_seconds = {}\n",
            self.oidc_discovery_ttl_seconds
        ));
        out.push_str(&format!(
            "oidc_http_timeout_seconds = {}\n",
            self.oidc_http_timeout_seconds
        ));
        out.push_str(&format!(
            "oidc_allow_insecure_http = {}\n",
            self.oidc_allow_insecure_http
        ));
        out.push_str(&format!(
            "oidc_login_redirect = {}\n",
            s(&self.oidc_login_redirect)
        ));
        out.push_str(&format!(
            "oidc_error_redirect = {}\n",
            s(&self.oidc_error_redirect)
        ));
        let tables = self.provider_tables().unwrap_or_default();
        if tables.is_empty() {
            out.push_str("# oidc_providers: none ([oidc.providers.<id>] tables)\n");
            return;
        }
        out.push_str("# oidc_providers: as [oidc.providers.<id>] tables\n");
        for (id, p) in tables {
            let secret =
                !p.client_secret.is_empty() || std::env::var_os(secret_env_name(&id)).is_some();
            out.push_str(&format!("# [oidc.providers.{id}]\n"));
            out.push_str(&format!("# enabled = {}\n", p.enabled));
            out.push_str(&format!("# name = {}\n", s(&p.name)));
            out.push_str(&format!("# issuer = {}\n", s(&p.issuer)));
            out.push_str(&format!("# client_id = {}\n", s(&p.client_id)));
            out.push_str(&format!(
                "# client_secret = {}\n",
                s(if secret { MASK } else { "" })
            ));
            out.push_str(&format!(
                "# client_secret_file = {}\n",
                s(&p.client_secret_file)
            ));
            out.push_str(&format!(
                "# token_auth_method = {}\n",
                s(&p.token_auth_method)
            ));
            out.push_str(&format!("# scopes = {}\n", toml_list(&p.scopes)));
            out.push_str(&format!("# redirect_uri = {}\n", s(&p.redirect_uri)));
            out.push_str(&format!(
                "# id_token_signing_algs = {}\n",
                toml_list(&p.id_token_signing_algs)
            ));
            out.push_str(&format!(
                "# trusted_audiences = {}\n",
                toml_list(&p.trusted_audiences)
            ));
            out.push_str(&format!("# username_claim = {}\n", s(&p.username_claim)));
            out.push_str(&format!("# email_claim = {}\n", s(&p.email_claim)));
            out.push_str(&format!(
                "# first_name_claim = {}\n",
                s(&p.first_name_claim)
            ));
            out.push_str(&format!("# last_name_claim = {}\n", s(&p.last_name_claim)));
            out.push_str(&format!("# auto_provision = {}\n", p.auto_provision));
            out.push_str(&format!("# link_existing = {}\n", s(&p.link_existing)));
            out.push_str(&format!("# trust_email = {}\n", p.trust_email));
            out.push_str(&format!("# link_privileged = {}\n", p.link_privileged));
            out.push_str(&format!(
                "# allowed_email_domains = {}\n",
                toml_list(&p.allowed_email_domains)
            ));
            if let Some(a) = &p.authorization {
                out.push_str(&format!("# [oidc.providers.{id}.authorization]\n"));
                out.push_str(&format!(
                    "# groups_claims = {}\n",
                    toml_list(&a.groups_claims)
                ));
                out.push_str(&format!("# case_sensitive = {}\n", a.case_sensitive));
                out.push_str(&format!("# default_role = {}\n", s(&a.default_role)));
                for m in &a.mapping {
                    out.push_str(&format!(
                        "# mapping = {{ groups = {}, root_role = {} }}\n",
                        toml_list(&m.groups),
                        s(&m.root_role)
                    ));
                }
            }
        }
    }
}

fn check_provider(
    id: &str,
    f: ProviderFile,
    key: &dyn Fn(&str) -> String,
    allow_insecure_http: bool,
    env_secret: Option<String>,
) -> anyhow::Result<Option<Provider>> {
    let issuer = f
        .issuer
        .trim()
        .trim_end_matches("/.well-known/openid-configuration")
        .to_string();
    let https = issuer.starts_with("https://") && issuer.len() > "https://".len();
    let loopback_http = allow_insecure_http && is_loopback_host(&issuer);
    if !https && !loopback_http {
        bail!(
            "{}: {issuer:?} must be an https:// URL (http:// only to a loopback host with oidc_allow_insecure_http)",
            key("issuer")
        );
    }
    if f.client_id.trim().is_empty() {
        bail!("{} must not be empty", key("client_id"));
    }
    let secret = match (
        env_secret.filter(|s| !s.is_empty()),
        f.client_secret_file.trim(),
    ) {
        (Some(s), _) => s,
        (None, "") => f.client_secret.clone(),
        (None, path) => {
            if !f.client_secret.is_empty() {
                bail!(
                    "{} and {} are both set",
                    key("client_secret"),
                    key("client_secret_file")
                );
            }
            std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read {path}", key("client_secret_file")))?
                .trim_end_matches(['\r', '\n'])
                .to_string()
        }
    };
    let token_auth = match f.token_auth_method.as_str() {
        "client_secret_basic" => TokenAuth::Basic,
        "client_secret_post" => TokenAuth::Post,
        other => bail!(
            "{}: {other:?} is not client_secret_basic or client_secret_post",
            key("token_auth_method")
        ),
    };
    if !f.scopes.iter().any(|s| s == "openid") {
        bail!("{} must contain \"openid\"", key("scopes"));
    }
    if f.id_token_signing_algs.is_empty() {
        bail!("{} must not be empty", key("id_token_signing_algs"));
    }
    let mut algs = Vec::new();
    for a in &f.id_token_signing_algs {
        if !ALLOWED_ALGS.contains(&a.as_str()) {
            bail!(
                "{}: {a:?} is not allowed (allowed: {})",
                key("id_token_signing_algs"),
                ALLOWED_ALGS.join(", ")
            );
        }
        algs.push(a.parse::<jsonwebtoken::Algorithm>().map_err(|_| {
            anyhow::anyhow!("{}: {a:?} is not supported", key("id_token_signing_algs"))
        })?);
    }
    let uri = &f.redirect_uri;
    if !(uri.is_empty() || uri.starts_with("https://") || uri.starts_with("http://")) {
        bail!("{} must be an http(s) URL", key("redirect_uri"));
    }
    let link_verified_email = match f.link_existing.as_str() {
        "verified_email" => true,
        "never" => false,
        other => bail!(
            "{}: {other:?} is not verified_email or never",
            key("link_existing")
        ),
    };
    for (k, v) in [
        ("username_claim", &f.username_claim),
        ("email_claim", &f.email_claim),
        ("first_name_claim", &f.first_name_claim),
        ("last_name_claim", &f.last_name_claim),
    ] {
        if v.trim().is_empty() {
            bail!("{} must not be empty", key(k));
        }
    }
    let mut domains = Vec::new();
    for d in &f.allowed_email_domains {
        let d = d.trim().trim_start_matches('@').to_ascii_lowercase();
        if d.is_empty() || d.contains(['@', ' ', '/']) {
            bail!("{}: {d:?} is not a domain", key("allowed_email_domains"));
        }
        domains.push(d);
    }
    let authorization = match f.authorization {
        None => None,
        Some(a) => {
            let role = |r: &str, k: &str| -> anyhow::Result<String> {
                if ROLES.contains(&r) {
                    Ok(r.to_string())
                } else {
                    bail!("{}: {r:?} is not one of {}", key(k), ROLES.join(", "))
                }
            };
            let default_role = role(&a.default_role, "authorization.default_role")?;
            let mut mapping = Vec::new();
            for m in a.mapping {
                if m.groups.is_empty() {
                    bail!("{}: an entry has no groups", key("authorization.mapping"));
                }
                mapping.push((
                    m.groups,
                    role(&m.root_role, "authorization.mapping.root_role")?,
                ));
            }
            if a.groups_claims.is_empty() {
                bail!("{} must not be empty", key("authorization.groups_claims"));
            }
            Some(Authorization {
                groups_claims: a.groups_claims,
                case_sensitive: a.case_sensitive,
                default_role,
                mapping,
            })
        }
    };
    if !f.enabled {
        return Ok(None);
    }
    Ok(Some(Provider {
        id: id.to_string(),
        name: if f.name.trim().is_empty() {
            id.to_string()
        } else {
            f.name.trim().to_string()
        },
        issuer,
        client_id: f.client_id.trim().to_string(),
        client_secret: secret,
        token_auth,
        scopes: f.scopes,
        redirect_uri: f.redirect_uri,
        algs,
        trusted_audiences: f.trusted_audiences,
        username_claim: f.username_claim,
        email_claim: f.email_claim,
        first_name_claim: f.first_name_claim,
        last_name_claim: f.last_name_claim,
        auto_provision: f.auto_provision,
        link_verified_email,
        trust_email: f.trust_email,
        link_privileged: f.link_privileged,
        allowed_email_domains: domains,
        authorization,
    }))
}

#[cfg(test)]
#[path = "settings_tests.rs"]
mod tests;
