//! The LDAP options of `serve` (flags, `CVAT_LDAP_*` variables, the TOML table `[ldap]`;
//! flattened into `config::ServeArgs`) and their checked form (sso-and-mfa §4.15).
//!
//! Checked at start-up, so that a bad directory configuration stops the server with a message
//! naming the key instead of failing every login: the URL scheme, StartTLS only over `ldap://`,
//! plain `ldap://` only to a loopback host (or with `--ldap-allow-plaintext`), the filters'
//! placeholders, the roles. The service account's password may come from a file and is masked
//! in `cvat-server config`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

use super::dn::Dn;
use crate::config::MASK;

#[derive(Debug, Clone, Args)]
pub struct LdapArgs {
    /// Log in users of an LDAP directory through `POST /api/auth/login` and Basic.
    #[arg(long, env = "CVAT_LDAP_ENABLED", default_value = "false", action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    pub ldap_enabled: bool,
    /// The directory: `ldaps://host:636` or `ldap://host:389` (with `--ldap-start-tls`).
    #[arg(long, env = "CVAT_LDAP_URL", default_value = "")]
    pub ldap_url: String,
    /// `ldap://` followed by StartTLS before any password is sent.
    #[arg(long, env = "CVAT_LDAP_START_TLS", default_value = "false", action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    pub ldap_start_tls: bool,
    /// PEM file of the CA that signed the directory's certificate (empty: the system's roots).
    #[arg(long, env = "CVAT_LDAP_CA_FILE", default_value = "")]
    pub ldap_ca_file: String,
    /// Check the directory's TLS certificate (turn off only in tests).
    #[arg(long, env = "CVAT_LDAP_TLS_VERIFY", default_value = "true", action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    pub ldap_tls_verify: bool,
    /// Allow plain `ldap://` without StartTLS to a host that is not loopback (passwords would
    /// cross the network in clear).
    #[arg(long, env = "CVAT_LDAP_ALLOW_PLAINTEXT", default_value = "false", action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    pub ldap_allow_plaintext: bool,
    /// Seconds to connect (and finish TLS) before the directory counts as unreachable.
    #[arg(long, env = "CVAT_LDAP_CONNECT_TIMEOUT_SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub ldap_connect_timeout_seconds: u64,
    /// Seconds each LDAP operation may take.
    #[arg(long, env = "CVAT_LDAP_TIMEOUT_SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=300))]
    pub ldap_timeout_seconds: u64,
    /// `search_bind` (find the user with the service account, then bind as them) or
    /// `direct_bind` (bind as `--ldap-user-dn-template`).
    #[arg(long, env = "CVAT_LDAP_MODE", default_value = "search_bind",
          value_parser = ["search_bind", "direct_bind"])]
    pub ldap_mode: String,
    /// The service account of `search_bind` (empty: search anonymously).
    #[arg(long, env = "CVAT_LDAP_BIND_DN", default_value = "")]
    pub ldap_bind_dn: String,
    /// Its password (prefer `--ldap-bind-password-file`).
    #[arg(long, env = "CVAT_LDAP_BIND_PASSWORD", hide_env_values = true)]
    pub ldap_bind_password: Option<String>,
    /// A file holding the service account's password (one trailing newline is dropped).
    #[arg(long, env = "CVAT_LDAP_BIND_PASSWORD_FILE", default_value = "")]
    pub ldap_bind_password_file: String,
    /// Where users are searched.
    #[arg(long, env = "CVAT_LDAP_USER_SEARCH_BASE", default_value = "")]
    pub ldap_user_search_base: String,
    /// `base`, `one` or `sub`.
    #[arg(long, env = "CVAT_LDAP_USER_SEARCH_SCOPE", default_value = "sub",
          value_parser = ["base", "one", "sub"])]
    pub ldap_user_search_scope: String,
    /// The user filter; `{username}` (or `%(user)s`) becomes the typed name, escaped per
    /// RFC 4515. Also checked after a direct bind.
    #[arg(
        long,
        env = "CVAT_LDAP_USER_FILTER",
        default_value = "(uid={username})"
    )]
    pub ldap_user_filter: String,
    /// The filter of logins by e-mail address (`{email}`); empty: no e-mail logins via LDAP.
    #[arg(long, env = "CVAT_LDAP_EMAIL_FILTER", default_value = "")]
    pub ldap_email_filter: String,
    /// `direct_bind`: the user's DN, `{username}` escaped per RFC 4514.
    #[arg(long, env = "CVAT_LDAP_USER_DN_TEMPLATE", default_value = "")]
    pub ldap_user_dn_template: String,
    /// The attribute holding the username (`sAMAccountName` on Active Directory).
    #[arg(long, env = "CVAT_LDAP_USERNAME_ATTRIBUTE", default_value = "uid")]
    pub ldap_username_attribute: String,
    #[arg(long, env = "CVAT_LDAP_EMAIL_ATTRIBUTE", default_value = "mail")]
    pub ldap_email_attribute: String,
    #[arg(
        long,
        env = "CVAT_LDAP_FIRST_NAME_ATTRIBUTE",
        default_value = "givenName"
    )]
    pub ldap_first_name_attribute: String,
    #[arg(long, env = "CVAT_LDAP_LAST_NAME_ATTRIBUTE", default_value = "sn")]
    pub ldap_last_name_attribute: String,
    /// A stable id of the entry, kept with the account (`objectGUID` on Active Directory).
    #[arg(long, env = "CVAT_LDAP_UUID_ATTRIBUTE", default_value = "entryUUID")]
    pub ldap_uuid_attribute: String,
    /// How groups are read: `search` (`--ldap-group-filter` under `--ldap-group-search-base`),
    /// `member_of` (an attribute of the user), `none`.
    #[arg(long, env = "CVAT_LDAP_GROUP_MEMBERSHIP", default_value = "search",
          value_parser = ["search", "member_of", "none"])]
    pub ldap_group_membership: String,
    #[arg(long, env = "CVAT_LDAP_GROUP_SEARCH_BASE", default_value = "")]
    pub ldap_group_search_base: String,
    /// `{user_dn}` and `{username}` are RFC 4515-escaped.
    #[arg(
        long,
        env = "CVAT_LDAP_GROUP_FILTER",
        default_value = "(&(objectClass=groupOfNames)(member={user_dn}))"
    )]
    pub ldap_group_filter: String,
    #[arg(
        long,
        env = "CVAT_LDAP_MEMBER_OF_ATTRIBUTE",
        default_value = "memberOf"
    )]
    pub ldap_member_of_attribute: String,
    /// Only members of this group DN may log in (empty: anyone the filter finds).
    #[arg(long, env = "CVAT_LDAP_REQUIRE_GROUP", default_value = "")]
    pub ldap_require_group: String,
    /// Members of this group DN may not log in.
    #[arg(long, env = "CVAT_LDAP_DENY_GROUP", default_value = "")]
    pub ldap_deny_group: String,
    /// Group DNs whose members are CVAT admins, separated by `;` (or a TOML list).
    #[arg(long, env = "CVAT_LDAP_ROLES_ADMIN", default_value = "")]
    pub ldap_roles_admin: String,
    #[arg(long, env = "CVAT_LDAP_ROLES_BUSINESS", default_value = "")]
    pub ldap_roles_business: String,
    #[arg(long, env = "CVAT_LDAP_ROLES_USER", default_value = "")]
    pub ldap_roles_user: String,
    #[arg(long, env = "CVAT_LDAP_ROLES_WORKER", default_value = "")]
    pub ldap_roles_worker: String,
    /// The group of directory users no role group matches: `admin`, `business`, `user`,
    /// `worker` or `none`.
    #[arg(long, env = "CVAT_LDAP_DEFAULT_ROLE", default_value = "user",
          value_parser = ["admin", "business", "user", "worker", "none"])]
    pub ldap_default_role: String,
    /// A directory user's first login creates their account.
    #[arg(long, env = "CVAT_LDAP_AUTO_PROVISION", default_value = "true", action = ArgAction::Set,
          num_args = 0..=1, require_equals = true, default_missing_value = "true",
          value_parser = BoolishValueParser::new())]
    pub ldap_auto_provision: bool,
    /// Seconds a directory password that verified is trusted again for `Authorization: Basic`
    /// without asking the directory (0: ask on every request). A user disabled in the
    /// directory keeps Basic access at most this long.
    #[arg(long, env = "CVAT_LDAP_BASIC_CACHE_SECONDS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(0..=300))]
    pub ldap_basic_cache_seconds: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    SearchBind,
    DirectBind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Membership {
    Search,
    MemberOf,
    None,
}

