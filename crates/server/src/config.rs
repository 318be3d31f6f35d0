//! Server configuration: flags and `CVAT_*` environment variables (see the README's table).

use std::net::SocketAddr;
use std::time::Duration;

use clap::Args;

#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// `sqlite://PATH` (created on first start) or `postgres://...`.
    #[arg(
        long,
        env = "CVAT_DATABASE_URL",
        default_value = "sqlite://cvat-data/cvat.db"
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
    /// Log format: `text` or `json`.
    #[arg(long, env = "CVAT_LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

/// What the running server needs from its configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub signed_url_lifetime: i64,
    pub session_lifetime: i64,
    pub failures_per_account: i64,
    pub failures_per_address: i64,
    pub lockout_secs: i64,
}

impl From<&ServeArgs> for Settings {
    fn from(a: &ServeArgs) -> Self {
        Settings {
            signed_url_lifetime: a.signed_url_lifetime,
            session_lifetime: a.session_lifetime,
            failures_per_account: a.login_failures_per_account,
            failures_per_address: a.login_failures_per_address,
            lockout_secs: a.login_lockout,
        }
    }
}
