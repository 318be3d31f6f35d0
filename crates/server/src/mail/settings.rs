//! The mail options of `serve` (flags, `CVAT_*` variables, TOML keys: flattened into
//! `config::ServeArgs`) and their checked form.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Args;
use lettre::message::Mailbox;

use crate::config::MASK;
use crate::service::verification::EmailVerification;

#[derive(Debug, Clone, Args)]
pub struct MailArgs {
    /// SMTP server for outgoing mail: `smtp://[user:password@]host:port?tls=starttls`,
    /// `smtps://...` (TLS from the start), or plain `smtp://host:port` to a relay on loopback.
    /// Unset: mails are written to files under the data folder (development).
    #[arg(long, env = "CVAT_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of outgoing mail (`From`), an address or `Name <address>`.
    #[arg(long, env = "CVAT_MAIL_FROM", default_value = "webmaster@localhost")]
    pub mail_from: String,
    /// Base URL of the CVAT UI that links in mails point to (`https://cvat.example.com`);
    /// unset: the scheme and host of the request that caused the mail.
    #[arg(long, env = "CVAT_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Seconds a password reset link stays valid (Django's `PASSWORD_RESET_TIMEOUT`).
    #[arg(long, env = "CVAT_PASSWORD_RESET_TIMEOUT", default_value_t = 259_200,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub password_reset_timeout: i64,
    /// Seconds before the first retry of a mail the SMTP server did not take; doubles with
    /// each failure, up to an hour.
    #[arg(long, env = "CVAT_MAIL_RETRY_DELAY", default_value_t = 30.0)]
    pub mail_retry_delay: f64,
    /// Attempts before a mail is marked failed (then only `cvat-server mail retry` sends it).
    #[arg(long, env = "CVAT_MAIL_MAX_ATTEMPTS", default_value_t = 20,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub mail_max_attempts: i64,
    /// Seconds the SMTP server has to answer each command.
    #[arg(long, env = "CVAT_SMTP_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub smtp_timeout: u64,
    /// E-mail verification (CVAT's `ACCOUNT_EMAIL_VERIFICATION`): `none`, `optional` (a
    /// confirmation mail at registration; the unconfirmed address cannot log in or reset) or
    /// `mandatory` (no login until the address is confirmed).
    #[arg(long, env = "CVAT_EMAIL_VERIFICATION", value_enum, default_value_t = EmailVerification::None)]
    pub email_verification: EmailVerification,
    /// Seconds between two confirmation mails to one account (allauth's cooldown).
    #[arg(long, env = "CVAT_EMAIL_CONFIRMATION_COOLDOWN", default_value_t = 180,
          value_parser = clap::value_parser!(i64).range(0..=86_400))]
    pub email_confirmation_cooldown: i64,
}

/// How to reach the SMTP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: loopback relays only.
    None,
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// Checked mail settings.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// `None`: the development backend, files in `dev_dir`.
    pub smtp: Option<SmtpTarget>,
    pub dev_dir: PathBuf,
    pub from: Mailbox,
    /// Without a trailing slash.
    pub public_url: Option<String>,
    pub password_reset_timeout: i64,
    pub retry_delay: Duration,
    pub max_attempts: i64,
    pub smtp_timeout: Duration,
    pub email_verification: EmailVerification,
    pub email_confirmation_cooldown: i64,
}

impl MailArgs {
    /// Checks the options; `database_url` places the development backend's folder.
    pub fn settings(&self, database_url: &str) -> anyhow::Result<MailSettings> {
        let smtp = match self.smtp_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(url) => Some(
                parse_smtp_url(url)
                    .with_context(|| format!("invalid --smtp-url {}", mask_smtp_url(url)))?,
            ),
        };
        let from: Mailbox = self
            .mail_from
            .parse()
            .with_context(|| format!("invalid --mail-from {:?}", self.mail_from))?;
        let public_url = match self.public_url.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(u) => {
                let rest = u
                    .strip_prefix("https://")
                    .or_else(|| u.strip_prefix("http://"));
                match rest {
                    Some(r) if !r.is_empty() && !r.contains(['?', '#', ' ']) => {
                        Some(u.trim_end_matches('/').to_string())
                    }
                    _ => bail!("invalid --public-url {u:?}: expected http(s)://host[:port][/path]"),
                }
            }
        };
        if !(self.mail_retry_delay.is_finite() && self.mail_retry_delay > 0.0) {
            bail!("--mail-retry-delay must be a positive number of seconds");
        }
        Ok(MailSettings {
            smtp,
            dev_dir: data_folder(database_url).join("mail"),
            from,
            public_url,
            password_reset_timeout: self.password_reset_timeout,
            retry_delay: Duration::from_secs_f64(self.mail_retry_delay.min(3600.0)),
            max_attempts: self.mail_max_attempts,
            smtp_timeout: Duration::from_secs(self.smtp_timeout),
            email_verification: self.email_verification,
            email_confirmation_cooldown: self.email_confirmation_cooldown,
        })
    }

    /// This block of `cvat-server config`, the SMTP password masked.
    pub fn to_toml(&self, out: &mut String) {
        let s = |v: &str| toml::Value::String(v.to_string()).to_string();
        match &self.smtp_url {
            Some(u) if !u.is_empty() => {
                out.push_str(&format!("smtp_url = {}\n", s(&mask_smtp_url(u))))
            }
            _ => out.push_str(
                "# smtp_url: not set (mails are written to files under the data folder)\n",
            ),
        }
        out.push_str(&format!("mail_from = {}\n", s(&self.mail_from)));
        match &self.public_url {
            Some(u) if !u.is_empty() => out.push_str(&format!("public_url = {}\n", s(u))),
            _ => out.push_str("# public_url: not set (links use the request's scheme and host)\n"),
        }
        out.push_str(&format!(
            "password_reset_timeout = {}\n",
            self.password_reset_timeout
        ));
        // Whole seconds as an integer; a fraction as a string (the file reader takes no floats).
        let delay = self.mail_retry_delay;
        let delay = if delay.fract() == 0.0 && delay.abs() < 1e15 {
            format!("{}", delay as i64)
        } else {
            s(&delay.to_string())
        };
        out.push_str(&format!("mail_retry_delay = {delay}\n"));
        out.push_str(&format!("mail_max_attempts = {}\n", self.mail_max_attempts));
        out.push_str(&format!("smtp_timeout = {}\n", self.smtp_timeout));
        out.push_str(&format!(
            "email_verification = {}\nemail_confirmation_cooldown = {}\n",
            s(self.email_verification.as_str()),
            self.email_confirmation_cooldown
        ));
    }
}

