//! The accept loop: HTTP/1.1 through hyper, with the limits that keep idle or slow clients from
//! holding the server (issue 18: 2 000 silent sockets once made a fresh request wait 35 s,
//! because each held one of the capped slots until the header timeout).
//!
//! - A new connection must send its first byte within `first_byte_timeout`, and a kept-alive
//!   one its next request within `keep_alive_timeout`; hyper's `header_read_timeout` then bounds
//!   the headers themselves (a slow trickle).
//! - At most `max_connections` are held. Near the cap, each new connection closes the one that
//!   has been idle longest (no request in flight, oldest last byte), so silent sockets make
//!   room for real requests instead of queueing them; when every connection is busy, new ones
//!   wait in the listen backlog.
//! - Graceful shutdown on the signal: stop accepting, finish in-flight requests, close idle
//!   connections.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use http_body_util::BodyExt;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tower::ServiceExt;

use crate::metrics::ConnectionGuard;

/// What one client may hold of the server.
pub struct ConnectionLimits {
    /// Time to send a request's headers once they have started.
    pub header_read_timeout: Duration,
    /// Time a new connection has to send its first byte.
    pub first_byte_timeout: Duration,
    /// Time a kept-alive connection may sit idle between requests.
    pub keep_alive_timeout: Duration,
    /// Connections held at once.
    pub max_connections: usize,
    /// How long a shutdown waits for in-flight requests.
    pub drain: Duration,
}

/// Binds with a listen backlog large enough for bursts of connections (tokio's default is 1024).
pub fn bind(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4096)
}

pub async fn serve_connections(
    listener: TcpListener,
    app: axum::Router,
    limits: ConnectionLimits,
    signal: impl std::future::Future<Output = ()>,
) {
    let limits = Arc::new(limits);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Slots kept free for new connections by closing idle ones.
    let headroom = limits.max_connections / 8;
    let registry = Arc::new(Registry::default());
    let graceful = GracefulShutdown::new();
    let mut signal = std::pin::pin!(signal);
    loop {
        if permits.available_permits() <= headroom {
            registry.shed_longest_idle();
        }
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(permit) => permit,
                Err(_) => break, // closed: nothing more can be accepted
            },
            _ = &mut signal => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: make room, wait instead of spinning.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    registry.shed_longest_idle();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut signal => break,
        };
        let _ = stream.set_nodelay(true);
        let (registry, limits, app, watcher) = (
            registry.clone(),
            limits.clone(),
            app.clone(),
            graceful.watcher(),
        );
        tokio::spawn(async move {
            let _open = ConnectionGuard::open();
            let (tracker, _registered) = registry.register();
            serve_one(stream, peer, app, &limits, &tracker, watcher).await;
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => {}
        _ = tokio::time::sleep(limits.drain) => {
            tracing::warn!("shutdown: connections still open after {} s, closing them", limits.drain.as_secs());
        }
    }
}

/// One connection, from its first byte to its close (by the client, a timeout or shedding).
async fn serve_one(
    stream: TcpStream,
    peer: SocketAddr,
    app: axum::Router,
    limits: &ConnectionLimits,
    tracker: &Arc<Tracker>,
    watcher: Watcher,
) {
    let mut probe = [0u8; 1];
    let first_byte = tokio::select! {
        r = tokio::time::timeout(limits.first_byte_timeout, stream.peek(&mut probe)) => {
            matches!(r, Ok(Ok(n)) if n > 0)
        }
        _ = tracker.close.notified() => false,
    };
    if !first_byte {
        return;
    }
    tracker.touch();
    let busy_tracker = tracker.clone();
    let service = tower::service_fn(move |req: axum::http::Request<hyper::body::Incoming>| {
        let busy = Busy::start(busy_tracker.clone());
        let mut req = req.map(Body::new);
        req.extensions_mut().insert(ConnectInfo(peer));
        let app = app.clone();
        async move {
            let response = app.oneshot(req).await?;
            // The connection stays busy until the body is sent (lists stream theirs).
            Ok::<_, Infallible>(response.map(|body| {
                Body::new(body.map_frame(move |frame| {
                    let _ = &busy;
                    frame
                }))
            }))
        }
    });
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .keep_alive(true);
    let io = TrackedIo {
        inner: stream,
        tracker: tracker.clone(),
    };
    let conn = http.serve_connection(
        TokioIo::new(io),
        hyper_util::service::TowerToHyperService::new(service),
    );
    let mut conn = std::pin::pin!(watcher.watch(conn));
    loop {
        // A busy connection is looked at again after a full period (its request ends with a
        // touch); an idle one when its period would run out.
        let wait = if tracker.is_idle() {
            limits.keep_alive_timeout.saturating_sub(tracker.idle_for())
        } else {
            limits.keep_alive_timeout
        };
        tokio::select! {
            result = &mut conn => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection closed");
                }
                return;
            }
            _ = tracker.close.notified() => return,
            _ = tokio::time::sleep(wait.max(Duration::from_millis(10))) => {
                if tracker.is_idle() && tracker.idle_for() >= limits.keep_alive_timeout {
                    return;
                }
            }
        }
    }
}

/// The connections held, for finding the longest-idle one.
#[derive(Default)]
struct Registry {
    next_id: AtomicU64,
    connections: Mutex<HashMap<u64, Arc<Tracker>>>,
}

impl Registry {
    fn register(self: &Arc<Self>) -> (Arc<Tracker>, Registered) {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let tracker = Arc::new(Tracker::new());
        self.lock().insert(id, tracker.clone());
        (
            tracker,
            Registered {
                registry: self.clone(),
                id,
            },
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Tracker>>> {
        self.connections.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Asks the connection idle for longest, if any is idle, to close.
    fn shed_longest_idle(&self) {
        let connections = self.lock();
        let victim = connections
            .values()
            .filter(|t| t.is_idle() && !t.closing.load(Ordering::Relaxed))
            .max_by_key(|t| t.idle_for());
        if let Some(t) = victim {
            t.closing.store(true, Ordering::Relaxed);
            t.close.notify_one();
        }
    }
}

/// Removes a connection from the registry when its task ends.
struct Registered {
    registry: Arc<Registry>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.registry.lock().remove(&self.id);
    }
}

/// What the accept loop knows of one connection.
struct Tracker {
    opened: Instant,
    /// Milliseconds after `opened` of the last byte read or written.
    last_active: AtomicU64,
    /// Requests whose response has not been sent yet.
    in_flight: AtomicUsize,
    closing: AtomicBool,
    close: Notify,
}

impl Tracker {
    fn new() -> Tracker {
        Tracker {
            opened: Instant::now(),
            last_active: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            close: Notify::new(),
        }
    }

    fn touch(&self) {
        let now = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_active.store(now, Ordering::Relaxed);
    }

    fn idle_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_active.load(Ordering::Relaxed));
        self.opened.elapsed().saturating_sub(last)
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
    }
}

/// A request in flight on a connection, until dropped with its response body.
struct Busy(Arc<Tracker>);

impl Busy {
    fn start(tracker: Arc<Tracker>) -> Busy {
        tracker.in_flight.fetch_add(1, Ordering::Relaxed);
        Busy(tracker)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.touch();
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The socket, noting when bytes last moved.
struct TrackedIo {
    inner: TcpStream,
    tracker: Arc<Tracker>,
}

impl AsyncRead for TrackedIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.tracker.touch();
        }
        poll
    }
}

impl AsyncWrite for TrackedIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.tracker.touch();
        }
        poll
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let poll = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            self.tracker.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
