//! Shapes and messages several test binaries assert on, and assertions on them.

use std::collections::BTreeSet;

use cvat_proto::USER_KEYS;
use serde_json::{json, Value};

use crate::Resp;

/// The fields a user may be given on writes (PATCH, the console's forms), in the server's order.
pub const WRITABLE_FIELDS: [&str; 8] = {
    let k = USER_KEYS;
    [k[2], k[3], k[4], k[5], k[6], k[7], k[8], k[9]]
};

/// The keys of the full user representation, in the server's order.
pub const FULL_KEYS: [&str; 14] = USER_KEYS;

/// The keys of the basic user representation.
pub const BASIC_KEYS: [&str; 5] = ["url", "id", "username", "first_name", "last_name"];

pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";

pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The values of `names` in the object `v`, in that order (`null` for a missing one).
pub fn fields(v: &Value, names: &[&str]) -> Vec<Value> {
    names.iter().map(|n| v[*n].clone()).collect()
}

pub fn group_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("groups not a list: {v}"))
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect()
}

/// Status and body `{"detail": detail}`.
#[track_caller]
pub fn assert_detail(r: &Resp, status: u16, detail: &str) {
    assert_json(r, status, json!({ "detail": detail }));
}

/// Status and JSON body.
#[track_caller]
pub fn assert_json(r: &Resp, status: u16, body: Value) {
    r.expect(status);
    assert_eq!(r.json(), body, "body: {}", r.text);
}

/// 401 with `{"detail": detail}` and the `Token` challenge.
#[track_caller]
pub fn assert_401(r: &Resp, detail: &str) {
    assert_detail(r, 401, detail);
    assert_eq!(
        r.header("www-authenticate").as_deref(),
        Some("Token"),
        "WWW-Authenticate"
    );
}

/// The `results` of a list response.
#[track_caller]
pub fn results(r: &Resp) -> Vec<Value> {
    match r.json()["results"].take() {
        Value::Array(items) => items,
        _ => panic!("no results: {}", r.text),
    }
}

/// The ids of the `results` of a list response, in order.
#[track_caller]
pub fn ids(r: &Resp) -> Vec<i64> {
    results(r)
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect()
}

/// The usernames of the `results` of a list response, in order.
#[track_caller]
pub fn usernames(r: &Resp) -> Vec<String> {
    results(r)
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}
