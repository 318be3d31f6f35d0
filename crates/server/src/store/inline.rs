//! SQLite point reads on the calling thread, for authentication.
//!
//! Why: sqlx runs every SQLite connection on a worker thread of its own, so each statement is
//! two thread hand-offs. For the lookup behind every authenticated request (an indexed read of
//! a few microseconds) those hand-offs were most of the cost: 60 of the 95 µs of CPU a token
//! request took on two cores. These reads run here instead, on a few read-only connections to
//! the same file, inline: in WAL mode a reader never waits for a writer, and each statement
//! reads the latest commit, so a deactivation still applies on the next request.
//!
//! Only statements that use an index and return a handful of rows belong here: they run on a
//! runtime thread, which must not be held for long. SQLite says busy only in rare moments (a
//! WAL being recovered or restarted); the connections never wait for it, and then, or when all
//! are in use, or on any error, the caller runs the statement through the pool as before
//! (`None`), which waits or reports the error as every other statement does.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, ToSql};

use crate::filters::Bind;

pub struct InlineReads {
    conns: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl std::fmt::Debug for InlineReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InlineReads")
            .field("connections", &self.conns.len())
            .finish()
    }
}

impl InlineReads {
    /// One connection per CPU (a runtime thread runs one inline read at a time). The database
    /// must exist and be in WAL mode (the pool made it so).
    pub fn open(path: &Path) -> rusqlite::Result<InlineReads> {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        let conns = (0..n)
            .map(|_| {
                let conn = Connection::open_with_flags(
                    path,
                    OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
                )?;
                // Point reads touch a few pages; keep each connection's cache small (256 KiB).
                conn.execute_batch("PRAGMA cache_size = -256; PRAGMA query_only = 1;")?;
                Ok(Mutex::new(conn))
            })
            .collect::<rusqlite::Result<_>>()?;
        Ok(InlineReads {
            conns,
            next: AtomicUsize::new(0),
        })
    }

    /// The rows of `sql` (a cached statement), each through `row`; `None` when no connection
    /// is free or the read failed (the caller then uses the pool).
    pub fn rows<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let conn = (0..self.conns.len())
            .find_map(|i| self.conns[(start + i) % self.conns.len()].try_lock().ok())?;
        let read = || -> rusqlite::Result<Vec<T>> {
            let mut stmt = conn.prepare_cached(sql)?;
            let rows = stmt.query_map(params, row)?;
            rows.collect()
        };
        // Counted by `cvat-bench` beside sqlx's own `sqlx::query` lines (no values logged).
        tracing::debug!(summary = %summary(sql), "inline read");
        match read() {
            Ok(rows) => Some(rows),
            Err(e) => {
                tracing::debug!(error = %e, "inline read failed; using the pool");
                None
            }
        }
    }
}

/// The statement's first words, as sqlx logs them.
fn summary(sql: &str) -> String {
    sql.split_whitespace().take(4).collect::<Vec<_>>().join(" ")
}

/// The store's bound values, as rusqlite binds them.
impl ToSql for Bind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        match self {
            Bind::Int(v) => v.to_sql(),
            Bind::Bool(v) => v.to_sql(),
            Bind::Text(v) => v.to_sql(),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::store::{Db, DbOptions};

    async fn open(url: String) -> Db {
        Db::open(&DbOptions {
            url,
            max_connections: 4,
            connect_timeout: std::time::Duration::from_secs(10),
            statement_timeout: std::time::Duration::from_secs(30),
        })
        .await
        .unwrap()
    }

    fn users(db: &Db) -> Option<i64> {
        db.read_inline("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .map(|n| n[0])
    }

    #[tokio::test]
    async fn reads_see_each_commit_at_once_and_step_aside_when_busy() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(format!("sqlite://{}", dir.path().join("t.db").display())).await;
        let before = users(&db).expect("a file database reads inline");
        let insert = "INSERT INTO users (username, username_folded, password, first_name, \
                      last_name, search_key, is_active, date_joined) \
                      VALUES ('inline', 'inline', '', '', '', 'inline', 1, 0)";
        sqlx::query(insert).execute(&**sqlite(&db)).await.unwrap();
        assert_eq!(users(&db), Some(before + 1));

        // Every connection in use (as by other runtime threads): the caller uses the pool.
        let reads = sqlite(&db).inline_reads().unwrap();
        let busy: Vec<_> = reads.conns.iter().map(|c| c.lock().unwrap()).collect();
        assert_eq!(users(&db), None);
        drop(busy);
        assert_eq!(users(&db), Some(before + 1));

        // A failing statement is not an answer either: the pool runs it and reports the error.
        assert!(db
            .read_inline("SELECT nope FROM users", [], |r| r.get::<_, i64>(0))
            .is_none());
        // The connections are read-only.
        assert!(db
            .read_inline("DELETE FROM users RETURNING id", [], |r| r.get::<_, i64>(0))
            .is_none());
        assert_eq!(users(&db), Some(before + 1));
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_through_the_pool() {
        let db = open("sqlite::memory:".into()).await;
        assert_eq!(users(&db), None);
    }

    fn sqlite(db: &Db) -> &crate::store::Pooled<sqlx::Sqlite> {
        match db {
            Db::Sqlite(d) => d,
            Db::Postgres(_) => unreachable!(),
        }
    }
}
