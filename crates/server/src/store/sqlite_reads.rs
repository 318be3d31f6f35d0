//! SQLite reads without sqlx's worker threads.
//!
//! Why: sqlx runs every SQLite connection on a worker thread of its own, so each statement is
//! two thread hand-offs, and a statement's rows cross to the request one by one. For the lookup
//! behind every authenticated request (an indexed read of a few microseconds) the hand-offs were
//! most of the cost: 60 of the 95 µs of CPU a token request took on two cores. So reads run on
//! read-only connections of their own to the same file (rusqlite, the same SQLite library):
//!
//! - **point reads** (authentication: a row or two through an index) right on the calling
//!   runtime thread, on one of a few connections tried without waiting;
//! - **list reads** (counts, pages) on tokio's blocking threads, one hop there and back,
//!   at most two per CPU at a time and first come, first served, so that a burst of expensive
//!   searches queues in order instead of sharing the CPUs until every one of them is late.
//!
//! In WAL mode a reader never waits for a writer, and each statement reads the latest commit,
//! so a deactivation still applies on the next request. SQLite says busy only in rare moments
//! (a WAL being recovered or restarted); these connections never wait for it. Then, or when a
//! point read finds every connection in use, or on any error, the caller runs the statement
//! through the pool as before (`None`), which waits or reports the error as every other
//! statement does.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rusqlite::types::ToSqlOutput;
use rusqlite::{Connection, OpenFlags, Row, ToSql};
use tokio::sync::Semaphore;

use crate::filters::Bind;

pub struct SqliteReads {
    point: Vec<Mutex<Connection>>,
    next_point: AtomicUsize,
    lists: Arc<ListConnections>,
}

struct ListConnections {
    idle: Mutex<Vec<Connection>>,
    /// One permit per connection; tokio's semaphore serves waiters in order.
    turns: Arc<Semaphore>,
}

impl std::fmt::Debug for SqliteReads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteReads")
            .field("point", &self.point.len())
            .finish()
    }
}

fn open_read_only(path: &Path, cache_kib: u32) -> rusqlite::Result<Connection> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.execute_batch(&format!(
        "PRAGMA cache_size = -{cache_kib}; PRAGMA query_only = 1;"
    ))?;
    Ok(conn)
}

impl SqliteReads {
    /// One point connection per CPU (a runtime thread runs one point read at a time) and two
    /// list connections per CPU (at a million users, `?search=` p99 was lowest with two: one
    /// read can run while another waits to be scheduled; more only share the CPUs). The database
    /// must exist and be in WAL mode (the pool made it so).
    pub fn open(path: &Path) -> rusqlite::Result<SqliteReads> {
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        // Point reads touch a few pages; list reads get SQLite's default cache (2 MiB).
        let point = (0..n)
            .map(|_| open_read_only(path, 256).map(Mutex::new))
            .collect::<rusqlite::Result<_>>()?;
        let lists = (0..2 * n)
            .map(|_| open_read_only(path, 2048))
            .collect::<rusqlite::Result<_>>()?;
        Ok(SqliteReads {
            point,
            next_point: AtomicUsize::new(0),
            lists: Arc::new(ListConnections {
                idle: Mutex::new(lists),
                turns: Arc::new(Semaphore::new(2 * n)),
            }),
        })
    }

    /// The rows of an indexed point read, read right here; `None`: use the pool.
    pub fn point<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        let start = self.next_point.fetch_add(1, Ordering::Relaxed);
        let n = self.point.len();
        let conn = (0..n).find_map(|i| self.point[(start + i) % n].try_lock().ok())?;
        read(&conn, sql, params, row)
    }

    /// The rows of a list read, read on a blocking thread when its turn comes; `None`: use the
    /// pool. A cancelled request's read finishes on its thread and frees its turn after.
    pub async fn list<T: Send + 'static>(
        &self,
        sql: String,
        binds: Vec<Bind>,
        row: fn(&Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        let turn = self.lists.turns.clone().acquire_owned().await.ok()?;
        let lists = self.lists.clone();
        let task = tokio::task::spawn_blocking(move || {
            let conn = lists.idle.lock().ok()?.pop()?;
            let rows = read(&conn, &sql, rusqlite::params_from_iter(&binds), row);
            if let Ok(mut idle) = lists.idle.lock() {
                idle.push(conn);
            }
            drop(turn);
            rows
        });
        task.await.ok().flatten()
    }
}

