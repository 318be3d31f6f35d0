//! [`AuditApi`]: the server's audit log, `GET /api/audit-events`, as pages or as one stream of
//! events that fetches the next page when the current one is used up (keyset cursor: stable
//! while events arrive, and as cheap deep in the log as at its start).

use std::collections::VecDeque;

use reqwest::Method;

use crate::client::{ApiClient, Request};
use crate::error::Result;
use crate::models::{AuditEvent, AuditEventPage};

/// The list's filters (all optional; `None` is no filter).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// The actor's username.
    pub actor: Option<String>,
    pub actor_id: Option<i64>,
    /// `verb:object`, e.g. `update:user`.
    pub action: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub client_address: Option<String>,
    /// RFC 3339 time or a date; `from` inclusive, `to` exclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Events per page (1 to 1000; the server's default: 100).
    pub page_size: Option<u32>,
    /// An organization's slug: that organization's events (its owners and maintainers may
    /// read them).
    pub org: Option<String>,
}

impl AuditFilter {
    fn query(&self, cursor: Option<&str>) -> Vec<(String, String)> {
        let mut q = Vec::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v {
                q.push((k.to_string(), v));
            }
        };
        put("actor", self.actor.clone());
        put("actor_id", self.actor_id.map(|v| v.to_string()));
        put("action", self.action.clone());
        put("target_type", self.target_type.clone());
        put("target_id", self.target_id.map(|v| v.to_string()));
        put("client_address", self.client_address.clone());
        put("from", self.from.clone());
        put("to", self.to.clone());
        put("page_size", self.page_size.map(|v| v.to_string()));
        put("org", self.org.clone());
        put("cursor", cursor.map(str::to_string));
        q
    }
}

/// The audit log endpoints.
///
/// ```no_run
/// # let client = cvat_sdk::ApiClient::new(cvat_sdk::Configuration::new("http://localhost:8080"))?;
/// let filter = cvat_sdk::AuditFilter { actor: Some("bob".into()), ..Default::default() };
/// for event in client.audit_api().events(&filter) {
///     let event = event?;
///     println!("{} {} {}", event.timestamp, event.action, event.target_name);
/// }
/// # Ok::<(), cvat_sdk::Error>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct AuditApi<'a> {
    client: &'a ApiClient,
}

impl<'a> AuditApi<'a> {
    pub fn new(client: &'a ApiClient) -> Self {
        AuditApi { client }
    }

    /// One page, newest first: the first one (`cursor: None`) or the one after a page's
    /// `next_cursor`.
    pub fn page(&self, filter: &AuditFilter, cursor: Option<&str>) -> Result<AuditEventPage> {
        self.client
            .get_json(Request::new(Method::GET, "/api/audit-events").query(filter.query(cursor)))
    }

    /// Every event the filter selects, newest first, page by page as they are read.
    pub fn events(&self, filter: &AuditFilter) -> AuditEvents<'a> {
        AuditEvents {
            api: *self,
            filter: filter.clone(),
            buffer: VecDeque::new(),
            cursor: None,
            done: false,
        }
    }
}

/// The stream of [`AuditApi::events`]; an error ends it.
#[derive(Debug)]
pub struct AuditEvents<'a> {
    api: AuditApi<'a>,
    filter: AuditFilter,
    buffer: VecDeque<AuditEvent>,
    cursor: Option<String>,
    done: bool,
}

impl Iterator for AuditEvents<'_> {
    type Item = Result<AuditEvent>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.buffer.is_empty() && !self.done {
            match self.api.page(&self.filter, self.cursor.as_deref()) {
                Ok(page) => {
                    self.done = page.next_cursor.is_none();
                    self.cursor = page.next_cursor;
                    self.buffer.extend(page.results);
                }
                Err(e) => {
                    self.done = true;
                    return Some(Err(e));
                }
            }
        }
        self.buffer.pop_front().map(Ok)
    }
}
