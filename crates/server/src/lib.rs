//! A CVAT-compatible Users API server: the library behind the `cvat-server` binary.
//!
//! A request goes: negotiate `Accept` (406) → authenticate (401) → organization context
//! (400, 403) → route policy (403) → method (405) → lookup through the list's filters (404)
//! → object policy (403) → validate body (400) → store (one transaction) → serialize.
//!
//! Layers: `http` (extract, parse CVAT's bodies into typed commands, serialize) → `service`
//! (the domain: who may do what, typed commands, `DomainError`) → `store` (SQL, one module
//! per table). The console at `/admin/` and `createsuperuser` call the same `service`.

pub mod audit_log;
pub mod auth;
pub mod config;
pub mod error;
pub mod filters;
pub mod http;
pub mod import;
pub mod mail;
pub mod metrics;
pub mod pycompat;
pub mod request;
pub mod scim;
pub mod service;
pub mod state;
pub mod store;
pub mod validate;

#[cfg(test)]
mod test_rng;

/// The permission functions live in the domain layer; these paths stay for `auth`.
pub use service::{org_rules, permissions};

mod app;
mod connections;

pub use app::{create_superuser, open_state, serve};
