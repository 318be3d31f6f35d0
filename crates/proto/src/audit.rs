//! The audit log's bodies: `GET /api/audit-events` (one event, one keyset page).

use serde::{Deserialize, Serialize};

/// One recorded event (the server's `audit_events` row).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEvent {
    /// The event's place in the hash chain (1, 2, 3, ... per database).
    pub seq: i64,
    #[cfg_attr(feature = "openapi", schema(format = DateTime))]
    pub timestamp: String,
    /// CVAT-style `verb:object`, e.g. `login:user`, `update:membership`.
    pub action: String,
    /// Who did it; the username stays after the user is deleted.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub actor_id: Option<i64>,
    pub actor_username: String,
    /// `password`, `basic`, `token`, `session`, `access_token`, `console`, `cli`, ... (empty:
    /// anonymous).
    pub auth_method: String,
    /// `user`, `organization`, `membership`, `invitation`, `access_token`, ...
    pub target_type: String,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub target_id: Option<i64>,
    pub target_name: String,
    #[cfg_attr(feature = "openapi", schema(required))]
    pub org_id: Option<i64>,
    pub client_address: String,
    pub user_agent: String,
    pub request_id: String,
    /// Changed fields as `{"field": {"old": .., "new": ..}}`, or the event's details.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub changes: serde_json::Value,
    /// How many times it happened: failed logins within one minute per account and client
    /// address are one event.
    pub count: i64,
    /// SHA-256 over the previous event's hash and this event (hex).
    pub hash: String,
    pub prev_hash: String,
}

/// A page of events, newest first; `next_cursor` fetches the following (older) page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEventPage {
    /// The URL of the next page (`null`: this is the last).
    #[cfg_attr(feature = "openapi", schema(required))]
    pub next: Option<String>,
    /// The opaque cursor of the next page, for the `cursor` parameter.
    #[cfg_attr(feature = "openapi", schema(required))]
    pub next_cursor: Option<String>,
    pub results: Vec<AuditEvent>,
}
