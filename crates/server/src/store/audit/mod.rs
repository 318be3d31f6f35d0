//! `audit_events` and `audit_chain` (migration 0017): appending an event inside the writing
//! transaction (`append_event!`), the failed-login aggregate, the list with its filters and
//! keyset cursor, the chain walk and retention.
//!
//! Why the chain head is a row: every append starts with `UPDATE audit_chain ... RETURNING`,
//! which on PostgreSQL locks that row until the transaction ends, so replicas sharing one
//! database append one after the other (numbers without gaps, one chain, never a fork; a
//! rolled-back transaction gives its number back). On SQLite the writing transaction holds the
//! database's one write lock already. Appends come last before the commit, so a transaction
//! holding the head never waits for anything else (no deadlocks).

pub mod chain;

use crate::filters::{Bind, SqlBuf};
use crate::service::AuditEvent;
use crate::store::{bind_all, now_micros, on_pool, Db};

pub use chain::{checkpoint_mac, ChainHead, Walker};

/// One stored event.
#[derive(Debug, Clone, Default, PartialEq, sqlx::FromRow)]
pub struct AuditRecord {
    pub seq: i64,
    pub at: i64,
    pub action: String,
    pub actor_id: Option<i64>,
    pub actor_username: String,
    pub auth_method: String,
    pub target_type: String,
    pub target_id: Option<i64>,
    pub target_name: String,
    pub org_id: Option<i64>,
    pub client_address: String,
    pub user_agent: String,
    pub request_id: String,
    /// JSON text.
    pub changes: String,
    pub repeats: i64,
    pub prev_hash: String,
    pub hash: String,
}

pub(crate) const AUDIT_COLUMNS: &str = "seq, at, action, actor_id, actor_username, auth_method, \
    target_type, target_id, target_name, org_id, client_address, user_agent, request_id, changes, \
    repeats, prev_hash, hash";

pub(crate) const INSERT_EVENT: &str = "INSERT INTO audit_events (seq, at, action, actor_id, \
    actor_username, auth_method, target_type, target_id, target_name, org_id, client_address, \
    user_agent, request_id, changes, repeat_key, prev_hash, hash) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)";

/// Takes the chain's head (locking it to the end of the transaction): its new seq and the
/// previous event's hash.
pub(crate) const TAKE_HEAD: &str =
    "UPDATE audit_chain SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash";

/// The record `ev` becomes as event `seq` after `prev_hash`, hashed.
pub(crate) fn chained(ev: &AuditEvent, seq: i64, prev_hash: String) -> AuditRecord {
    let mut r = AuditRecord {
        seq,
        at: now_micros(),
        action: ev.action.clone(),
        actor_id: ev.actor_id,
        actor_username: ev.actor_username.clone(),
        auth_method: ev.auth_method.clone(),
        target_type: ev.target_type.clone(),
        target_id: ev.target_id,
        target_name: ev.target_name.clone(),
        org_id: ev.org_id,
        client_address: ev.origin.client_address.clone(),
        user_agent: ev.origin.user_agent.clone(),
        request_id: ev.origin.request_id.clone(),
        changes: serde_json::Value::Object(ev.changes.clone()).to_string(),
        repeats: 0,
        prev_hash,
        hash: String::new(),
    };
    r.hash = chain::event_hash(&r.prev_hash, &r);
    r
}

/// Appends the event `$ev` to the chain on the open transaction `$tx` (a `Transaction` of
/// either engine), with the optional aggregation key `$key`: the last statements before its
/// commit. Evaluates to `sqlx::Result<AuditRecord>`.
macro_rules! append_event {
    ($tx:ident, $ev:expr) => {
        $crate::store::audit::append_event!($tx, $ev, None::<String>)
    };
    ($tx:ident, $ev:expr, $key:expr) => {
        async {
            let ev: &$crate::service::AuditEvent = $ev;
            let (seq, prev): (i64, String) = sqlx::query_as($crate::store::audit::TAKE_HEAD)
                .fetch_one(&mut *$tx)
                .await?;
            let r = $crate::store::audit::chained(ev, seq, prev);
            sqlx::query($crate::store::audit::INSERT_EVENT)
                .bind(r.seq)
                .bind(r.at)
                .bind(&r.action)
                .bind(r.actor_id)
                .bind(&r.actor_username)
                .bind(&r.auth_method)
                .bind(&r.target_type)
                .bind(r.target_id)
                .bind(&r.target_name)
                .bind(r.org_id)
                .bind(&r.client_address)
                .bind(&r.user_agent)
                .bind(&r.request_id)
                .bind(&r.changes)
                .bind($key)
                .bind(&r.prev_hash)
                .bind(&r.hash)
                .execute(&mut *$tx)
                .await?;
            sqlx::query("UPDATE audit_chain SET hash = $1 WHERE id = 1")
                .bind(&r.hash)
                .execute(&mut *$tx)
                .await?;
            Ok::<$crate::store::audit::AuditRecord, sqlx::Error>(r)
        }
        .await
    };
}
pub(crate) use append_event;

