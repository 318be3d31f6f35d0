//! Integration tests: one binary, each module drives the real server over HTTP.

mod common;

mod admin_api;
mod auth;
mod engines;
mod import;
mod orgs;
mod replicas;
mod schema;
mod server;
mod users_list;
mod users_write;
