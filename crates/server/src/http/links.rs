//! Links in answers: object URLs and pagination links, built on the request facts of
//! [`crate::request`] (re-exported here for the resource modules), and the middleware that
//! records those facts once per request.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;

pub use crate::request::{
    canonical_signed_url, client_address, client_info, is_https, origin, parse_query, query_pairs,
    query_value, quote_plus, request_host, signing_canonical_url, sorted_query, ClientInfo,
};
use crate::state::SharedState;

/// Middleware: records the request's [`ClientInfo`] from the peer address and
/// `--trusted-proxies`.
pub async fn proxy_trust(
    State(state): State<SharedState>,
    mut req: Request,
    next: Next,
) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_canonical());
    let info = client_info(peer, req.headers(), &state.settings.trusted_proxies);
    req.extensions_mut().insert(info);
    next.run(req).await
}

pub fn user_url(origin: &str, id: i64) -> String {
    format!("{origin}/api/users/{id}")
}

/// The current request's URL with `page` set (DRF's `replace_query_param`), or removed for
/// page 1 (`remove_query_param`).
pub fn page_link(parts: &Parts, page: i64) -> String {
    let mut pairs: Vec<(String, String)> = query_pairs(parts)
        .into_iter()
        .filter(|(k, _)| k != "page")
        .collect();
    if page > 1 {
        pairs.push(("page".into(), page.to_string()));
    }
    let query = sorted_query(&pairs);
    let base = format!("{}{}", origin(parts), parts.uri.path());
    if query.is_empty() {
        base
    } else {
        format!("{base}?{query}")
    }
}
