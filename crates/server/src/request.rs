//! What a request tells about its client, below every layer that serves it: the client's
//! address, whether its peer is a trusted proxy (so `X-Forwarded-*` count), the scheme and host
//! it used, and the absolute URLs and query strings built from them (spec §5.4, §8.1).
//!
//! It sits under `http` and `auth` alike (authentication needs the client address for
//! throttling and the canonical URL for signatures) and imports neither: dependencies point
//! down, `http` -> `auth`/`store` -> here.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use axum::http::{header, Extensions, HeaderMap};

use crate::config::TrustedProxies;

/// Who sent a request, decided once per request (the `http` layer inserts it as an
/// extension): whether the peer is a trusted proxy (so its `X-Forwarded-*` headers count) and
/// the client's address.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub trusted_proxy: bool,
    pub address: String,
}

/// The client behind `peer`: the peer itself unless it is a trusted proxy; behind trusted
/// proxies, the right-most `X-Forwarded-For` entry that is not one of them (entries to its
/// left were written by the client and prove nothing).
pub fn client_info(
    peer: Option<IpAddr>,
    headers: &HeaderMap,
    trusted: &TrustedProxies,
) -> ClientInfo {
    let Some(peer) = peer else {
        return ClientInfo {
            trusted_proxy: false,
            address: "unknown".into(),
        };
    };
    let peer = peer.to_canonical();
    if !trusted.contains(peer) {
        return ClientInfo {
            trusted_proxy: false,
            address: peer.to_string(),
        };
    }
    let hops: Vec<String> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .collect();
    let mut address = peer;
    for hop in hops.iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                address = ip.to_canonical();
                if !trusted.contains(address) {
                    break;
                }
            }
            // Not an address (`unknown`, a port, garbage): trust stops at the last good hop.
            Err(_) => break,
        }
    }
    ClientInfo {
        trusted_proxy: true,
        address: address.to_string(),
    }
}

/// The one place that lets `X-Forwarded-*` headers count: only when the request came from a
/// trusted proxy. The first (client-most) value of the header.
fn forwarded<'a>(headers: &'a HeaderMap, extensions: &Extensions, name: &str) -> Option<&'a str> {
    if !extensions
        .get::<ClientInfo>()
        .is_some_and(|c| c.trusted_proxy)
    {
        return None;
    }
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(',').next().unwrap_or("").trim())
        .filter(|v| !v.is_empty())
}

/// Whether the client used HTTPS, as a trusted proxy says with `X-Forwarded-Proto: https`.
pub fn is_https(headers: &HeaderMap, extensions: &Extensions) -> bool {
    forwarded(headers, extensions, "x-forwarded-proto")
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

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

/// Host as the client named it: `X-Forwarded-Host` from a trusted proxy (CVAT sets
/// USE_X_FORWARDED_HOST), else `Host`, else the request line's authority.
pub fn claimed_host(parts: &Parts) -> Option<String> {
    forwarded(&parts.headers, &parts.extensions, "x-forwarded-host")
        .map(str::to_string)
        .or_else(|| {
            parts
                .headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .or_else(|| parts.uri.authority().map(|a| a.to_string()))
}

/// Whether `host` has only the characters a `name[:port]` or `[v6]:port` can have.
pub fn is_plain_host(host: &str) -> bool {
    !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]_".contains(c))
}

/// Host as seen by the client ([`claimed_host`]); `localhost` when there is none or it has
/// characters that would break the links we build.
pub fn request_host(parts: &Parts) -> String {
    claimed_host(parts)
        .filter(|h| is_plain_host(h))
        .unwrap_or_else(|| "localhost".into())
}

/// `scheme://host` of the request (`X-Forwarded-Proto: https` from a trusted proxy means
/// https).
pub fn origin(parts: &Parts) -> String {
    format!(
        "{}://{}",
        if is_https(&parts.headers, &parts.extensions) {
            "https"
        } else {
            "http"
        },
        request_host(parts)
    )
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

/// The client's address (the unit of per-address login throttling): the peer, or what
/// trusted proxies forwarded (see [`client_info`]).
/// Where a credential made by this request comes from: the client address (as
/// `client_address` finds it) and the `User-Agent`, at most 512 characters.
pub fn credential_origin(parts: &Parts) -> crate::store::CredentialOrigin {
    let user_agent = parts
        .headers
        .get(axum::http::header::USER_AGENT)
        .map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .chars()
                .take(512)
                .collect()
        })
        .unwrap_or_default();
    crate::store::CredentialOrigin {
        client_address: client_address(parts),
        user_agent,
    }
}

/// Where the request came from, for its audit events: the client address, the `User-Agent`
/// (at most 512 characters) and the request id the `http` layer set.
pub fn audit_origin(parts: &Parts) -> crate::service::audit::Origin {
    let credential = credential_origin(parts);
    let request_id = parts
        .headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    crate::service::audit::Origin {
        client_address: credential.client_address,
        user_agent: credential.user_agent,
        request_id,
    }
}

pub fn client_address(parts: &Parts) -> String {
    match parts.extensions.get::<ClientInfo>() {
        Some(info) => info.address.clone(),
        None => parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ci| ci.0.ip().to_canonical().to_string())
            .unwrap_or_else(|| "unknown".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", xff.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_through_trusted_proxies() {
        let trusted: TrustedProxies = "127.0.0.1,10.0.0.0/8".parse().unwrap();
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        // An untrusted peer's header is ignored.
        let c = client_info(ip("203.0.113.9"), &headers("1.2.3.4"), &trusted);
        assert_eq!(
            (c.trusted_proxy, c.address.as_str()),
            (false, "203.0.113.9")
        );
        // A trusted proxy: the right-most hop that is not a trusted proxy.
        let c = client_info(
            ip("127.0.0.1"),
            &headers("6.6.6.6, 198.51.100.7, 10.1.2.3"),
            &trusted,
        );
        assert_eq!(
            (c.trusted_proxy, c.address.as_str()),
            (true, "198.51.100.7")
        );
        // No header: the proxy itself.
        let c = client_info(ip("127.0.0.1"), &HeaderMap::new(), &trusted);
        assert_eq!(c.address, "127.0.0.1");
        // Garbage stops the walk at the last good hop.
        let c = client_info(ip("127.0.0.1"), &headers("1.2.3.4, nonsense"), &trusted);
        assert_eq!(c.address, "127.0.0.1");
        // IPv4-mapped peers count as their IPv4 address.
        let c = client_info(ip("::ffff:127.0.0.1"), &headers("192.0.2.1"), &trusted);
        assert_eq!((c.trusted_proxy, c.address.as_str()), (true, "192.0.2.1"));
    }
}
