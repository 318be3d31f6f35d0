//! The TOTP options of `serve` (flags, `CVAT_*` variables, TOML keys; flattened into
//! `config::ServeArgs`, like the mail and invitation options) and their checked form, with the keys derived from the server secret.
//!
//! Secrets are sealed under `--mfa-encryption-key` when set, else under a key derived from the
//! server secret (HKDF-SHA256, info `cvat-mfa-totp`); recovery codes are HMAC-ed under another
//! derived key. Either way the keys never sit beside the rows they protect unless the server
//! secret itself is the generated one kept in the database: set `CVAT_SECRET_KEY` (or the
//! encryption key) outside the database so that a dump alone reveals no TOTP secret.

use anyhow::{bail, Context};
use base64::Engine;
use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

use crate::config::MASK;

#[derive(Debug, Clone, Args)]
pub struct MfaArgs {
    /// Issuer shown by authenticator apps (`otpauth://totp/ISSUER:user?...&issuer=ISSUER`).
    #[arg(long, env = "CVAT_MFA_ISSUER", default_value = "CVAT")]
    pub mfa_issuer: String,
    /// Key sealing TOTP secrets (AES-256-GCM): base64 of 32 bytes. Unset: derived from the
    /// server secret (`--secret-key`).
    #[arg(long, env = "CVAT_MFA_ENCRYPTION_KEY", hide_env_values = true)]
    pub mfa_encryption_key: Option<String>,
    /// Seconds a login step-two ticket (`mfa_token`) stays valid.
    #[arg(long, env = "CVAT_MFA_TICKET_LIFETIME", default_value_t = 300,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub mfa_ticket_lifetime: i64,
    /// Wrong codes a step-two ticket survives; the next request with it gets 401.
    #[arg(long, env = "CVAT_MFA_TICKET_ATTEMPTS", default_value_t = 5,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub mfa_ticket_attempts: i64,
    /// Seconds an enrolment may wait for its first code.
    #[arg(long, env = "CVAT_MFA_SETUP_LIFETIME", default_value_t = 600,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub mfa_setup_lifetime: i64,
    /// Wrong codes of one user, within `--mfa-lockout`, that lock the second factor (0: never).
    #[arg(long, env = "CVAT_MFA_FAILURES", default_value_t = 10,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub mfa_failures: i64,
    /// Window for counting wrong codes and length of the lock, in seconds.
    #[arg(long, env = "CVAT_MFA_LOCKOUT", default_value_t = 900,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub mfa_lockout: i64,
    /// Accept a current code in `X-CVAT-OTP` with Basic credentials of enrolled users
    /// (`--mfa-basic-otp-header=false`: Basic is always refused for them).
    #[arg(
        long,
        env = "CVAT_MFA_BASIC_OTP_HEADER",
        default_value = "true",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub mfa_basic_otp_header: bool,
    /// Who must enrol, and by when (`policy`).
    #[command(flatten)]
    pub policy: super::policy::MfaPolicyArgs,
}

/// Checked TOTP settings and keys.
#[derive(Clone)]
pub struct MfaSettings {
    pub issuer: String,
    /// AES-256-GCM key of the stored secrets.
    pub seal_key: [u8; 32],
    /// HMAC-SHA-256 key of the recovery codes' digests.
    pub recovery_key: [u8; 32],
    pub ticket_lifetime: i64,
    pub ticket_attempts: i64,
    pub setup_lifetime: i64,
    pub failures: i64,
    pub lockout: i64,
    pub basic_otp_header: bool,
    /// The global policy; its start is set at start-up (`app`).
    pub policy: super::policy::MfaPolicy,
}

impl std::fmt::Debug for MfaSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaSettings")
            .field("issuer", &self.issuer)
            .field("keys", &MASK)
            .finish_non_exhaustive()
    }
}

fn derive(ikm: &[u8], info: &str) -> anyhow::Result<[u8; 32]> {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(None, ikm)
        .expand(info.as_bytes(), &mut out)
        .map_err(|_| anyhow::anyhow!("HKDF output length"))?;
    Ok(out)
}

impl MfaArgs {
    /// Checks the options and derives the keys; `secret` is the server secret.
    pub fn settings(&self, secret: &str) -> anyhow::Result<MfaSettings> {
        let issuer = self.mfa_issuer.trim();
        if issuer.is_empty() || issuer.contains(':') {
            bail!(
                "mfa_issuer must be non-empty and contain no ':' (it prefixes the otpauth label)"
            );
        }
        let seal_key = match self.mfa_encryption_key.as_deref().filter(|k| !k.is_empty()) {
            Some(k) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(k.trim())
                    .context("mfa_encryption_key is not base64")?;
                <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| anyhow::anyhow!("mfa_encryption_key must be 32 bytes"))?
            }
            None => derive(secret.as_bytes(), "cvat-mfa-totp")?,
        };
        Ok(MfaSettings {
            issuer: issuer.to_string(),
            recovery_key: derive(&seal_key, "cvat-mfa-recovery")?,
            seal_key,
            ticket_lifetime: self.mfa_ticket_lifetime,
            ticket_attempts: self.mfa_ticket_attempts,
            setup_lifetime: self.mfa_setup_lifetime,
            failures: self.mfa_failures,
            lockout: self.mfa_lockout,
            basic_otp_header: self.mfa_basic_otp_header,
            policy: self.policy.policy(),
        })
    }

    /// The options as lines of the configuration file, the key masked.
    pub fn to_toml(&self, out: &mut String) {
        let s = |v: &str| toml::Value::String(v.to_string()).to_string();
        out.push_str(&format!("mfa_issuer = {}\n", s(&self.mfa_issuer)));
        match &self.mfa_encryption_key {
            Some(k) if !k.is_empty() => {
                out.push_str(&format!("mfa_encryption_key = {}\n", s(MASK)))
            }
            _ => out.push_str("# mfa_encryption_key: not set (derived from the server secret)\n"),
        }
        for (k, v) in [
            ("mfa_ticket_lifetime", self.mfa_ticket_lifetime),
            ("mfa_ticket_attempts", self.mfa_ticket_attempts),
            ("mfa_setup_lifetime", self.mfa_setup_lifetime),
            ("mfa_failures", self.mfa_failures),
            ("mfa_lockout", self.mfa_lockout),
        ] {
            out.push_str(&format!("{k} = {v}\n"));
        }
        out.push_str(&format!(
            "mfa_basic_otp_header = {}\n",
            self.mfa_basic_otp_header
        ));
        self.policy.to_toml(out);
    }
}
