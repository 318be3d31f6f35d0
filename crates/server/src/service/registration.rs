//! Who may register and what a password must be (issue 15's policies): the options of `serve`
//! (flags, `CVAT_*` variables, TOML keys; flattened into `config::ServeArgs`) and the rule that
//! checks a registration's address against the allowed domains.

use std::sync::atomic::{AtomicUsize, Ordering};

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

#[derive(Debug, Clone, Args)]
pub struct RegistrationArgs {
    /// Turn self-registration (`POST /api/auth/register`) off: accounts then come from
    /// administrators (`--registration-disabled`, `--registration-disabled=false`).
    #[arg(
        long,
        env = "CVAT_REGISTRATION_DISABLED",
        default_value = "false",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub registration_disabled: bool,
    /// Only addresses at these domains may register (comma separated or a TOML list; a
    /// leading dot also admits subdomains: `.example.com`). Empty: any address.
    #[arg(
        long,
        env = "CVAT_REGISTRATION_DOMAINS",
        value_delimiter = ',',
        value_name = "DOMAINS"
    )]
    pub registration_domains: Vec<String>,
    /// The shortest password accepted anywhere (Django's MinimumLengthValidator; at least 8).
    #[arg(long, env = "CVAT_PASSWORD_MIN_LENGTH", default_value_t = 8,
          value_parser = clap::value_parser!(u16).range(8..=128))]
    pub password_min_length: u16,
}

impl RegistrationArgs {
    /// Appends the options as TOML lines (`cvat-server config`).
    pub fn to_toml(&self, out: &mut String) {
        out.push_str(&format!(
            "registration_disabled = {}\nregistration_domains = {}\npassword_min_length = {}\n",
            self.registration_disabled,
            crate::config::toml_list(&self.registration_domains),
            self.password_min_length
        ));
    }

    pub fn settings(&self) -> RegistrationSettings {
        let domains = self
            .registration_domains
            .iter()
            .map(|d| d.trim().to_lowercase())
            .filter(|d| !d.is_empty() && d != ".")
            .collect();
        RegistrationSettings {
            disabled: self.registration_disabled,
            domains,
        }
    }
}

/// What the running server needs of them.
#[derive(Debug, Clone, Default)]
pub struct RegistrationSettings {
    pub disabled: bool,
    /// Lowercase; `.example.com` also admits subdomains.
    pub domains: Vec<String>,
}

impl RegistrationSettings {
    /// Whether `email` may register (any address when no domain is listed).
    pub fn admits(&self, email: &str) -> bool {
        if self.domains.is_empty() {
            return true;
        }
        let Some((_, domain)) = email.rsplit_once('@') else {
            return false;
        };
        let domain = domain.to_lowercase();
        self.domains.iter().any(|d| match d.strip_prefix('.') {
            Some(parent) => domain == parent || domain.ends_with(d.as_str()),
            None => domain == *d,
        })
    }

    /// The refusal of an address outside the listed domains.
    pub fn refusal(&self) -> String {
        format!(
            "Registration is limited to addresses at {}.",
            self.domains.join(", ")
        )
    }
}

/// The minimum password length, set once at start-up from `--password-min-length`: the
/// password rules run in many places (registration, changes, resets, the console, the
/// `createsuperuser` command) that have no settings at hand.
static MIN_PASSWORD_LENGTH: AtomicUsize = AtomicUsize::new(8);

pub fn set_min_password_length(n: u16) {
    MIN_PASSWORD_LENGTH.store(usize::from(n.max(8)), Ordering::Relaxed);
}

pub fn min_password_length() -> usize {
    MIN_PASSWORD_LENGTH.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_admit_their_addresses_and_dotted_ones_their_subdomains() {
        let s = RegistrationSettings {
            disabled: false,
            domains: vec!["example.com".into(), ".corp.example".into()],
        };
        assert!(s.admits("a@Example.COM"));
        assert!(!s.admits("a@sub.example.com"));
        assert!(s.admits("a@corp.example"));
        assert!(s.admits("a@eu.corp.example"));
        assert!(!s.admits("a@evilcorp.example"));
        assert!(!s.admits("a@example.com.evil"));
        assert!(!s.admits("nobody"));
        assert!(RegistrationSettings::default().admits("a@anything.org"));
    }
}
