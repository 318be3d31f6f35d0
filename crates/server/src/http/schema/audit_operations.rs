//! The audit log's operations (`http::audit`), beside `operations.rs`. Paths must match the
//! router's (`tests/api/schema.rs`).

use serde_json::json;

use super::document::{model, op, org_params, query, Op, AUTHENTICATED};

pub(super) fn audit() -> Vec<Op> {
    let text = json!({"type": "string"});
    let int = json!({"type": "integer"});
    let time = json!({"type": "string", "format": "date-time"});
    let mut params = org_params();
    params.extend([
        query("actor", text.clone(), "The actor's username"),
        query("actor_id", int.clone(), "The actor's id"),
        query(
            "target_type",
            text.clone(),
            "`user`, `organization`, `membership`, `invitation`, `access_token`, ...",
        ),
        query("target_id", int.clone(), "The target's id"),
        query(
            "action",
            text.clone(),
            "CVAT-style `verb:object`, e.g. `update:user`",
        ),
        query(
            "client_address",
            text.clone(),
            "The client address the request came from",
        ),
        query(
            "from",
            time.clone(),
            "Events at or after this time (RFC 3339, or a date: midnight UTC)",
        ),
        query("to", time, "Events before this time (RFC 3339, or a date)"),
        query("cursor", text, "The `next_cursor` of the previous page"),
        query("page_size", int, "Events per page, 1 to 1000 (default 100)"),
    ]);
    vec![op(
        "get",
        "/api/audit-events",
        "audit_events_list",
        "The audit log, newest first: administrators see every event (or, with an organization selected, that organization's); owners and maintainers of the selected organization see its events. Keyset pages: follow `next`.",
    )
    .params(params)
    .ok(200, "", model("AuditEventPage"))
    .errors(AUTHENTICATED)]
}