fn read<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
) -> Option<Vec<T>> {
    // Counted by `cvat-bench` beside sqlx's own `sqlx::query` lines (no values logged).
    tracing::debug!(summary = %summary(sql), "direct read");
    let rows = conn
        .prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_map(params, row)?.collect());
    match rows {
        Ok(rows) => Some(rows),
        Err(e) => {
            tracing::debug!(error = %e, "direct read failed; using the pool");
            None
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
    use crate::filters::{Bind, SqlBuf};
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

    fn point_count(db: &Db) -> Option<i64> {
        db.read_point("SELECT COUNT(*) FROM users", [], |r| r.get(0))
            .map(|n| n[0])
    }

    async fn list_count(db: &Db, sql: &str) -> Option<i64> {
        let sql = SqlBuf {
            sql: sql.into(),
            binds: vec![Bind::Int(0)],
        };
        db.read_list(&sql, |r| r.get(0)).await.map(|n| n[0])
    }

    const COUNT: &str = "SELECT COUNT(*) FROM users WHERE id > $1";

    fn sqlite(db: &Db) -> &super::SqliteReads {
        match db {
            Db::Sqlite(d) => d.direct_reads().expect("a file database reads directly"),
            Db::Postgres(_) => unreachable!(),
        }
    }

    async fn add_user(db: &Db, name: &str) {
        let insert = format!(
            "INSERT INTO users (username, username_folded, password, first_name, last_name, \
             search_key, is_active, date_joined) VALUES ('{name}', '{name}', '', '', '', '{name}', 1, 0)"
        );
        match db {
            Db::Sqlite(p) => sqlx::query(&insert).execute(&**p).await.unwrap(),
            Db::Postgres(_) => unreachable!(),
        };
    }

    #[tokio::test]
    async fn reads_see_each_commit_at_once_and_step_aside_when_busy_or_failing() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(format!("sqlite://{}", dir.path().join("t.db").display())).await;
        let before = point_count(&db).unwrap();
        assert_eq!(list_count(&db, COUNT).await, Some(before));
        add_user(&db, "direct").await;
        assert_eq!(point_count(&db), Some(before + 1));
        assert_eq!(list_count(&db, COUNT).await, Some(before + 1));

        // Every point connection in use (as by other runtime threads): the caller uses the pool.
        let busy: Vec<_> = sqlite(&db)
            .point
            .iter()
            .map(|c| c.lock().unwrap())
            .collect();
        assert_eq!(point_count(&db), None);
        drop(busy);
        assert_eq!(point_count(&db), Some(before + 1));

        // A failing statement is not an answer either: the pool runs it and reports the error.
        assert_eq!(
            list_count(&db, "SELECT nope FROM users WHERE id > $1").await,
            None
        );
        // The connections are read-only.
        let delete = "DELETE FROM users WHERE id > $1 RETURNING id";
        assert_eq!(list_count(&db, delete).await, None);
        assert!(db.read_point(delete, [0], |r| r.get::<_, i64>(0)).is_none());
        assert_eq!(point_count(&db), Some(before + 1));
    }

    #[tokio::test]
    async fn list_reads_take_turns_and_a_cancelled_one_gives_its_turn_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = open(format!("sqlite://{}", dir.path().join("t.db").display())).await;
        let reads = sqlite(&db);
        let turns = reads.lists.turns.available_permits();
        // All turns taken: a read waits (first come, first served) instead of failing.
        let take_all = || reads.lists.turns.clone().acquire_many_owned(turns as u32);
        let taken = take_all().await.unwrap();
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            list_count(&db, COUNT),
        );
        assert!(waiting.await.is_err(), "a read ran without a turn");
        drop(taken);
        assert!(list_count(&db, COUNT).await.is_some());
        // Requests dropped mid-read (a client went away): every turn and connection comes back.
        for _ in 0..3 * turns {
            let read = list_count(&db, "WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000) SELECT COUNT(*) FROM n");
            let _ = tokio::time::timeout(std::time::Duration::from_micros(50), read).await;
        }
        let all = take_all().await.unwrap();
        assert_eq!(reads.lists.idle.lock().unwrap().len(), turns);
        drop(all);
    }

    #[tokio::test]
    async fn an_in_memory_database_reads_through_the_pool() {
        let db = open("sqlite::memory:".into()).await;
        assert_eq!(point_count(&db), None);
        assert_eq!(list_count(&db, COUNT).await, None);
    }
}
