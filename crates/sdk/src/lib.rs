//! A Rust client for the CVAT Users API, mirroring the Python `cvat_sdk` low-level API:
//! a [`Configuration`], an [`ApiClient`], and [`UsersApi`], [`AuthApi`] and [`ServerApi`] with
//! the Python method names (`users_list`, `users_retrieve`, `users_retrieve_self`,
//! `users_partial_update`, `users_destroy`, ...). Calls are blocking (from async code, run them
//! in `tokio::task::spawn_blocking` or a thread).
//!
//! The models are the server's own wire types ([`User`], [`BasicUser`], [`MetaUser`],
//! [`PaginatedMetaUserList`], [`PatchedUserRequest`], ...), so what the server writes is what
//! the SDK reads. Every failure is an [`Error`]; an HTTP error keeps its status and the server's
//! parsed answer.
//!
//! # Authentication
//!
//! One of the [`Credentials`]: `Basic` (username and password), `Token` (the key that
//! [`AuthApi::login`] returns), `Session` (the `sessionid` and `csrftoken` cookies; the client
//! adds `X-CSRFToken` and `Origin`), `SignedUrl` (a `sign` query parameter), or `Bearer` (a
//! personal access token). A client that called [`AuthApi::login`] is authenticated by the
//! session cookies it received.
//!
//! # Example
//!
//! ```no_run
//! use cvat_sdk::{ApiClient, Configuration, Credentials, Error, PatchedUserRequest, UsersListParams};
//!
//! fn main() -> Result<(), Error> {
//!     let config = Configuration::new("http://localhost:8080")
//!         .with_credentials(Credentials::basic("admin", "secret"));
//!     let client = ApiClient::new(config)?;
//!
//!     let about = client.server_api().about()?;
//!     println!("{} {}", about.name, about.version);
//!
//!     let users = client.users_api();
//!     for user in users.users_list_all(UsersListParams::default()) {
//!         let user = user?;
//!         println!("{:>4} {}", user.id(), user.username());
//!     }
//!
//!     let patch = PatchedUserRequest { last_name: Some("Smith".into()), ..Default::default() };
//!     match users.users_partial_update(2, &patch) {
//!         Ok(user) => println!("updated {}", user.username()),
//!         Err(e) if e.is_status(404) => println!("no user 2"),
//!         Err(e) => return Err(e),
//!     }
//!     Ok(())
//! }
//! ```
//!
//! Errors carry the server's answer:
//!
//! ```
//! use cvat_sdk::{ApiClient, Configuration, Error};
//!
//! // Nothing listens on port 9 of the loopback interface: a transport error, no status.
//! let client = ApiClient::new(Configuration::new("http://127.0.0.1:9"))?;
//! match client.server_api().about() {
//!     Err(e @ Error::Transport { .. }) => {
//!         assert_eq!(e.status(), None);
//!         assert!(e.to_string().starts_with("cannot reach http://127.0.0.1:9/api/server/about"));
//!     }
//!     other => panic!("expected a transport error, got {other:?}"),
//! }
//!
//! // A host that is not a URL is refused before any request.
//! assert!(matches!(ApiClient::new(Configuration::new("localhost:8080")), Err(Error::Config(_))));
//! # Ok::<(), Error>(())
//! ```

mod audit;
mod auth;
mod client;
mod config;
mod error;
mod invitations;
mod mfa;
pub mod models;
mod server;
mod users;

pub use audit::{AuditApi, AuditEvents, AuditFilter};
pub use auth::{AuthApi, PageParams};
pub use client::{ApiClient, CVAT_JSON};
pub use config::{Configuration, Credentials, OtpCode};
pub use error::{Error, ErrorBody, Result};
pub use invitations::{InvitationsApi, InvitationsListParams};
pub use mfa::MfaApi;
pub use models::*;
pub use reqwest::{Method, StatusCode};
pub use server::ServerApi;
pub use users::{OrgContext, PageSize, Pages, UsersApi, UsersListParams};
