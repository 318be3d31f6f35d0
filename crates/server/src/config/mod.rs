//! Server configuration: flags, `CVAT_*` environment variables and an optional TOML file (see
//! the README's table). Precedence: flag > environment > file > built-in default.
//!
//! The file is applied by turning its values into the defaults of the matching flags before
//! clap parses the command line ([`with_config_file`]), so clap's own order (command line, then
//! environment, then default) gives the precedence above.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

mod file;
mod net;

pub use file::with_config_file;
pub use net::{AllowedHosts, TrustedProxies};

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

/// `--config FILE` / `CVAT_CONFIG`: the optional TOML file.
#[derive(Debug, Clone, Default, Args)]
pub struct ConfigFileArg {
    /// TOML file with any `serve` option, keys named like the flags with underscores
    /// (`database_url = "..."`); flags and environment variables override it.
    #[arg(long = "config", env = "CVAT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created on first start) or `postgres://...`.
    #[arg(
        long,
        env = "CVAT_DATABASE_URL",
        default_value = "sqlite://cvat-data/cvat.db",
        hide_env_values = true
    )]
    pub database_url: String,
    /// Maximum connections in the pool.
    #[arg(long, env = "CVAT_DB_POOL_SIZE", default_value_t = 8)]
    pub db_pool_size: u32,
    /// Seconds to wait for a database connection.
    #[arg(long, env = "CVAT_DB_CONNECT_TIMEOUT", default_value_t = 10)]
    pub db_connect_timeout: u64,
    /// PostgreSQL statement timeout in seconds (0: none).
    #[arg(long, env = "CVAT_DB_STATEMENT_TIMEOUT", default_value_t = 30)]
    pub db_statement_timeout: u64,
}

