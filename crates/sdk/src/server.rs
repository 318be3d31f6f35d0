//! [`ServerApi`]: `/api/server/*`.

use reqwest::Method;

use crate::client::{ApiClient, Request};
use crate::error::Result;
use crate::models::About;

/// The server endpoints, like the Python SDK's `cvat_sdk.api.server_api.ServerApi`.
///
/// ```no_run
/// let client = cvat_sdk::ApiClient::new(cvat_sdk::Configuration::new("http://localhost:8080"))?;
/// let about = client.server_api().about()?; // anonymous is fine
/// println!("{} {}", about.name, about.version);
/// # Ok::<(), cvat_sdk::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ServerApi<'a> {
    client: &'a ApiClient,
}

impl<'a> ServerApi<'a> {
    /// The server endpoints of `client`.
    pub fn new(client: &'a ApiClient) -> Self {
        ServerApi { client }
    }

    /// `GET /api/server/about`: name, description and version of the server.
    #[doc(alias = "retrieve_about")]
    pub fn about(&self) -> Result<About> {
        self.client
            .get_json(Request::new(Method::GET, "/api/server/about"))
    }
}
