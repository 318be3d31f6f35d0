//! SQL storage behind one interface for SQLite and PostgreSQL.
//!
//! Both engines run the same SQL text (`$1..$N` placeholders, ids as BIGINT, timestamps as
//! microseconds); the few dialect differences live in `crate::filters::Dialect` and here.
//! On SQLite the hot reads run that same text through rusqlite instead of sqlx
//! (`sqlite_reads`), falling back to sqlx whenever that cannot answer.
//! No HTTP types in this module.

mod access_tokens;
pub mod audit;
mod auth;
mod bulk;
mod credentials;
mod held;
mod identities;
mod invitations;
#[cfg(test)]
mod list_tests;
mod memberships;
mod mfa;
mod orgs;
mod outbox;
mod scim;
mod sqlite_reads;
mod users;

pub use access_tokens::*;
pub use audit::{AuditQuery, AuditRecord};
pub use auth::*;
pub use bulk::*;
pub use credentials::*;
pub use identities::*;
pub use invitations::*;
pub use memberships::*;
pub use mfa::*;
pub use orgs::*;
pub use outbox::*;
pub use scim::*;
pub use users::*;

pub(crate) use held::on_conn;
pub use held::{Lease, Pooled};

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;

use crate::filters::SqlBuf;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};

pub use crate::filters::Dialect;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Runs `$body` with `$pool` bound to the concrete pool; the body is compiled once per engine.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(d) => {
                let $pool: &sqlx::SqlitePool = d;
                $body
            }
            $crate::store::Db::Postgres(d) => {
                let $pool: &sqlx::PgPool = d;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

/// Binds `crate::filters::Bind` values, in order, to a query of either engine.
macro_rules! bind_all {
    ($query:expr, $binds:expr) => {{
        let mut q = $query;
        for b in $binds {
            q = match b {
                $crate::filters::Bind::Int(v) => q.bind(*v),
                $crate::filters::Bind::Bool(v) => q.bind(*v),
                $crate::filters::Bind::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }};
}
pub(crate) use bind_all;

/// Either engine's pool (which the variants deref to), with a few connections held for the
/// hot reads (see `held`).
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(Pooled<sqlx::Sqlite>),
    Postgres(Pooled<sqlx::Postgres>),
}

#[derive(Clone, Debug)]
pub struct DbOptions {
    pub url: String,
    pub max_connections: u32,
    pub connect_timeout: Duration,
    /// PostgreSQL `statement_timeout`; zero means none.
    pub statement_timeout: Duration,
}

impl Db {
    /// Connects (creating an SQLite file and its folder when missing) and applies migrations.
    pub async fn open(opts: &DbOptions) -> anyhow::Result<Db> {
        let db = if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            let connect =
                PgConnectOptions::from_str(&opts.url).context("invalid PostgreSQL URL")?;
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .test_before_acquire(false)
                .acquire_timeout(opts.connect_timeout)
                .connect_with(connect)
                .await
                .context("cannot connect to PostgreSQL")?;
            Db::Postgres(Pooled::new(pool, opts.max_connections))
        } else {
            let connect = SqliteConnectOptions::from_str(&opts.url)
                .context("invalid SQLite URL")?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // FULL: a write is on disk before it is acknowledged.
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            if let Some(parent) = std::path::Path::new(connect.get_filename()).parent() {
                if !parent.as_os_str().is_empty() {
                    std::fs::create_dir_all(parent)
                        .with_context(|| format!("cannot create {}", parent.display()))?;
                }
            }
            let pool = SqlitePoolOptions::new()
                .max_connections(opts.max_connections)
                .test_before_acquire(false)
                .acquire_timeout(opts.connect_timeout)
                .connect_with(connect)
                .await
                .context("cannot open the SQLite database")?;
            Db::Sqlite(Pooled::new(pool, opts.max_connections))
        };
        db.migrate().await?;
        Ok(match db {
            Db::Sqlite(pooled) => Db::Sqlite(Self::add_direct_reads(pooled).await),
            db => db,
        })
    }

    /// Opened after the migrations (read-only connections need the tables and the WAL mode).
    /// An in-memory database has no file to share, and a failure to open costs only speed.
    async fn add_direct_reads(pooled: Pooled<sqlx::Sqlite>) -> Pooled<sqlx::Sqlite> {
        let file = match sqlx::query_scalar::<_, String>(
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
        )
        .fetch_one(&*pooled)
        .await
        {
            Ok(file) if !file.is_empty() => std::path::PathBuf::from(file),
            _ => return pooled,
        };
        match sqlite_reads::SqliteReads::open(&file) {
            Ok(reads) => pooled.with_direct_reads(reads),
            Err(e) => {
                tracing::warn!(error = %e, "cannot open read connections; every read uses the pool");
                pooled
            }
        }
    }

    /// The rows of an indexed point read, read on the calling thread (SQLite, see
    /// `sqlite_reads`); `None`: run it through the pool.
    pub(crate) fn read_point<T>(
        &self,
        sql: &str,
        params: impl rusqlite::Params,
        row: impl FnMut(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        match self {
            Db::Sqlite(d) => d.direct_reads()?.point(sql, params, row),
            Db::Postgres(_) => None,
        }
    }

    /// The rows of a list read (a count, a page), read on a blocking thread in turn (SQLite,
    /// see `sqlite_reads`); `None`: run it through the pool.
    pub(crate) async fn read_list<T: Send + 'static>(
        &self,
        sql: &SqlBuf,
        row: fn(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<Vec<T>> {
        match self {
            Db::Sqlite(d) => {
                let reads = d.direct_reads()?;
                reads.list(sql.sql.clone(), sql.binds.clone(), row).await
            }
            Db::Postgres(_) => None,
        }
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            // sqlx takes an advisory lock on PostgreSQL, so replicas starting together apply once.
            Db::Postgres(p) => POSTGRES_MIGRATIONS
                .run(&**p)
                .await
                .context("database migration failed"),
            // SQLite has no such lock: a process that loses the race finds the tables already
            // made by the winner (each migration is one transaction) and retries, which then
            // sees them applied.
            Db::Sqlite(p) => {
                let mut attempt = 0;
                loop {
                    match SQLITE_MIGRATIONS.run(&**p).await {
                        Ok(()) => return Ok(()),
                        Err(e) if attempt < 20 => {
                            attempt += 1;
                            tracing::debug!(error = %e, attempt, "migration raced another process; retrying");
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                        }
                        Err(e) => return Err(e).context("database migration failed"),
                    }
                }
            }
        }
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => Dialect::Sqlite,
            Db::Postgres(_) => Dialect::Postgres,
        }
    }

    pub async fn close(&self) {
        match self {
            Db::Sqlite(d) => d.release_held().await,
            Db::Postgres(d) => d.release_held().await,
        }
        on_pool!(self, p => p.close().await)
    }

    pub async fn ping(&self) -> bool {
        on_pool!(self, p => sqlx::query("SELECT 1").execute(p).await.is_ok())
    }
}

/// Now, in the storage unit (microseconds since the epoch, UTC).
pub fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

pub use crate::filters::fold;

/// A statement that starts with `sql`.
pub(crate) fn sql_start(sql: &str) -> SqlBuf {
    let mut buf = SqlBuf::default();
    buf.push(sql);
    buf
}

impl Db {
    /// The count a `SELECT COUNT(*) ...` statement answers.
    pub(crate) async fn count_of(&self, sql: &SqlBuf) -> sqlx::Result<i64> {
        on_pool!(self, p => bind_all!(sqlx::query_scalar::<_, i64>(&sql.sql), &sql.binds).fetch_one(p).await)
    }

    /// One page (`LIMIT limit OFFSET offset`) of the rows `sql` selects in its order,
    /// read as `R` and turned into records.
    pub(crate) async fn page_of<R, T>(
        &self,
        mut sql: SqlBuf,
        offset: i64,
        limit: i64,
    ) -> sqlx::Result<Vec<T>>
    where
        T: From<R>,
        R: Send + Unpin,
        R: for<'r> sqlx::FromRow<'r, sqlx::sqlite::SqliteRow>
            + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
    {
        sql.push(" LIMIT ");
        sql.bind(crate::filters::Bind::Int(limit));
        sql.push(" OFFSET ");
        sql.bind(crate::filters::Bind::Int(offset));
        let rows: Vec<R> = on_pool!(self, p => bind_all!(sqlx::query_as::<_, R>(&sql.sql), &sql.binds).fetch_all(p).await)?;
        Ok(rows.into_iter().map(T::from).collect())
    }
}

/// True when `e` is a unique-constraint violation (both engines).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}