impl DatabaseArgs {
    pub fn options(&self) -> crate::store::DbOptions {
        crate::store::DbOptions {
            url: self.database_url.clone(),
            max_connections: self.db_pool_size.max(1),
            connect_timeout: Duration::from_secs(self.db_connect_timeout.max(1)),
            statement_timeout: Duration::from_secs(self.db_statement_timeout),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config_file: ConfigFileArg,
    /// Address to listen on.
    #[arg(long, env = "CVAT_BIND", default_value = "127.0.0.1:8080")]
    pub bind: SocketAddr,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// Signing secret for signed URLs; generated on first start and kept in the database when unset.
    #[arg(long, env = "CVAT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Lifetime of signed URLs, in seconds.
    #[arg(long, env = "CVAT_SIGNED_URL_LIFETIME", default_value_t = 30)]
    pub signed_url_lifetime: i64,
    /// Lifetime of login sessions, in seconds (Django's default: two weeks).
    #[arg(long, env = "CVAT_SESSION_LIFETIME", default_value_t = 1_209_600)]
    pub session_lifetime: i64,
    /// Failed password checks for one account, within the window, that lock its password logins.
    #[arg(long, env = "CVAT_LOGIN_FAILURES_PER_ACCOUNT", default_value_t = 10)]
    pub login_failures_per_account: i64,
    /// Failed password checks from one client address, within the window, that lock its password logins.
    #[arg(long, env = "CVAT_LOGIN_FAILURES_PER_ADDRESS", default_value_t = 100)]
    pub login_failures_per_address: i64,
    /// Window for counting failures and length of the lock, in seconds.
    #[arg(long, env = "CVAT_LOGIN_LOCKOUT", default_value_t = 900)]
    pub login_lockout: i64,
    /// Log format: `text` or `json` (to standard error).
    #[arg(long, env = "CVAT_LOG_FORMAT", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// Log filter: a level (`info`, `debug`, ...) or `tracing` directives such as
    /// `info,cvat_server=debug`; `sqlx` stays at `warn` unless named.
    #[arg(long = "log", env = "CVAT_LOG", default_value = "info")]
    pub log: String,
    /// Serve Prometheus metrics at `GET /metrics` (`--metrics`, `--metrics=false`).
    #[arg(
        long,
        env = "CVAT_METRICS",
        default_value = "false",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub metrics: bool,
    /// Peers whose `X-Forwarded-Proto`/`-Host`/`-For` headers are believed: IP addresses or
    /// CIDR blocks, comma separated. None by default: a client could otherwise choose its own
    /// address for login throttling; the operator names the proxy.
    #[arg(long, env = "CVAT_TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: TrustedProxies,
    /// Host names the server answers for, comma separated (`.example.com` also matches its
    /// subdomains); others get 400. Empty: any (links echo the host, so set it in production).
    #[arg(long, env = "CVAT_ALLOWED_HOSTS", default_value = "")]
    pub allowed_hosts: AllowedHosts,
    /// `Strict-Transport-Security` max-age in seconds, sent on HTTPS answers (0: no header).
    #[arg(long, env = "CVAT_HSTS_MAX_AGE", default_value_t = 31_536_000)]
    pub hsts_max_age: u64,
    /// Seconds a client has to send a request's headers once it has started.
    #[arg(long, env = "CVAT_HEADER_READ_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub header_read_timeout: u64,
    /// Seconds a new connection has to send its first byte before it is closed.
    #[arg(long, env = "CVAT_FIRST_BYTE_TIMEOUT", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub first_byte_timeout: u64,
    /// Seconds an idle keep-alive connection stays open between requests.
    #[arg(long, env = "CVAT_KEEP_ALIVE_TIMEOUT", default_value_t = 15,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub keep_alive_timeout: u64,
    /// Seconds a request may take once its headers are in, body upload included (then 408).
    #[arg(long, env = "CVAT_REQUEST_TIMEOUT", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Client connections held at once; near the cap the longest-idle ones are closed, and
    /// when all are busy further ones wait in the listen backlog.
    #[arg(long, env = "CVAT_MAX_CONNECTIONS", default_value_t = 512,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Who may register, password length (`crate::service::registration`).
    #[command(flatten)]
    pub registration: crate::service::registration::RegistrationArgs,
    /// Outgoing mail and password reset (`crate::mail::settings`).
    #[command(flatten)]
    pub mail: crate::mail::MailArgs,
    /// Invitation confirm and expiry (`crate::service::invitations::settings`).
    #[command(flatten)]
    pub invitations: crate::service::invitations::InvitationArgs,
    #[command(flatten)]
    pub mfa: crate::service::mfa::settings::MfaArgs,
    /// The audit log's retention (`crate::audit_log`).
    #[command(flatten)]
    pub audit: crate::audit_log::AuditArgs,
    /// SCIM provisioning (`crate::service::scim`).
    #[command(flatten)]
    pub scim: crate::service::scim::ScimArgs,
    /// LDAP logins (`crate::auth::ldap::settings`).
    #[command(flatten)]
    pub ldap: crate::auth::ldap::LdapArgs,
    /// OpenID Connect sign-in and its providers (`crate::auth::oidc::settings`).
    #[command(flatten)]
    pub oidc: crate::auth::oidc::OidcArgs,
}

/// What the running server needs from its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub signed_url_lifetime: i64,
    pub session_lifetime: i64,
    pub failures_per_account: i64,
    pub failures_per_address: i64,
    pub lockout_secs: i64,
    pub trusted_proxies: TrustedProxies,
    pub request_timeout: Duration,
    pub db_pool_size: u32,
    pub registration: crate::service::registration::RegistrationSettings,
    pub allowed_hosts: AllowedHosts,
    /// The `Strict-Transport-Security` value for HTTPS answers (none when max-age is 0).
    pub hsts: Option<axum::http::HeaderValue>,
    pub invitations: crate::service::invitations::InvitationSettings,
    /// What a SCIM `DELETE` of a user does.
    pub scim_delete: crate::service::scim::ScimDelete,
}

impl From<&ServeArgs> for Settings {
    fn from(a: &ServeArgs) -> Self {
        Settings {
            signed_url_lifetime: a.signed_url_lifetime,
            session_lifetime: a.session_lifetime,
            failures_per_account: a.login_failures_per_account,
            failures_per_address: a.login_failures_per_address,
            lockout_secs: a.login_lockout,
            trusted_proxies: a.trusted_proxies.clone(),
            request_timeout: Duration::from_secs(a.request_timeout),
            db_pool_size: a.db.db_pool_size.max(1),
            registration: a.registration.settings(),
            allowed_hosts: a.allowed_hosts.clone(),
            hsts: (a.hsts_max_age > 0)
                .then(|| format!("max-age={}", a.hsts_max_age))
                .and_then(|v| axum::http::HeaderValue::from_str(&v).ok()),
            invitations: a.invitations.settings(),
            scim_delete: a.scim.scim_delete,
        }
    }
}

/// What a secret looks like in printed configuration and messages.
pub const MASK: &str = "********";

/// A database URL with its password (user-info part or `password=` parameter) masked.
pub fn mask_database_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(auth_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:{MASK}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_string(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let (query, fragment) = match query.split_once('#') {
                Some((q, f)) => (q, Some(f)),
                None => (query, None),
            };
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}={MASK}"),
                    _ => pair.to_string(),
                })
                .collect();
            let mut t = format!("{path}?{}", query.join("&"));
            if let Some(f) = fragment {
                t.push('#');
                t.push_str(f);
            }
            t
        }
        None => tail.to_string(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// `text` with every occurrence of the database password replaced by the mask (for error
/// messages that might quote the URL).
pub fn redact_database_password(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| {
            let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
            authority
                .rsplit_once('@')?
                .0
                .split_once(':')
                .map(|(_, p)| p)
        })
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => text.replace(p, MASK),
        None => text.to_string(),
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// A TOML list of the non-blank strings (`cvat-server config` lines of list options).
pub fn toml_list(items: &[String]) -> String {
    let items: Vec<String> = items
        .iter()
        .filter(|i| !i.trim().is_empty())
        .map(|i| toml_str(i))
        .collect();
    format!("[{}]", items.join(", "))
}

impl ServeArgs {
    /// The effective configuration as TOML (the file format), secrets masked.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
        line("bind", toml_str(&self.bind.to_string()));
        line(
            "database_url",
            toml_str(&mask_database_url(&self.db.database_url)),
        );
        line("db_pool_size", self.db.db_pool_size.to_string());
        line("db_connect_timeout", self.db.db_connect_timeout.to_string());
        line(
            "db_statement_timeout",
            self.db.db_statement_timeout.to_string(),
        );
        match &self.secret_key {
            Some(s) if !s.is_empty() => line("secret_key", toml_str(MASK)),
            _ => out.push_str(
                "# secret_key: not set (generated on first start and kept in the database)\n",
            ),
        }
        let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
        line("signed_url_lifetime", self.signed_url_lifetime.to_string());
        line("session_lifetime", self.session_lifetime.to_string());
        line(
            "login_failures_per_account",
            self.login_failures_per_account.to_string(),
        );
        line(
            "login_failures_per_address",
            self.login_failures_per_address.to_string(),
        );
        line("login_lockout", self.login_lockout.to_string());
        line("log_format", toml_str(&self.log_format));
        line("log", toml_str(&self.log));
        line("metrics", self.metrics.to_string());
        line(
            "trusted_proxies",
            toml_str(&self.trusted_proxies.to_string()),
        );
        line("allowed_hosts", toml_str(&self.allowed_hosts.to_string()));
        line("hsts_max_age", self.hsts_max_age.to_string());
        line("header_read_timeout", self.header_read_timeout.to_string());
        line("first_byte_timeout", self.first_byte_timeout.to_string());
        line("keep_alive_timeout", self.keep_alive_timeout.to_string());
        line("request_timeout", self.request_timeout.to_string());
        line("max_connections", self.max_connections.to_string());
        self.registration.to_toml(&mut out);
        self.mail.to_toml(&mut out);
        self.invitations.to_toml(&mut out);
        self.mfa.to_toml(&mut out);
        self.audit.to_toml(&mut out);
        self.scim.to_toml(&mut out);
        self.ldap.to_toml(&mut out);
        self.oidc.to_toml(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_passwords_in_database_urls() {
        assert_eq!(
            mask_database_url("postgres://cvat:s3cret@db:5432/cvat"),
            format!("postgres://cvat:{MASK}@db:5432/cvat")
        );
        assert_eq!(
            mask_database_url("postgres://cvat@db/cvat?password=s3cret&sslmode=require"),
            format!("postgres://cvat@db/cvat?password={MASK}&sslmode=require")
        );
        assert_eq!(
            mask_database_url("sqlite://cvat-data/cvat.db"),
            "sqlite://cvat-data/cvat.db"
        );
        assert_eq!(
            redact_database_password(
                "cannot connect to db with s3cret",
                "postgres://u:s3cret@h/d"
            ),
            format!("cannot connect to db with {MASK}")
        );
    }

    /// `config` prints every option (a new flag must be added to `ServeArgs::to_toml`).
    #[test]
    fn printed_configuration_has_every_option() {
        use clap::{Args as _, FromArgMatches as _};
        let cmd = ServeArgs::augment_args(clap::Command::new("serve"));
        let ids: Vec<String> = cmd
            .get_arguments()
            .map(|a| a.get_id().to_string())
            .filter(|id| id != "config")
            .collect();
        let args = ServeArgs::from_arg_matches(&cmd.get_matches_from(["serve"])).unwrap();
        let text = args.to_toml();
        for id in ids {
            assert!(
                text.contains(&format!("\n{id} = "))
                    || text.starts_with(&format!("{id} = "))
                    || text.contains(&format!("# {id}:")),
                "`{id}` missing from:\n{text}"
            );
        }
        let parsed: toml::Table = text.parse().expect("valid TOML");
        assert_eq!(parsed["db_pool_size"].as_integer(), Some(8));
    }
}
