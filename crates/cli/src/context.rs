//! What every command shares: its failure (the one error type of the crate) and its context
//! (the server, the organization, the output format, the config).

use std::path::PathBuf;

use cvat_sdk::{ApiClient, Configuration, Credentials};

use crate::config::Config;
use crate::output::Format;

/// A failed command: the one line printed after `cvat-users: `, and the exit code.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub code: u8,
    pub status: Option<u16>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
            status: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
            status: None,
        }
    }
}

impl From<cvat_sdk::Error> for Failure {
    fn from(e: cvat_sdk::Error) -> Self {
        Failure {
            message: e.to_string(),
            code: 1,
            status: e.status().map(|s| s.as_u16()),
        }
    }
}

/// What a command returns.
pub type Outcome = Result<(), Failure>;

/// What every command needs: the server, the organization, the output format, the config.
pub struct Context {
    pub host: Option<String>,
    pub org: Option<String>,
    pub output: Format,
    pub config_path: PathBuf,
    pub config: Config,
}

/// `cvat.example.com/` → `https://cvat.example.com`.
pub fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.contains("://") {
        host.to_string()
    } else {
        format!("https://{host}")
    }
}

impl Context {
    /// The server: `--host`/`CVAT_HOST`, else the one of the last login.
    pub fn host(&self) -> Result<String, Failure> {
        self.host.clone().or_else(|| self.config.host.clone()).ok_or_else(|| {
            Failure::usage("no server given: pass --host URL or set CVAT_HOST (then log in with 'cvat-users login')")
        })
    }

    pub fn client(
        &self,
        host: &str,
        credentials: Option<Credentials>,
    ) -> Result<ApiClient, Failure> {
        let mut config = Configuration::new(host).with_user_agent(format!(
            "cvat-users/{} cvat-sdk-rust",
            env!("CARGO_PKG_VERSION")
        ));
        config.credentials = credentials;
        config.organization = self.org.clone();
        Ok(ApiClient::new(config)?)
    }

    /// A client with the saved access token of the server.
    pub fn logged_in(&self) -> Result<ApiClient, Failure> {
        let host = self.host()?;
        let Some(token) = self.config.token_for(&host) else {
            return Err(Failure::new(format!(
                "not logged in to {host}: run 'cvat-users login --username NAME' first"
            )));
        };
        self.client(&host, Some(Credentials::Bearer(token.to_string())))
    }
}
