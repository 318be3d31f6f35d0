//! A pool with a few of its connections kept checked out for the hot single-statement reads
//! (authentication, list pages; on SQLite those whenever `sqlite_reads` cannot answer).
//!
//! Why: every statement run on a sqlx pool costs an extra round trip to the database — on
//! release, sqlx pings the connection before putting it back (on SQLite a hop to the
//! connection's worker thread and back, on PostgreSQL a network round trip). A held connection
//! runs just the statement. When every held connection is busy, a request borrows one from the
//! pool as before. A held connection whose statement failed, or was cancelled half-way, goes
//! back to the pool, which checks it as usual.

use std::ops::Deref;
use std::sync::Arc;

use sqlx::pool::PoolConnection;

use super::sqlite_reads::SqliteReads;
use sqlx::{Database, Pool};
use tokio::sync::{Mutex, MutexGuard, Semaphore, SemaphorePermit};

type Slot<DB> = Mutex<Option<PoolConnection<DB>>>;

pub struct Pooled<DB: Database> {
    pool: Pool<DB>,
    held: Arc<Slots<DB>>,
    /// Leases are granted first come, first served (see `lease`).
    turns: Arc<Semaphore>,
    /// SQLite only: connections for reads without sqlx's worker threads (see `sqlite_reads`).
    direct: Option<Arc<SqliteReads>>,
}

pub struct Slots<DB: Database>(Vec<Slot<DB>>);

impl<DB: Database> Deref for Slots<DB> {
    type Target = Vec<Slot<DB>>;
    fn deref(&self) -> &Vec<Slot<DB>> {
        &self.0
    }
}

/// A pool connection returns to its pool from a spawned task, which needs a runtime: when the
/// last handle goes away outside one (a test's `Db` outliving its runtime), the held
/// connections are detached from the pool and closed instead.
impl<DB: Database> Drop for Slots<DB> {
    fn drop(&mut self) {
        if tokio::runtime::Handle::try_current().is_err() {
            for slot in &mut self.0 {
                if let Some(conn) = slot.get_mut().take() {
                    drop(conn.detach());
                }
            }
        }
    }
}

impl<DB: Database> Clone for Pooled<DB> {
    fn clone(&self) -> Self {
        Pooled {
            pool: self.pool.clone(),
            held: self.held.clone(),
            turns: self.turns.clone(),
            direct: self.direct.clone(),
        }
    }
}

impl<DB: Database> std::fmt::Debug for Pooled<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("pool", &self.pool)
            .field("held", &self.held.len())
            .finish()
    }
}

/// Everything else uses the pool itself.
impl<DB: Database> Deref for Pooled<DB> {
    type Target = Pool<DB>;
    fn deref(&self) -> &Pool<DB> {
        &self.pool
    }
}

impl<DB: Database> Pooled<DB> {
    /// Holds up to half of the pool's connections (none when the pool has one connection, so
    /// that writes never wait for a held reader).
    pub fn new(pool: Pool<DB>, max_connections: u32) -> Self {
        let held = (max_connections / 2) as usize;
        Pooled {
            pool,
            held: Arc::new(Slots((0..held).map(|_| Mutex::new(None)).collect())),
            turns: Arc::new(Semaphore::new(max_connections.max(1) as usize)),
            direct: None,
        }
    }

    pub fn with_direct_reads(mut self, reads: SqliteReads) -> Self {
        self.direct = Some(Arc::new(reads));
        self
    }

    pub fn direct_reads(&self) -> Option<&SqliteReads> {
        self.direct.as_deref()
    }

    /// A connection for one or a few statements: a free held one, else one from the pool.
    ///
    /// First come, first served: a request that finds a held connection free must not overtake
    /// the ones already waiting for the pool, or under load a few unlucky requests wait many
    /// turns (at a million users, `?search=` p99 went from 46 ms to 34 ms with this gate).
    pub async fn lease(&self) -> sqlx::Result<Lease<'_, DB>> {
        // Closed only when the store shuts down.
        let turn = self
            .turns
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        for slot in self.held.iter() {
            let Ok(mut guard) = slot.try_lock() else {
                continue;
            };
            if guard.is_none() {
                match self.pool.try_acquire() {
                    Some(conn) => *guard = Some(conn),
                    None => break,
                }
            }
            return Ok(Lease::Held {
                guard,
                finished: false,
                _turn: turn,
            });
        }
        Ok(Lease::Pooled(self.pool.acquire().await?, turn))
    }

    /// Returns the held connections to the pool (before closing it: closing waits for them).
    pub async fn release_held(&self) {
        for slot in self.held.iter() {
            slot.lock().await.take();
        }
    }
}

pub enum Lease<'a, DB: Database> {
    Held {
        guard: MutexGuard<'a, Option<PoolConnection<DB>>>,
        finished: bool,
        _turn: SemaphorePermit<'a>,
    },
    Pooled(PoolConnection<DB>, SemaphorePermit<'a>),
}

impl<DB: Database> Lease<'_, DB> {
    /// `lease` fills a held slot before handing it out, so the error is never seen.
    pub fn conn(&mut self) -> sqlx::Result<&mut DB::Connection> {
        match self {
            Lease::Held { guard, .. } => guard.as_deref_mut().ok_or(sqlx::Error::PoolClosed),
            Lease::Pooled(conn, _) => Ok(conn),
        }
    }

    /// Keeps a held connection for the next statement if `result` is a success.
    pub fn finish<T>(mut self, result: &sqlx::Result<T>) {
        if let Lease::Held { finished, .. } = &mut self {
            *finished = result.is_ok();
        }
    }
}

impl<DB: Database> Drop for Lease<'_, DB> {
    fn drop(&mut self) {
        if let Lease::Held {
            guard,
            finished: false,
            ..
        } = self
        {
            // Failed or cancelled mid-statement: let the pool check (or close) it.
            guard.take();
        }
    }
}

/// Runs `$body` (a `sqlx::Result`) with `$conn: &mut <engine>Connection` from a lease.
macro_rules! on_conn {
    ($db:expr, $conn:ident => $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(d) => $crate::store::held::leased!(d, $conn => $body),
            $crate::store::Db::Postgres(d) => $crate::store::held::leased!(d, $conn => $body),
        }
    };
}
pub(crate) use on_conn;

/// One engine's arm of `on_conn!`.
macro_rules! leased {
    ($d:expr, $conn:ident => $body:expr) => {{
        let mut lease = $d.lease().await?;
        let result = match lease.conn() {
            Ok($conn) => $body,
            Err(e) => Err(e.into()),
        };
        lease.finish(&result);
        result
    }};
}
pub(crate) use leased;
