//! Content negotiation before authentication (spec §1.3, decision 3).

use axum::extract::Request;
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;

/// DRF's substring test against `('2.0')`: absent, "2.0", "2", ".", "0", "2.", ".0" and "".
fn version_allowed(v: &str) -> bool {
    "2.0".contains(v)
}

/// Ok when one media range of `accept` is served as JSON; Err with the 406 message otherwise.
pub fn check_accept(accept: Option<&str>) -> Result<(), &'static str> {
    let Some(accept) = accept.map(str::trim).filter(|a| !a.is_empty()) else {
        return Ok(());
    };
    let mut best: Option<(u8, Option<String>)> = None;
    for range in accept.split(',') {
        let mut params = range.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let specificity = match media.as_str() {
            "application/vnd.cvat+json" | "application/json" => 3,
            "application/*" => 2,
            "*/*" => 1,
            _ => continue,
        };
        let version = params.filter_map(|p| p.split_once('=')).find_map(|(k, v)| {
            (k.trim().eq_ignore_ascii_case("version"))
                .then(|| v.trim().trim_matches('"').to_string())
        });
        if best.as_ref().is_none_or(|(s, _)| specificity > *s) {
            best = Some((specificity, version));
        }
    }
    match best {
        None => Err("Could not satisfy the request Accept header."),
        Some((_, Some(v))) if !version_allowed(&v) => Err("Invalid version in \"Accept\" header."),
        Some(_) => Ok(()),
    }
}

pub async fn negotiate(req: Request, next: Next) -> Response {
    let accept = req
        .headers()
        .get(header::ACCEPT)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).to_string());
    match check_accept(accept.as_deref()) {
        Ok(()) => next.run(req).await,
        Err(msg) => ApiError::detail(StatusCode::NOT_ACCEPTABLE, msg).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::check_accept;

    #[test]
    fn accepts_what_clients_send() {
        for ok in [
            None,
            Some("application/vnd.cvat+json"),
            Some("application/vnd.cvat+json; version=2.0"),
            Some("application/vnd.cvat+json; version=2"),
            Some("application/json"),
            Some("*/*"),
            Some("text/html,application/xhtml+xml,*/*;q=0.8"),
        ] {
            assert_eq!(check_accept(ok), Ok(()), "{ok:?}");
        }
    }

    #[test]
    fn rejects_other_types_and_versions() {
        assert_eq!(
            check_accept(Some("text/plain")),
            Err("Could not satisfy the request Accept header.")
        );
        assert_eq!(
            check_accept(Some("application/vnd.cvat+json; version=1.0")),
            Err("Invalid version in \"Accept\" header.")
        );
    }
}
