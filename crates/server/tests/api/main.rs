//! Integration tests: one binary, each module drives the real server over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

mod common;

mod access;
mod access_tokens;
mod admin_api;
mod audit;
mod auth;
mod engines;
mod filter_props;
mod hardening_auth;
mod hardening_http;
mod import;
mod invitations;
mod ldap;
mod list_streaming;
mod mail;
mod oidc;
mod ops;
mod orgs;
mod policies;
mod replicas;
mod resilience;
mod schema;
mod scim;
mod server;
mod sessions;
mod totp;
mod users_list;
mod users_write;
mod verification;
