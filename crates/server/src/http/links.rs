//! Absolute URLs as CVAT builds them (spec §5.4, §8.1) and query-string helpers.

use std::net::SocketAddr;

use axum::extract::ConnectInfo;
use axum::http::header;
use axum::http::request::Parts;

/// Query pairs, decoded as Django does (`+` is a space, invalid UTF-8 replaced).
pub fn query_pairs(parts: &Parts) -> Vec<(String, String)> {
    parse_query(parts.uri.query().unwrap_or(""))
}

pub fn parse_query(q: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(q.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The value Django's `QueryDict[key]` gives: the last one.
pub fn query_value(parts: &Parts, key: &str) -> Option<String> {
    query_pairs(parts)
        .into_iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
}

/// Host as seen by the client: `X-Forwarded-Host` (CVAT sets USE_X_FORWARDED_HOST), else `Host`.
pub fn request_host(parts: &Parts) -> String {
    let forwarded = parts
        .headers
        .get("x-forwarded-host")
        .and_then(|v| v.to_str().ok());
    let host = forwarded
        .map(|h| h.split(',').next().unwrap_or("").trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
        .unwrap_or_else(|| "localhost".into());
    // Only characters a host[:port] can have; anything else would break the links we build.
    if host
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
    {
        host
    } else {
        "localhost".into()
    }
}

/// `scheme://host` of the request (`X-Forwarded-Proto: https` means https).
pub fn origin(parts: &Parts) -> String {
    let https = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .unwrap_or("")
                .trim()
                .eq_ignore_ascii_case("https")
        });
    format!(
        "{}://{}",
        if https { "https" } else { "http" },
        request_host(parts)
    )
}

pub fn user_url(origin: &str, id: i64) -> String {
    format!("{origin}/api/users/{id}")
}

/// Python's `urllib.parse.quote_plus`.
pub fn quote_plus(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'.' | b'-' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `urlencode(sorted(parse_qs(query).items()), doseq=True)`: keys sorted, values of a key in
/// their original order.
pub fn sorted_query(pairs: &[(String, String)]) -> String {
    let mut keys: Vec<&String> = pairs.iter().map(|(k, _)| k).collect();
    keys.sort();
    keys.dedup();
    let mut out = Vec::new();
    for k in keys {
        for (_, v) in pairs.iter().filter(|(pk, _)| pk == k) {
            out.push(format!("{}={}", quote_plus(k), quote_plus(v)));
        }
    }
    out.join("&")
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

/// The URL a signature covers: absolute, `sign` removed, query re-encoded in order.
pub fn canonical_signed_url(absolute_base: &str, path: &str, pairs: &[(String, String)]) -> String {
    let kept: Vec<String> = pairs
        .iter()
        .filter(|(k, _)| k != "sign")
        .map(|(k, v)| format!("{}={}", quote_plus(k), quote_plus(v)))
        .collect();
    if kept.is_empty() {
        format!("{absolute_base}{path}")
    } else {
        format!("{absolute_base}{path}?{}", kept.join("&"))
    }
}

/// The canonical URL of the current request, for verifying its `sign`.
pub fn signing_canonical_url(parts: &Parts) -> String {
    canonical_signed_url(&origin(parts), parts.uri.path(), &query_pairs(parts))
}

/// The peer address (the unit of per-address login throttling).
pub fn client_address(parts: &Parts) -> String {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ci| ci.0.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}