/// The folder of an SQLite database file, else `cvat-data` (the default data folder).
fn data_folder(database_url: &str) -> PathBuf {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p))
        .filter(|p| !p.is_empty() && !p.starts_with(":memory:"))
        .and_then(|p| std::path::Path::new(p).parent().map(PathBuf::from))
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| PathBuf::from("cvat-data"))
}

/// The URL with its password, if any, masked.
pub fn mask_smtp_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:{MASK}@{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

fn decode(s: &str) -> anyhow::Result<String> {
    Ok(percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .context("user name and password must be UTF-8 once percent-decoded")?
        .into_owned())
}

/// `smtp://[user:password@]host[:port][?tls=starttls]` or `smtps://...`.
pub fn parse_smtp_url(url: &str) -> anyhow::Result<SmtpTarget> {
    let (scheme, rest) = url
        .split_once("://")
        .context("expected smtp:// or smtps://")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let rest = rest.trim_end_matches('/');
    let (userinfo, hostport) = match rest.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, rest),
    };
    let credentials = match userinfo {
        None => None,
        Some(u) => {
            let (user, password) = u.split_once(':').unwrap_or((u, ""));
            Some((decode(user)?, decode(password)?))
        }
    };
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || hostport.starts_with('[') => {
            (h, Some(p.parse::<u16>().context("invalid port")?))
        }
        _ => (hostport, None),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.is_empty() {
        bail!("no host");
    }
    let mut starttls = false;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match (k.as_ref(), v.as_ref()) {
            ("tls", "starttls") | ("tls", "required") => starttls = true,
            ("tls", "none") => {}
            _ => bail!("unknown parameter {k}={v} (known: tls=starttls)"),
        }
    }
    let tls = match scheme {
        "smtps" if starttls => bail!("smtps:// is TLS from the start; drop ?tls=starttls"),
        "smtps" => SmtpTls::Implicit,
        "smtp" if starttls => SmtpTls::StartTls,
        "smtp" => SmtpTls::None,
        other => bail!("unknown scheme {other}:// (expected smtp:// or smtps://)"),
    };
    if tls == SmtpTls::None && !is_loopback(host) {
        bail!("plain smtp:// is allowed to a loopback relay only; use ?tls=starttls or smtps://");
    }
    let port = port.unwrap_or(match tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Implicit => 465,
    });
    Ok(SmtpTarget {
        host: host.to_string(),
        port,
        tls,
        credentials,
    })
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_parse_with_tls_modes_and_credentials() {
        let t = parse_smtp_url("smtp://mailer:p%40ss@mail.example.com:2525?tls=starttls").unwrap();
        assert_eq!(t.host, "mail.example.com");
        assert_eq!(t.port, 2525);
        assert_eq!(t.tls, SmtpTls::StartTls);
        assert_eq!(t.credentials, Some(("mailer".into(), "p@ss".into())));
        let t = parse_smtp_url("smtps://mail.example.com").unwrap();
        assert_eq!((t.port, t.tls), (465, SmtpTls::Implicit));
        let t = parse_smtp_url("smtp://127.0.0.1:1025").unwrap();
        assert_eq!((t.port, t.tls, t.credentials), (1025, SmtpTls::None, None));
        assert!(parse_smtp_url("smtp://[::1]:25").is_ok());
        assert!(
            parse_smtp_url("smtp://mail.example.com:25").is_err(),
            "plain SMTP off loopback"
        );
        assert!(parse_smtp_url("http://mail.example.com").is_err());
        assert!(parse_smtp_url("smtp://127.0.0.1:x").is_err());
        assert!(parse_smtp_url("smtp://127.0.0.1?tls=maybe").is_err());
    }

    #[test]
    fn smtp_passwords_are_masked() {
        assert_eq!(
            mask_smtp_url("smtps://mailer:s3cret@mail.example.com:465"),
            format!("smtps://mailer:{MASK}@mail.example.com:465")
        );
        assert_eq!(mask_smtp_url("smtp://127.0.0.1:25"), "smtp://127.0.0.1:25");
    }

    #[test]
    fn the_development_folder_sits_beside_the_sqlite_file() {
        assert_eq!(
            data_folder("sqlite:///var/lib/cvat/cvat.db"),
            PathBuf::from("/var/lib/cvat")
        );
        assert_eq!(
            data_folder("sqlite://cvat-data/cvat.db"),
            PathBuf::from("cvat-data")
        );
        assert_eq!(
            data_folder("postgres://db/cvat"),
            PathBuf::from("cvat-data")
        );
    }
}