/// The checked LDAP settings.
#[derive(Clone)]
pub struct LdapSettings {
    pub url: String,
    pub start_tls: bool,
    pub tls: Arc<rustls::ClientConfig>,
    pub tls_verify: bool,
    pub connect_timeout: Duration,
    pub timeout: Duration,
    pub mode: Mode,
    pub bind_dn: String,
    pub(super) bind_password: String,
    pub user_search_base: String,
    pub user_scope: ldap3::Scope,
    pub user_filter: String,
    pub email_filter: Option<String>,
    pub user_dn_template: String,
    pub username_attribute: String,
    pub email_attribute: String,
    pub first_name_attribute: String,
    pub last_name_attribute: String,
    pub uuid_attribute: String,
    pub membership: Membership,
    pub group_search_base: String,
    pub group_filter: String,
    pub member_of_attribute: String,
    pub require_group: Option<Dn>,
    pub deny_group: Option<Dn>,
    /// Role groups by privilege, highest first: (`admin`, DNs), (`business`, ..), ...
    pub roles: Vec<(&'static str, Vec<Dn>)>,
    pub default_role: Option<&'static str>,
    pub auto_provision: bool,
    pub basic_cache: Duration,
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LdapSettings")
            .field("url", &self.url)
            .field("mode", &self.mode)
            .field("bind_dn", &self.bind_dn)
            .field("bind_password", &MASK)
            .finish_non_exhaustive()
    }
}

