//! The Prometheus recorder and what the server counts, below every layer that counts (the
//! `http` layer's requests and connections, `auth`'s failed logins and locks), so none of them
//! imports another for it.
//!
//! Metrics go through the `metrics` facade, whose macros do nothing until a recorder is
//! installed: with `--metrics` off nothing is recorded and `/metrics` is not routed (404).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `cvat_http_requests_total` | counter | `method`, `route` (the route template, e.g. `/api/users/{id}`, or `unmatched`), `status` |
//! | `cvat_http_request_duration_seconds` | histogram | `method`, `route` |
//! | `cvat_http_requests_in_flight` | gauge | |
//! | `cvat_http_connections` | gauge | open client connections |
//! | `cvat_db_pool_connections`, `cvat_db_pool_idle_connections`, `cvat_db_pool_max_connections` | gauge | |
//! | `cvat_failed_logins_total` | counter | failed password checks (login endpoint and Basic) |
//! | `cvat_login_lockouts_total` | counter | password checks refused because of a lock (429) |

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

const REQUESTS: &str = "cvat_http_requests_total";
const DURATION: &str = "cvat_http_request_duration_seconds";
const IN_FLIGHT: &str = "cvat_http_requests_in_flight";
const CONNECTIONS: &str = "cvat_http_connections";
const POOL_SIZE: &str = "cvat_db_pool_connections";
const POOL_IDLE: &str = "cvat_db_pool_idle_connections";
const POOL_MAX: &str = "cvat_db_pool_max_connections";
const FAILED_LOGINS: &str = "cvat_failed_logins_total";
const LOCKOUTS: &str = "cvat_login_lockouts_total";

/// Latency buckets, seconds.
const BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The installed Prometheus recorder.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the process-wide recorder; later calls share the first one.
    pub fn install() -> anyhow::Result<Metrics> {
        static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
        let installed = HANDLE.get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Full(DURATION.into()), &BUCKETS)
                .map_err(|e| e.to_string())?
                .build_recorder();
            let handle = recorder.handle();
            ::metrics::set_global_recorder(recorder).map_err(|e| e.to_string())?;
            describe();
            Ok(handle)
        });
        match installed {
            Ok(handle) => Ok(Metrics {
                handle: handle.clone(),
            }),
            Err(e) => anyhow::bail!("cannot install the metrics recorder: {e}"),
        }
    }

    /// Drains histogram samples into their buckets now and then (the exporter's own listener
    /// would do it; we render through our router).
    pub async fn upkeep(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            self.handle.run_upkeep();
        }
    }
}

fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
    describe_counter!(
        REQUESTS,
        "HTTP requests answered, by method, route template and status."
    );
    describe_histogram!(
        DURATION,
        Unit::Seconds,
        "Time from a request's headers to its response head."
    );
    describe_gauge!(IN_FLIGHT, "Requests being handled.");
    describe_gauge!(CONNECTIONS, "Open client connections.");
    describe_gauge!(POOL_SIZE, "Database connections open in the pool.");
    describe_gauge!(POOL_IDLE, "Idle database connections in the pool.");
    describe_gauge!(POOL_MAX, "Largest size the database pool may reach.");
    describe_counter!(
        FAILED_LOGINS,
        "Failed password checks (login endpoint and Basic authentication)."
    );
    describe_counter!(
        LOCKOUTS,
        "Password checks refused because the account or address is locked."
    );
}

impl Metrics {
    /// The Prometheus text of every metric, with the database pool's gauges as given.
    pub fn render(&self, pool_size: u32, pool_idle: usize, pool_max: u32) -> String {
        ::metrics::gauge!(POOL_SIZE).set(f64::from(pool_size));
        ::metrics::gauge!(POOL_IDLE).set(pool_idle as f64);
        ::metrics::gauge!(POOL_MAX).set(f64::from(pool_max));
        self.handle.render()
    }
}

/// A request is being handled (until [`request_ended`]).
pub fn request_started() {
    ::metrics::gauge!(IN_FLIGHT).increment(1.0);
}

pub fn request_ended() {
    ::metrics::gauge!(IN_FLIGHT).decrement(1.0);
}

/// A request answered: its count and latency by method, route template and status.
pub fn request_answered(method: &'static str, route: String, status: u16, latency: Duration) {
    ::metrics::counter!(REQUESTS, "method" => method, "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    ::metrics::histogram!(DURATION, "method" => method, "route" => route).record(latency);
}

/// A failed password check (called where failures are recorded).
pub fn failed_login() {
    ::metrics::counter!(FAILED_LOGINS).increment(1);
}

/// A password check refused because of a lock.
pub fn login_locked() {
    ::metrics::counter!(LOCKOUTS).increment(1);
}

/// Counts an open client connection until dropped.
pub struct ConnectionGuard;

impl ConnectionGuard {
    pub fn open() -> ConnectionGuard {
        ::metrics::gauge!(CONNECTIONS).increment(1.0);
        ConnectionGuard
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        ::metrics::gauge!(CONNECTIONS).decrement(1.0);
    }
}