/// The list's filters (all optional, combined with AND) and its page: events with `seq` below
/// `before` (the cursor), newest first, at most `limit`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    pub actor_username: Option<String>,
    pub target_type: Option<String>,
    pub target_id: Option<i64>,
    pub action: Option<String>,
    pub org_id: Option<i64>,
    /// Microseconds, inclusive.
    pub from: Option<i64>,
    /// Microseconds, exclusive.
    pub to: Option<i64>,
    pub client_address: Option<String>,
    pub before: Option<i64>,
    pub limit: i64,
}

impl AuditQuery {
    fn sql(&self) -> SqlBuf {
        let mut sql = crate::store::sql_start(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE 1 = 1"
        ));
        let mut int = |col: &str, v: Option<i64>| {
            if let Some(v) = v {
                sql.push(&format!(" AND {col}"));
                sql.bind(Bind::Int(v));
            }
        };
        int("actor_id = ", self.actor_id);
        int("target_id = ", self.target_id);
        int("org_id = ", self.org_id);
        int("at >= ", self.from);
        int("at < ", self.to);
        int("seq < ", self.before);
        for (col, v) in [
            ("actor_username = ", &self.actor_username),
            ("target_type = ", &self.target_type),
            ("action = ", &self.action),
            ("client_address = ", &self.client_address),
        ] {
            if let Some(v) = v {
                sql.push(&format!(" AND {col}"));
                sql.bind(Bind::Text(v.clone()));
            }
        }
        sql.push(" ORDER BY seq DESC LIMIT ");
        sql.bind(Bind::Int(self.limit));
        sql
    }
}

impl Db {
    /// Records a failed login of `ev.target_name` from `ev.origin.client_address`: the first
    /// one of a minute is a chained event, later ones in that minute only count up its
    /// `repeats`, so a brute-force attack adds a row a minute per account and address.
    pub async fn record_failed_login(&self, ev: &AuditEvent) -> sqlx::Result<()> {
        let minute = now_micros() / 60_000_000;
        let key = format!(
            "{}|{}|{minute}",
            crate::store::fold(&ev.target_name),
            ev.origin.client_address
        );
        const BUMP: &str = "UPDATE audit_events SET repeats = repeats + 1 WHERE repeat_key = $1";
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            // The head first: two first failures at once append one event, the other counts.
            sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
            let bumped = sqlx::query(BUMP).bind(&key).execute(&mut *tx).await?.rows_affected();
            if bumped == 0 {
                append_event!(tx, ev, Some(key.clone()))?;
            }
            tx.commit().await
        })
    }

    /// Records `ev` in a transaction of its own: for events that change nothing else (a
    /// Basic login's first use). A change records its event in its own transaction instead,
    /// through the store function that makes it.
    pub async fn record_event(&self, ev: &AuditEvent) -> sqlx::Result<AuditRecord> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            let r = append_event!(tx, ev)?;
            tx.commit().await?;
            Ok(r)
        })
    }

    /// One page of events, newest first.
    pub async fn list_audit_events(&self, q: &AuditQuery) -> sqlx::Result<Vec<AuditRecord>> {
        let sql = q.sql();
        on_pool!(self, p => bind_all!(sqlx::query_as::<_, AuditRecord>(&sql.sql), &sql.binds).fetch_all(p).await)
    }

    /// Events with `after` < seq <= `upto`, oldest first, at most `limit` (the chain walk).
    pub async fn audit_events_after(
        &self,
        after: i64,
        upto: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<AuditRecord>> {
        let sql = format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE seq > $1 AND seq <= $2 ORDER BY seq LIMIT $3"
        );
        on_pool!(self, p => sqlx::query_as::<_, AuditRecord>(&sql).bind(after).bind(upto).bind(limit).fetch_all(p).await)
    }

    pub async fn audit_head(&self) -> sqlx::Result<ChainHead> {
        const SQL: &str = "SELECT seq, hash, checkpoint_seq, checkpoint_hash, checkpoint_mac \
                           FROM audit_chain WHERE id = 1";
        on_pool!(self, p => sqlx::query_as::<_, ChainHead>(SQL).fetch_one(p).await)
    }

    /// Deletes the events older than `before` (microseconds), keeping as checkpoint the last
    /// one deleted, signed by `sign(seq, hash)`. One transaction; the number deleted.
    pub async fn prune_audit_events(
        &self,
        before: i64,
        sign: impl Fn(i64, &str) -> String,
    ) -> sqlx::Result<u64> {
        on_pool!(self, p => {
            let mut tx = p.begin().await?;
            sqlx::query("UPDATE audit_chain SET seq = seq WHERE id = 1").execute(&mut *tx).await?;
            let last: Option<(i64, String)> = sqlx::query_as(
                "SELECT seq, hash FROM audit_events WHERE seq = (SELECT MAX(seq) FROM audit_events WHERE at < $1)")
                .bind(before).fetch_optional(&mut *tx).await?;
            let Some((seq, hash)) = last else {
                return Ok(0);
            };
            let deleted = sqlx::query("DELETE FROM audit_events WHERE seq <= $1")
                .bind(seq).execute(&mut *tx).await?.rows_affected();
            sqlx::query("UPDATE audit_chain SET checkpoint_seq = $1, checkpoint_hash = $2, checkpoint_mac = $3 WHERE id = 1")
                .bind(seq).bind(&hash).bind(sign(seq, &hash)).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(deleted)
        })
    }
}
