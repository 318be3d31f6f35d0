//! The invitation options of `serve` (flags, `CVAT_*` variables, TOML keys; flattened into
//! `config::ServeArgs`): CVAT's `ORG_INVITATION_CONFIRM` and `ORG_INVITATION_EXPIRY_DAYS`.

use clap::builder::BoolishValueParser;
use clap::{ArgAction, Args};

#[derive(Debug, Clone, Args)]
pub struct InvitationArgs {
    /// Invitees confirm every invitation (accept or decline it); off: an invitation of an
    /// existing account with a password is accepted at once, without mail (CVAT's default).
    /// Takes yes/no, true/false, on/off, 1/0.
    #[arg(
        long,
        env = "CVAT_ORG_INVITATION_CONFIRM",
        default_value = "false",
        action = ArgAction::Set,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = BoolishValueParser::new()
    )]
    pub org_invitation_confirm: bool,
    /// Days an invitation can be accepted after its mail was last sent.
    #[arg(long, env = "CVAT_ORG_INVITATION_EXPIRY_DAYS", default_value_t = 7,
          value_parser = clap::value_parser!(i64).range(1..=36_500))]
    pub org_invitation_expiry_days: i64,
}

impl InvitationArgs {
    /// Appends the options as TOML lines (`cvat-server config`).
    pub fn to_toml(&self, out: &mut String) {
        out.push_str(&format!(
            "org_invitation_confirm = {}\norg_invitation_expiry_days = {}\n",
            self.org_invitation_confirm, self.org_invitation_expiry_days
        ));
    }

    pub fn settings(&self) -> InvitationSettings {
        InvitationSettings {
            confirm: self.org_invitation_confirm,
            expiry_days: self.org_invitation_expiry_days,
        }
    }
}

/// What the running server needs of them.
#[derive(Debug, Clone, Copy)]
pub struct InvitationSettings {
    pub confirm: bool,
    pub expiry_days: i64,
}

impl InvitationSettings {
    /// The expiry in microseconds (the storage unit).
    pub fn expiry_micros(&self) -> i64 {
        self.expiry_days.saturating_mul(86_400_000_000)
    }
}
