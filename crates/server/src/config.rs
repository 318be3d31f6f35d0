//! Server configuration: flags, `CVAT_*` environment variables and an optional TOML file (see
//! the README's table). Precedence: flag > environment > file > built-in default.
//!
//! The file is applied by turning its values into the defaults of the matching flags before
//! clap parses the command line ([`with_config_file`]), so clap's own order (command line, then
//! environment, then default) gives the precedence above.

use std::ffi::OsString;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};
use ipnet::IpNet;

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
        }
    }
}

/// The proxies allowed to tell us the client's scheme, host and address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(pub Vec<IpNet>);

impl TrustedProxies {
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }
}

impl FromStr for TrustedProxies {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut nets = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let net = match item.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match item.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip.to_canonical()),
                    Err(_) => return Err(format!("not an IP address or CIDR block: {item}")),
                },
            };
            nets.push(net);
        }
        Ok(TrustedProxies(nets))
    }
}

impl fmt::Display for TrustedProxies {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self
            .0
            .iter()
            .map(|n| {
                if n.prefix_len() == n.max_prefix_len() {
                    n.addr().to_string()
                } else {
                    n.to_string()
                }
            })
            .collect();
        f.write_str(&items.join(","))
    }
}

/// The host names the server answers for (Django's `ALLOWED_HOSTS`); empty allows any.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts(pub Vec<String>);

impl AllowedHosts {
    /// Whether `host` (`name[:port]` as the client sent it) is allowed: an entry equal to its
    /// name, `.example.com` for that domain and its subdomains, or `*`.
    pub fn allows(&self, host: &str) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let name = match host.rsplit_once(':') {
            Some((name, port)) if !name.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => {
                name
            }
            _ => host,
        };
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        self.0.iter().any(|entry| {
            entry == "*"
                || *entry == name
                || entry
                    .strip_prefix('.')
                    .is_some_and(|domain| name == domain || name.ends_with(entry.as_str()))
        })
    }
}

impl FromStr for AllowedHosts {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let hosts = s.split(',').map(str::trim).filter(|h| !h.is_empty());
        Ok(AllowedHosts(hosts.map(str::to_ascii_lowercase).collect()))
    }
}

impl fmt::Display for AllowedHosts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
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
        out
    }
}

/// The configuration file named by `--config FILE` / `--config=FILE` in `argv`, else by
/// `CVAT_CONFIG`.
fn config_path(argv: &[OsString]) -> Option<PathBuf> {
    let mut it = argv.iter().skip(1);
    while let Some(a) = it.next() {
        let Some(s) = a.to_str() else { continue };
        if s == "--" {
            break;
        }
        if s == "--config" {
            return it.next().map(PathBuf::from);
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(PathBuf::from(v));
        }
    }
    std::env::var_os("CVAT_CONFIG")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// Keys whose values never show in `--help`.
const SECRET_KEYS: [&str; 3] = ["secret_key", "database_url", "smtp_url"];

/// Reads the file, if one is named, and makes its values the defaults of the matching
/// arguments of every subcommand that has them. Unknown keys are an error (typos would
/// otherwise be silently ignored).
pub fn with_config_file(cmd: clap::Command, argv: &[OsString]) -> anyhow::Result<clap::Command> {
    let Some(path) = config_path(argv) else {
        return Ok(cmd);
    };
    let values = read_config_file(&path)?;
    let Some(serve) = cmd.find_subcommand("serve").cloned() else {
        anyhow::bail!("no serve subcommand to take the file's settings");
    };
    let known: Vec<String> = serve
        .get_arguments()
        .map(|a| a.get_id().to_string())
        .filter(|id| !["config", "help", "version"].contains(&id.as_str()))
        .collect();
    for (key, _) in &values {
        if !known.iter().any(|k| k == key) {
            anyhow::bail!(
                "{}: unknown key `{key}` (known keys: {})",
                path.display(),
                known.join(", ")
            );
        }
    }
    let names: Vec<String> = cmd
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut cmd = cmd;
    for name in names {
        for (key, value) in &values {
            let has = cmd
                .find_subcommand(&name)
                .is_some_and(|s| s.get_arguments().any(|a| a.get_id() == key.as_str()));
            if !has {
                continue;
            }
            // clap keeps defaults as `&'static str`; the file is read once per process.
            let value: &'static str = Box::leak(value.clone().into_boxed_str());
            let secret = SECRET_KEYS.contains(&key.as_str());
            cmd = cmd.mut_subcommand(&name, |s| {
                s.mut_arg(key.as_str(), |a| {
                    a.default_value(value).hide_default_value(secret)
                })
            });
        }
    }
    Ok(cmd)
}

/// The file's keys and their values as command-line strings.
fn read_config_file(path: &Path) -> anyhow::Result<Vec<(String, String)>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read configuration file {}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| anyhow::anyhow!("{}: invalid TOML: {e}", path.display()))?;
    let mut out = Vec::new();
    for (key, value) in table {
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => {
                let mut parts = Vec::new();
                for item in items {
                    match item {
                        toml::Value::String(s) => parts.push(s),
                        other => anyhow::bail!(
                            "{}: `{key}` must list strings, not {}",
                            path.display(),
                            other.type_str()
                        ),
                    }
                }
                parts.join(",")
            }
            other => anyhow::bail!(
                "{}: `{key}` cannot be a {}",
                path.display(),
                other.type_str()
            ),
        };
        out.push((key, text));
    }
    Ok(out)
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

    #[test]
    fn allowed_hosts_match_names_ports_and_subdomains() {
        let a: AllowedHosts = "cvat.example, .corp.example,[::1]".parse().unwrap();
        assert!(a.allows("cvat.example") && a.allows("CVAT.example:8080"));
        assert!(a.allows("corp.example") && a.allows("eu.corp.example:443"));
        assert!(a.allows("[::1]:8080"));
        assert!(!a.allows("evil.example") && !a.allows("xcorp.example"));
        assert!(AllowedHosts::default().allows("anything"));
    }

    #[test]
    fn trusted_proxies_parse_addresses_and_blocks() {
        let t: TrustedProxies = "127.0.0.1, ::1,10.0.0.0/8".parse().unwrap();
        assert!(t.contains("127.0.0.1".parse().unwrap()));
        assert!(t.contains("::ffff:127.0.0.1".parse().unwrap()));
        assert!(t.contains("::1".parse().unwrap()));
        assert!(t.contains("10.20.30.40".parse().unwrap()));
        assert!(!t.contains("192.168.0.1".parse().unwrap()));
        assert_eq!(t.to_string(), "127.0.0.1,::1,10.0.0.0/8");
        assert_eq!("".parse::<TrustedProxies>().unwrap().0.len(), 0);
        assert!("localhost".parse::<TrustedProxies>().is_err());
    }
}
