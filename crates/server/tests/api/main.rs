//! Integration tests: one binary, each module drives the real server over HTTP.

mod common;

mod auth;
mod server;
mod users_list;
mod users_write;
