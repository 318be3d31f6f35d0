//! `GET /api/audit-events`: the audit log, newest first, with filters and a keyset cursor
//! (who may read what: `service::audit::list`; the rows: `store::audit`).
//!
//! Why a cursor and not CVAT's `page`: events are only ever appended, with growing `seq`, so
//! "the events below seq N" is the same set however many arrive meanwhile (stable under
//! inserts), and reading it is an index range however deep the page (no OFFSET).

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use base64::Engine;

use super::links;
use super::views;
use crate::error::{cvat_json, ApiError, ApiResult};
use crate::service::{audit, Requester};
use crate::state::SharedState;
use crate::store::{AuditQuery, AuditRecord};
use crate::validate::FieldErrors;

pub fn router() -> Router<SharedState> {
    Router::new().route(
        "/api/audit-events",
        get(list).fallback(super::method_not_allowed),
    )
}

/// The default page size.
const PAGE_SIZE: i64 = 100;

const CURSOR_PREFIX: &str = "seq:";

/// The opaque cursor of the page after the event `seq`.
pub fn cursor_after(seq: i64) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{CURSOR_PREFIX}{seq}"))
}

fn parse_cursor(raw: &str) -> Option<i64> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(CURSOR_PREFIX)?
        .parse()
        .ok()
        .filter(|s| *s > 0)
}

/// An RFC 3339 time or a date (`2026-12-05`, midnight UTC), in microseconds.
pub fn parse_time(raw: &str) -> Option<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(raw.trim()) {
        return Some(t.timestamp_micros());
    }
    let day = chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros())
}

/// The list's query parameters (400 with each bad one named).
pub fn parse_query(pairs: &[(String, String)]) -> ApiResult<AuditQuery> {
    let mut q = AuditQuery {
        limit: PAGE_SIZE,
        ..Default::default()
    };
    let mut errors: FieldErrors = Vec::new();
    let mut bad = |k: &str, m: &str| errors.push((k.to_string(), vec![m.to_string()]));
    for (k, v) in pairs {
        let int = || v.trim().parse::<i64>().ok();
        let text = || Some(v.clone()).filter(|v| !v.is_empty());
        match k.as_str() {
            "actor" => q.actor_username = text(),
            "actor_id" => match int() {
                Some(n) => q.actor_id = Some(n),
                None => bad(k, "A valid integer is required."),
            },
            "target_type" => q.target_type = text(),
            "target_id" => match int() {
                Some(n) => q.target_id = Some(n),
                None => bad(k, "A valid integer is required."),
            },
            "action" => q.action = text(),
            "client_address" => q.client_address = text(),
            "from" | "to" => match parse_time(v) {
                Some(t) if k == "from" => q.from = Some(t),
                Some(t) => q.to = Some(t),
                None => bad(
                    k,
                    "Enter a date (YYYY-MM-DD) or an RFC 3339 date and time, e.g. 2026-12-05T10:00:00Z.",
                ),
            },
            "cursor" => match parse_cursor(v) {
                Some(seq) => q.before = Some(seq),
                None => bad(k, "Invalid cursor."),
            },
            "page_size" => match int() {
                Some(n) if (1..=audit::MAX_PAGE_SIZE).contains(&n) => q.limit = n,
                _ => bad(
                    k,
                    &format!(
                        "Ensure this value is an integer from 1 to {}.",
                        audit::MAX_PAGE_SIZE
                    ),
                ),
            },
            _ => {}
        }
    }
    if let (Some(from), Some(to)) = (q.from, q.to) {
        if from >= to {
            bad("to", "Ensure this time is after `from`.");
        }
    }
    match errors.is_empty() {
        true => Ok(q),
        false => Err(ApiError::Fields(errors)),
    }
}

pub fn view(r: AuditRecord) -> cvat_proto::AuditEvent {
    cvat_proto::AuditEvent {
        seq: r.seq,
        timestamp: views::datetime(r.at),
        action: r.action,
        actor_id: r.actor_id,
        actor_username: r.actor_username,
        auth_method: r.auth_method,
        target_type: r.target_type,
        target_id: r.target_id,
        target_name: r.target_name,
        org_id: r.org_id,
        client_address: r.client_address,
        user_agent: r.user_agent,
        request_id: r.request_id,
        changes: serde_json::from_str(&r.changes).unwrap_or_default(),
        count: r.repeats + 1,
        hash: r.hash,
        prev_hash: r.prev_hash,
    }
}

async fn list(
    State(state): State<SharedState>,
    req: Requester,
    parts: Parts,
) -> ApiResult<Response> {
    let q = parse_query(&links::query_pairs(&parts))?;
    let limit = q.limit;
    let rows = audit::list(&state.db, &req, q).await?;
    let next_cursor = match rows.last() {
        Some(last) if rows.len() as i64 == limit => Some(cursor_after(last.seq)),
        _ => None,
    };
    let next = next_cursor.as_ref().map(|c| {
        let mut pairs: Vec<(String, String)> = links::query_pairs(&parts)
            .into_iter()
            .filter(|(k, _)| k != "cursor")
            .collect();
        pairs.push(("cursor".into(), c.clone()));
        format!(
            "{}{}?{}",
            links::origin(&parts),
            parts.uri.path(),
            links::sorted_query(&pairs)
        )
    });
    let page = cvat_proto::AuditEventPage {
        next,
        next_cursor,
        results: rows.into_iter().map(view).collect(),
    };
    Ok(cvat_json(StatusCode::OK, &page))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(pairs: &[(&str, &str)]) -> ApiResult<AuditQuery> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse_query(&pairs)
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        assert_eq!(parse_cursor(&cursor_after(42)), Some(42));
        assert_eq!(parse_cursor("42"), None);
        assert_eq!(parse_cursor("!!"), None);
        assert_eq!(parse_cursor(&cursor_after(0)), None);
    }

    #[test]
    fn filters_parse_and_bad_ones_are_named() {
        let ok = q(&[("actor", "bob"), ("from", "2026-12-01"), ("page_size", "5")]).unwrap();
        assert_eq!(ok.actor_username.as_deref(), Some("bob"));
        assert_eq!(ok.limit, 5);
        assert!(ok.from.is_some());
        for bad in [
            ("actor_id", "x"),
            ("from", "yesterday"),
            ("cursor", "zzz"),
            ("page_size", "0"),
            ("page_size", "100000"),
        ] {
            assert!(matches!(q(&[bad]), Err(ApiError::Fields(_))), "{bad:?}");
        }
        assert!(q(&[("from", "2026-12-05"), ("to", "2026-12-01")]).is_err());
    }
}
