//! The test kit of every test binary in the workspace (the server's API tests, the SDK's and
//! the CLI's tests): starts the real `cvat-server` binary on a free loopback port with a fresh
//! database (a SQLite file, or a PostgreSQL schema when `CVAT_TEST_POSTGRES` is set) and an
//! `admin` superuser, and talks HTTP to it. No mocks: what the tests assert is what a client sees.
//!
//! Feature `sdk` adds clients of the Rust SDK for a test server, feature `cli` runs of the real
//! `cvat-users` binary, feature `ldap` a real slapd directory.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failed setup fails the test loudly

mod bins;
mod browser;
#[cfg(feature = "cli")]
pub mod cli;
mod http;
#[cfg(feature = "ldap")]
pub mod ldap;
#[cfg(feature = "sdk")]
mod sdk;
mod server;
mod shapes;
#[cfg(feature = "smtp")]
pub mod smtp;

pub use bins::{server_bin, workspace_bin, workspace_root};
pub use browser::Browser;
pub use http::{user_path, Auth, Resp};
pub use server::{rand_suffix, TestDb, TestServer};
pub use shapes::*;

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd!";
/// A password the server's validators accept for any of our test usernames.
pub const PASSWORD: &str = "Str0ng-Secret-42";
