//! The global second-factor policy (sso-and-mfa §4.8, issue 15): `--mfa-enforce none|admins|all`
//! with a grace period and exempt users. A user the policy covers who has no confirmed TOTP
//! works as usual until the deadline, then gets 403 `mfa_enrollment_required` on everything
//! but enrolling, reading oneself and logging out.
//!
//! The deadline is `max(policy start, date joined) + grace`. The policy start is recorded once
//! in the settings table (per mode) when a server first runs under it, so no request writes
//! anything (decision 4); whether a user is enrolled is the `users.mfa_enabled` column kept in
//! step with `mfa_totp`, so the gate costs no extra statement.

use axum::http::request::Parts;
use clap::{Args, ValueEnum};

use crate::service::SystemRole;
use crate::store::{fold, UserRecord};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum MfaEnforce {
    /// Nobody must enrol.
    #[default]
    None,
    /// Users with the admin privilege or the superuser flag.
    Admins,
    /// Every user.
    All,
}

impl MfaEnforce {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaEnforce::None => "none",
            MfaEnforce::Admins => "admins",
            MfaEnforce::All => "all",
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct MfaPolicyArgs {
    /// Who must have TOTP: `none`, `admins` (admin privilege or superuser) or `all`.
    #[arg(long, env = "CVAT_MFA_ENFORCE", value_enum, default_value_t = MfaEnforce::None)]
    pub mfa_enforce: MfaEnforce,
    /// Hours a user the policy covers may work without TOTP (from the policy's start, or the
    /// account's creation if later).
    #[arg(long, env = "CVAT_MFA_GRACE_PERIOD_HOURS", default_value_t = 48,
          value_parser = clap::value_parser!(i64).range(0..=8760))]
    pub mfa_grace_period_hours: i64,
    /// Usernames the policy never covers (break-glass accounts, bots), comma separated or a
    /// TOML list.
    #[arg(
        long,
        env = "CVAT_MFA_EXEMPT_USERS",
        value_delimiter = ',',
        value_name = "USERNAMES"
    )]
    pub mfa_exempt_users: Vec<String>,
}

impl MfaPolicyArgs {
    pub fn policy(&self) -> MfaPolicy {
        MfaPolicy {
            enforce: self.mfa_enforce,
            grace_micros: self.mfa_grace_period_hours * 3_600_000_000,
            exempt: self
                .mfa_exempt_users
                .iter()
                .map(|u| fold(u.trim()))
                .filter(|u| !u.is_empty())
                .collect(),
            since: 0,
        }
    }

    pub fn to_toml(&self, out: &mut String) {
        out.push_str(&format!(
            "mfa_enforce = \"{}\"\nmfa_grace_period_hours = {}\nmfa_exempt_users = {}\n",
            self.mfa_enforce.as_str(),
            self.mfa_grace_period_hours,
            crate::config::toml_list(&self.mfa_exempt_users)
        ));
    }
}

/// The running policy.
#[derive(Debug, Clone, Default)]
pub struct MfaPolicy {
    pub enforce: MfaEnforce,
    pub grace_micros: i64,
    /// Folded usernames.
    pub exempt: Vec<String>,
    /// When a server first ran under this mode (microseconds; set at start-up).
    pub since: i64,
}

pub const ENROLLMENT_REQUIRED: &str = "Two-factor authentication is required for your account: \
     set it up with POST /api/auth/mfa/totp/setup, then /api/auth/mfa/totp/confirm.";

impl MfaPolicy {
    /// Whether the policy covers `user` (enrolled or not).
    pub fn covers(&self, user: &UserRecord) -> bool {
        let covered = match self.enforce {
            MfaEnforce::None => false,
            MfaEnforce::Admins => {
                user.is_superuser
                    || SystemRole::privilege_of(&user.groups) == Some(SystemRole::Admin)
            }
            MfaEnforce::All => true,
        };
        covered && !self.exempt.contains(&fold(&user.username))
    }

    /// The enrolment deadline of a covered user without TOTP (microseconds), else `None`.
    pub fn deadline(&self, user: &UserRecord) -> Option<i64> {
        (self.covers(user) && !user.mfa_enabled).then(|| {
            self.since
                .max(user.date_joined)
                .saturating_add(self.grace_micros)
        })
    }
}

pub const ORGANIZATION_REQUIRES: &str = "This organization requires two-factor authentication \
     of its members: set it up with POST /api/auth/mfa/totp/setup, then /api/auth/mfa/totp/confirm.";

/// An organization's enrolment deadline for a member: from the policy's start or the member's
/// joining, whichever is later, plus the organization's grace period.
pub fn org_deadline(since: i64, grace_hours: i64, joined: Option<i64>) -> i64 {
    since
        .max(joined.unwrap_or(0))
        .saturating_add(grace_hours.saturating_mul(3_600_000_000))
}

/// What passes an organization's gate for a member past its deadline: authentication and
/// server routes, oneself, the organization list, the policy itself, and leaving (deleting a
/// membership; its own checks still apply).
pub fn may_pass_org_gate(parts: &Parts) -> bool {
    let (method, path) = (parts.method.as_str(), parts.uri.path());
    path.starts_with("/api/auth/")
        || path.starts_with("/api/server/")
        || (matches!(method, "GET" | "HEAD")
            && matches!(path, "/api/users/self" | "/api/organizations"))
        || (path.starts_with("/api/organizations/") && path.ends_with("/mfa-policy"))
        || (method == "DELETE" && path.starts_with("/api/memberships/"))
}

/// What a user past the deadline may still do: enrol, read the factor's status and oneself,
/// log out.
pub fn may_pass_before_enrolment(parts: &Parts) -> bool {
    matches!(
        (parts.method.as_str(), parts.uri.path()),
        ("GET" | "HEAD", "/api/auth/mfa")
            | ("POST", "/api/auth/mfa/totp/setup")
            | ("POST", "/api/auth/mfa/totp/confirm")
            | ("GET" | "HEAD", "/api/users/self")
            | ("POST", "/api/auth/logout")
    )
}
