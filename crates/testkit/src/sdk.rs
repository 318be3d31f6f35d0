//! Clients of the Rust SDK for a test server.

use cvat_sdk::{ApiClient, Configuration, Credentials};

use crate::{TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};

impl TestServer {
    /// An SDK client with these credentials.
    pub fn client(&self, credentials: Option<Credentials>) -> ApiClient {
        let mut config = Configuration::new(&self.base);
        config.credentials = credentials;
        ApiClient::new(config).expect("client")
    }

    /// An anonymous SDK client.
    pub fn anonymous(&self) -> ApiClient {
        self.client(None)
    }

    /// An SDK client of the superuser, by Basic authentication.
    pub fn admin_client(&self) -> ApiClient {
        self.client(Some(Credentials::basic(ADMIN, ADMIN_PASSWORD)))
    }

    /// A Basic-auth SDK client for a registered user (password `PASSWORD`).
    pub fn user(&self, username: &str) -> ApiClient {
        self.client(Some(Credentials::basic(username, PASSWORD)))
    }
}