pub const ROLES: [&str; 4] = ["admin", "business", "user", "worker"];

/// A list of DNs: `;`-separated (a TOML list of DNs arrives so joined, `config::file`).
fn dn_list(key: &str, value: &str) -> anyhow::Result<Vec<Dn>> {
    value
        .split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Dn::parse(s).with_context(|| format!("{key}: `{s}` is not a DN")))
        .collect()
}

fn one_dn(key: &str, value: &str) -> anyhow::Result<Option<Dn>> {
    let mut dns = dn_list(key, value)?;
    if dns.len() > 1 {
        bail!("{key} takes one DN");
    }
    Ok(dns.pop())
}

/// Whether `url`'s host is a loopback address or `localhost`.
fn loopback_host(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let authority = rest.split('/').next().unwrap_or("");
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.rsplit_once(':').map_or(authority, |(h, _)| h),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn tls_config(ca_file: &str, verify: bool) -> anyhow::Result<Arc<rustls::ClientConfig>> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    if ca_file.is_empty() {
        for cert in rustls_native_certs::load_native_certs().certs {
            let _ = roots.add(cert);
        }
    } else {
        for cert in rustls_pki_types::CertificateDer::pem_file_iter(Path::new(ca_file))
            .with_context(|| format!("ldap_ca_file: cannot read {ca_file}"))?
        {
            let cert = cert.with_context(|| format!("ldap_ca_file: {ca_file} is not PEM"))?;
            roots
                .add(cert)
                .with_context(|| format!("ldap_ca_file: a certificate of {ca_file}"))?;
        }
        if roots.is_empty() {
            bail!("ldap_ca_file: {ca_file} holds no certificate");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let mut config = config;
    if !verify {
        config
            .dangerous()
            .set_certificate_verifier(Arc::new(super::client::NoVerification));
    }
    Ok(Arc::new(config))
}

impl LdapArgs {
    /// The checked settings, or `None` when LDAP is off.
    pub fn settings(&self) -> anyhow::Result<Option<Arc<LdapSettings>>> {
        if !self.ldap_enabled {
            return Ok(None);
        }
        let url = self.ldap_url.trim().to_string();
        let ldaps = url.to_ascii_lowercase().starts_with("ldaps://");
        if !ldaps && !url.to_ascii_lowercase().starts_with("ldap://") {
            bail!("ldap_url must start with ldap:// or ldaps:// (got `{url}`)");
        }
        if ldaps && self.ldap_start_tls {
            bail!("ldap_start_tls goes with an ldap:// URL, not ldaps://");
        }
        if !ldaps && !self.ldap_start_tls && !self.ldap_allow_plaintext && !loopback_host(&url) {
            bail!(
                "ldap_url: plain ldap:// to a host that is not loopback sends passwords in clear; \
                 use ldaps://, ldap_start_tls = true, or ldap_allow_plaintext = true"
            );
        }
        let mode = match self.ldap_mode.as_str() {
            "direct_bind" => Mode::DirectBind,
            _ => Mode::SearchBind,
        };
        let user_filter = self.ldap_user_filter.replace("%(user)s", "{username}");
        if !user_filter.contains("{username}") {
            bail!("ldap_user_filter must contain {{username}}");
        }
        let email_filter =
            Some(self.ldap_email_filter.trim().to_string()).filter(|f| !f.is_empty());
        if email_filter
            .as_deref()
            .is_some_and(|f| !f.contains("{email}"))
        {
            bail!("ldap_email_filter must contain {{email}}");
        }
        match mode {
            Mode::DirectBind if !self.ldap_user_dn_template.contains("{username}") => {
                bail!("ldap_user_dn_template must contain {{username}} in direct_bind mode")
            }
            Mode::SearchBind if self.ldap_user_search_base.trim().is_empty() => {
                bail!("ldap_user_search_base is required in search_bind mode")
            }
            _ => {}
        }
        let membership = match self.ldap_group_membership.as_str() {
            "member_of" => Membership::MemberOf,
            "none" => Membership::None,
            _ => Membership::Search,
        };
        if membership == Membership::Search && self.ldap_group_search_base.trim().is_empty() {
            bail!("ldap_group_search_base is required with ldap_group_membership = \"search\"");
        }
        let bind_password = match (
            &self.ldap_bind_password,
            self.ldap_bind_password_file.as_str(),
        ) {
            (Some(p), _) if !p.is_empty() => p.clone(),
            (_, "") => String::new(),
            (_, file) => {
                let text = std::fs::read_to_string(file)
                    .with_context(|| format!("ldap_bind_password_file: cannot read {file}"))?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                text.strip_suffix('\r').unwrap_or(text).to_string()
            }
        };
        if !self.ldap_bind_dn.is_empty() && bind_password.is_empty() {
            bail!("ldap_bind_dn is set without ldap_bind_password (or ldap_bind_password_file)");
        }
        let lists = [
            ("ldap_roles_admin", &self.ldap_roles_admin),
            ("ldap_roles_business", &self.ldap_roles_business),
            ("ldap_roles_user", &self.ldap_roles_user),
            ("ldap_roles_worker", &self.ldap_roles_worker),
        ];
        let mut roles = Vec::new();
        for (role, (key, value)) in ROLES.into_iter().zip(lists) {
            roles.push((role, dn_list(key, value)?));
        }
        Ok(Some(Arc::new(LdapSettings {
            tls: tls_config(self.ldap_ca_file.trim(), self.ldap_tls_verify)?,
            url,
            start_tls: self.ldap_start_tls,
            tls_verify: self.ldap_tls_verify,
            connect_timeout: Duration::from_secs(self.ldap_connect_timeout_seconds),
            timeout: Duration::from_secs(self.ldap_timeout_seconds),
            mode,
            bind_dn: self.ldap_bind_dn.clone(),
            bind_password,
            user_search_base: self.ldap_user_search_base.clone(),
            user_scope: match self.ldap_user_search_scope.as_str() {
                "base" => ldap3::Scope::Base,
                "one" => ldap3::Scope::OneLevel,
                _ => ldap3::Scope::Subtree,
            },
            user_filter,
            email_filter,
            user_dn_template: self.ldap_user_dn_template.clone(),
            username_attribute: self.ldap_username_attribute.clone(),
            email_attribute: self.ldap_email_attribute.clone(),
            first_name_attribute: self.ldap_first_name_attribute.clone(),
            last_name_attribute: self.ldap_last_name_attribute.clone(),
            uuid_attribute: self.ldap_uuid_attribute.clone(),
            membership,
            group_search_base: self.ldap_group_search_base.clone(),
            group_filter: self.ldap_group_filter.clone(),
            member_of_attribute: self.ldap_member_of_attribute.clone(),
            require_group: one_dn("ldap_require_group", &self.ldap_require_group)?,
            deny_group: one_dn("ldap_deny_group", &self.ldap_deny_group)?,
            roles,
            default_role: ROLES
                .into_iter()
                .find(|r| *r == self.ldap_default_role.as_str()),
            auto_provision: self.ldap_auto_provision,
            basic_cache: Duration::from_secs(self.ldap_basic_cache_seconds),
        })))
    }

    /// The options as lines of the configuration file, the password masked.
    pub fn to_toml(&self, out: &mut String) {
        let s = |v: &str| toml::Value::String(v.to_string()).to_string();
        let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
        line("ldap_enabled", self.ldap_enabled.to_string());
        line("ldap_url", s(&self.ldap_url));
        line("ldap_start_tls", self.ldap_start_tls.to_string());
        line("ldap_ca_file", s(&self.ldap_ca_file));
        line("ldap_tls_verify", self.ldap_tls_verify.to_string());
        line(
            "ldap_allow_plaintext",
            self.ldap_allow_plaintext.to_string(),
        );
        line(
            "ldap_connect_timeout_seconds",
            self.ldap_connect_timeout_seconds.to_string(),
        );
        line(
            "ldap_timeout_seconds",
            self.ldap_timeout_seconds.to_string(),
        );
        line("ldap_mode", s(&self.ldap_mode));
        line("ldap_bind_dn", s(&self.ldap_bind_dn));
        match &self.ldap_bind_password {
            Some(p) if !p.is_empty() => line("ldap_bind_password", s(MASK)),
            _ => out.push_str("# ldap_bind_password: not set\n"),
        }
        let mut line = |k: &str, v: &str| out.push_str(&format!("{k} = {}\n", s(v)));
        for (k, v) in [
            ("ldap_bind_password_file", &self.ldap_bind_password_file),
            ("ldap_user_search_base", &self.ldap_user_search_base),
            ("ldap_user_search_scope", &self.ldap_user_search_scope),
            ("ldap_user_filter", &self.ldap_user_filter),
            ("ldap_email_filter", &self.ldap_email_filter),
            ("ldap_user_dn_template", &self.ldap_user_dn_template),
            ("ldap_username_attribute", &self.ldap_username_attribute),
            ("ldap_email_attribute", &self.ldap_email_attribute),
            ("ldap_first_name_attribute", &self.ldap_first_name_attribute),
            ("ldap_last_name_attribute", &self.ldap_last_name_attribute),
            ("ldap_uuid_attribute", &self.ldap_uuid_attribute),
            ("ldap_group_membership", &self.ldap_group_membership),
            ("ldap_group_search_base", &self.ldap_group_search_base),
            ("ldap_group_filter", &self.ldap_group_filter),
            ("ldap_member_of_attribute", &self.ldap_member_of_attribute),
            ("ldap_require_group", &self.ldap_require_group),
            ("ldap_deny_group", &self.ldap_deny_group),
            ("ldap_roles_admin", &self.ldap_roles_admin),
            ("ldap_roles_business", &self.ldap_roles_business),
            ("ldap_roles_user", &self.ldap_roles_user),
            ("ldap_roles_worker", &self.ldap_roles_worker),
            ("ldap_default_role", &self.ldap_default_role),
        ] {
            line(k, v);
        }
        out.push_str(&format!(
            "ldap_auto_provision = {}\nldap_basic_cache_seconds = {}\n",
            self.ldap_auto_provision, self.ldap_basic_cache_seconds
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        assert!(loopback_host("ldap://127.0.0.1:3890"));
        assert!(loopback_host("ldap://localhost"));
        assert!(loopback_host("ldap://[::1]:389/"));
        assert!(!loopback_host("ldap://ldap.example.com:389"));
        assert!(!loopback_host("ldap://127.0.0.1.evil.test"));
    }

    #[test]
    fn dn_lists_split_on_semicolons() {
        let dns = dn_list("k", "cn=a,dc=x; CN=b, DC=x").unwrap();
        assert_eq!(dns.len(), 2);
        assert!(dn_list("k", "no equals sign").is_err());
    }
}
