//! What every request shares: the database, the signing secret, the settings and the metrics
//! recorder. It sits below `http` and `auth` (both read it) and imports neither.

use std::sync::Arc;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::store::Db;

/// Shared by every request.
pub struct AppState {
    pub db: Db,
    /// Key for signed URLs.
    pub secret: String,
    pub settings: Settings,
    /// The Prometheus recorder's handle when `--metrics` is on.
    pub metrics: Option<Metrics>,
    /// Mail settings and the outbox worker's wake-up (`crate::mail`).
    pub mailer: crate::mail::Mailer,
    /// TOTP settings and the keys derived for it (`service::mfa::settings`).
    pub mfa: crate::service::mfa::settings::MfaSettings,
    /// The directory of LDAP logins, when they are on (`auth::ldap`).
    pub ldap: Option<Arc<crate::auth::ldap::LdapSettings>>,
    /// OpenID Connect providers, their settings and caches (`auth::oidc`).
    pub oidc: crate::auth::oidc::Oidc,
}

pub type SharedState = Arc<AppState>;
