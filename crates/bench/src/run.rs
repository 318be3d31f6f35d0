//! The benchmark run: fresh database → seed → start the release server → `wrk` per row → one
//! table (and, with `--write`, the same table in BENCHMARKS.md between its markers).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use cvat_testkit::smtp::SmtpReceiver;

use crate::report::{ms, render, write_between_markers};
use crate::seed::{self, Fixture};
use crate::server::{base64, http_get, http_request, percent_encode, Server};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Users to seed.
    #[arg(long, default_value_t = 100_000)]
    pub(crate) users: u64,
    /// The release server binary.
    #[arg(long, default_value = "target/release/cvat-server")]
    pub(crate) server: PathBuf,
    /// Where the SQLite file and the server logs go.
    #[arg(long, default_value = "target/bench")]
    pub(crate) dir: PathBuf,
    /// Also run on PostgreSQL: a database URL whose schema `cvat_bench` is dropped and rebuilt.
    #[arg(long)]
    pub(crate) postgres: Option<String>,
    /// Seconds of load per row (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    pub(crate) duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    pub(crate) connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    pub(crate) threads: u32,
    /// Write the table into this Markdown file, between `<!-- bench:begin -->` and `<!-- bench:end -->`.
    #[arg(long)]
    pub(crate) write: Option<PathBuf>,
}

/// One row of the table: what is requested, and by whom.
pub(crate) struct Row {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) auth: Option<String>,
    /// The target this row is held to: p99 in milliseconds.
    pub(crate) p99_target_ms: Option<f64>,
    /// A JSON body: the row POSTs it instead of a GET.
    pub(crate) body: Option<String>,
    /// Connections for this row, when not `--connections`.
    pub(crate) connections: Option<u32>,
}

pub(crate) struct Measured {
    pub(crate) rps: f64,
    pub(crate) p50_us: u64,
    pub(crate) p99_us: u64,
    pub(crate) failures: u64,
    pub(crate) queries: Option<(usize, usize)>,
}

pub(crate) struct EngineReport {
    pub(crate) engine: &'static str,
    pub(crate) rows: Vec<(Row, Measured)>,
    pub(crate) startup_ms: f64,
    pub(crate) peak_rss_kb: u64,
    pub(crate) seed_secs: f64,
    pub(crate) all: Option<String>,
    /// The login with step two (`mfa_login`).
    pub(crate) mfa_login: Option<String>,
}

const LUA: &str = r#"
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("CVAT-BENCH %d %d %d %d %d %d\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status, e.connect + e.read + e.write + e.timeout))
end
"#;

pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.server.exists(),
        "{} not found: build it with `cargo build --release -p cvat-server`",
        args.server.display()
    );
    which("wrk").context("wrk is not installed (scripts/bench installs it)")?;
    std::fs::create_dir_all(&args.dir)?;
    let lua = args.dir.join("report.lua");
    std::fs::write(&lua, LUA)?;

    let mut reports = Vec::new();
    let sqlite = args.dir.join(format!("bench-{}.db", args.users));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", sqlite.display()));
    }
    let url = format!("sqlite://{}", sqlite.display());
    reports.push(run_engine(&args, "SQLite", &url, &lua).await?);
    if let Some(pg) = &args.postgres {
        let url = fresh_pg_schema(pg)?;
        reports.push(run_engine(&args, "PostgreSQL", &url, &lua).await?);
    }

    let text = render(&args, &reports);
    print!("{text}");
    if let Some(path) = &args.write {
        write_between_markers(path, &text)?;
        eprintln!("cvat-bench: wrote the table into {}", path.display());
    }
    Ok(())
}

fn which(program: &str) -> anyhow::Result<()> {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()?
        .success();
    anyhow::ensure!(ok, "{program} not found");
    Ok(())
}

/// A fresh schema `cvat_bench` in the given database; the URL selects it.
fn fresh_pg_schema(base: &str) -> anyhow::Result<String> {
    let status = Command::new("psql")
        .env("PGOPTIONS", "--client-min-messages=warning")
        .args([
            base,
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            "DROP SCHEMA IF EXISTS cvat_bench CASCADE",
            "-c",
            "CREATE SCHEMA cvat_bench",
        ])
        .status()
        .context("running psql")?;
    anyhow::ensure!(status.success(), "cannot reset schema cvat_bench in {base}");
    let sep = if base.contains('?') { '&' } else { '?' };
    Ok(format!("{base}{sep}options=-csearch_path%3Dcvat_bench"))
}

/// The search term and filter: a last-name fragment and an exact last name, both common.
const SEARCH: &str = "kowal";
const FILTER_LAST_NAME: &str = "Nowak";

fn rows(f: &Fixture) -> Vec<Row> {
    let admin = format!("Token {}", f.admin_token);
    let filter = format!(r#"{{"==":[{{"var":"last_name"}},"{FILTER_LAST_NAME}"]}}"#);
    let row = |name: &str, path: String, auth: Option<&String>, p99: Option<f64>| Row {
        name: name.to_string(),
        path,
        auth: auth.cloned(),
        p99_target_ms: p99,
        body: None,
        connections: None,
    };
    vec![
        row(
            "`/api/server/about` (no auth, no database)",
            "/api/server/about".into(),
            None,
            None,
        ),
        row(
            "`/api/users/self` (token)",
            "/api/users/self".into(),
            Some(&format!("Token {}", f.user_token)),
            None,
        ),
        row(
            "`/api/users?page_size=10` (admin)",
            "/api/users?page_size=10".into(),
            Some(&admin),
            Some(25.0),
        ),
        row(
            "`/api/users?page_size=100` (admin)",
            "/api/users?page_size=100".into(),
            Some(&admin),
            Some(25.0),
        ),
        row(
            &format!("`?search={SEARCH}`"),
            format!("/api/users?search={SEARCH}"),
            Some(&admin),
            Some(50.0),
        ),
        row(
            &format!("`?filter={filter}`"),
            format!("/api/users?filter={}", percent_encode(&filter)),
            Some(&admin),
            Some(25.0),
        ),
        row(
            "`?sort=username`",
            "/api/users?sort=username".into(),
            Some(&admin),
            Some(25.0),
        ),
        row(
            &format!("`?org={}` ({} members)", f.org_slug, "~0.1 % of users"),
            format!("/api/users?org={}", f.org_slug),
            Some(&admin),
            Some(25.0),
        ),
        row(
            "`/api/users/self` (Basic, imported `pbkdf2_sha256$260000` hash)",
            "/api/users/self".into(),
            Some(&format!(
                "Basic {}",
                base64(format!("{}:{}", f.basic_login, f.basic_password).as_bytes())
            )),
            None,
        ),
        // Each request queues a mail; the mail server takes 2 s per message, and none of it may
        // show here (sending is the outbox worker's job). One client at a time: the latency of
        // one reset, not the queue of 16 writers waiting for SQLite's single write lock.
        Row {
            body: Some(format!(r#"{{"email":"{}"}}"#, f.reset_email)),
            connections: Some(1),
            ..row(
                "`POST /api/auth/password/reset`, 1 connection (SMTP server taking 2 s a mail)",
                "/api/auth/password/reset".into(),
                None,
                Some(5.0),
            )
        },
    ]
}

fn wrk(args: &RunArgs, lua: &Path, port: u16, row: &Row, secs: u64) -> anyhow::Result<Measured> {
    // A POST row: the same report, with the method, body and content type set.
    let post_lua;
    let lua = match &row.body {
        None => lua,
        Some(body) => {
            post_lua = lua.with_file_name("post.lua");
            let script = format!(
                "wrk.method = \"POST\"\nwrk.body = [[{body}]]\nwrk.headers[\"Content-Type\"] = \"application/json\"\n{LUA}"
            );
            std::fs::write(&post_lua, script)?;
            &post_lua
        }
    };
    let connections = row.connections.unwrap_or(args.connections);
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &args.threads.min(connections).to_string(),
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{secs}s"),
        "--timeout",
        "10s",
        "-s",
    ])
    .arg(lua);
    if let Some(a) = &row.auth {
        cmd.args(["-H", &format!("Authorization: {a}")]);
    }
    cmd.arg(format!("http://127.0.0.1:{port}{}", row.path));
    let out = cmd.output().context("running wrk")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix("CVAT-BENCH "))
        .with_context(|| {
            format!(
                "no result from wrk: {stdout}{}",
                String::from_utf8_lossy(&out.stderr)
            )
        })?;
    let n: Vec<u64> = line
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    anyhow::ensure!(n.len() == 6, "unexpected wrk result {line}");
    Ok(Measured {
        rps: n[0] as f64 / (n[1] as f64 / 1e6),
        p50_us: n[2],
        p99_us: n[3],
        failures: n[4] + n[5],
        queries: None,
    })
}

/// Statements the server runs for one request of each row (reads, writes), counted from the
/// statement logs of a second server: sqlx's (`sqlx::query=debug`) and the SQLite reads that
/// bypass sqlx (`cvat_server::store::sqlite_reads=debug`).
fn count_queries(args: &RunArgs, url: &str, rows: &[Row]) -> anyhow::Result<Vec<(usize, usize)>> {
    let log = args.dir.join("queries.log");
    let mail = slow_mail_server();
    let (server, _) = Server::start(
        args,
        url,
        &log,
        "warn,sqlx::query=debug,cvat_server::store::sqlite_reads=debug",
        &server_args(&mail),
    )?;
    let mut counts = Vec::new();
    for row in rows {
        // The first request warms up (a connection may be opened, a cache filled).
        let send = || {
            http_request(
                server.port,
                &row.path,
                row.auth.as_deref(),
                row.body.as_deref(),
            )
        };
        send()?;
        std::thread::sleep(Duration::from_millis(50));
        let before = std::fs::read_to_string(&log)?.len();
        let (status, _) = send()?;
        anyhow::ensure!(status == 200, "{} answered {status}", row.path);
        std::thread::sleep(Duration::from_millis(50));
        let text = std::fs::read_to_string(&log)?;
        let (mut reads, mut writes) = (0, 0);
        let statements = text[before..]
            .lines()
            .filter(|l| l.contains("sqlx::query") || l.contains("direct read summary="));
        for line in statements {
            let summary = line
                .split("summary=\"")
                .nth(1)
                .unwrap_or("")
                .trim_start()
                .to_ascii_uppercase();
            if ["INSERT", "UPDATE", "DELETE"]
                .iter()
                .any(|w| summary.starts_with(w))
            {
                writes += 1;
            } else {
                reads += 1;
            }
        }
        counts.push((reads, writes));
    }
    drop(server);
    Ok(counts)
}

/// A real SMTP server on loopback that takes 2 s to accept each message.
fn slow_mail_server() -> SmtpReceiver {
    let mail = SmtpReceiver::start();
    mail.slow_down(Duration::from_secs(2));
    mail
}

/// Mail goes to the slow server; throttling is off, so the reset row measures the request's
/// path rather than 429s (one client asks for the same address thousands of times).
fn server_args(mail: &SmtpReceiver) -> Vec<String> {
    [
        "--smtp-url",
        &mail.url(),
        "--mail-from",
        "bench@example.com",
        "--login-failures-per-account",
        "0",
        "--login-failures-per-address",
        "0",
        // Every row runs with the second-factor policy on (covering every user, within its
        // grace period): it must cost token requests nothing.
        "--mfa-enforce",
        "all",
        "--mfa-grace-period-hours",
        "8760",
    ]
    .map(String::from)
    .to_vec()
}

async fn run_engine(
    args: &RunArgs,
    engine: &'static str,
    url: &str,
    lua: &Path,
) -> anyhow::Result<EngineReport> {
    eprintln!("cvat-bench: {engine}: seeding {} users", args.users);
    let started = Instant::now();
    let fixture = seed::seed(url, args.users, crate::default_orgs(args.users)).await?;
    let seed_secs = started.elapsed().as_secs_f64();
    let rows = rows(&fixture);

    let log = args
        .dir
        .join(format!("server-{}.log", engine.to_lowercase()));
    let mail = slow_mail_server();
    let (mut server, startup) = Server::start(args, url, &log, "warn", &server_args(&mail))?;
    eprintln!(
        "cvat-bench: {engine}: first 200 after {:.1} ms",
        startup.as_secs_f64() * 1e3
    );
    let mut measured = Vec::new();
    for row in &rows {
        wrk(args, lua, server.port, row, 1)?; // warm-up
        let m = wrk(args, lua, server.port, row, args.duration)?;
        eprintln!(
            "cvat-bench: {engine}: {:<60} {:>9.0} req/s  p50 {:>7}  p99 {:>7}",
            row.name,
            m.rps,
            ms(m.p50_us),
            ms(m.p99_us)
        );
        measured.push(m);
    }
    let peak_rss_kb = server.peak_rss_kb();
    // One `page_size=all` request after the table: the whole list, streamed.
    let all = {
        let t = Instant::now();
        let auth = rows[2].auth.clone();
        let (status, bytes) = http_get(server.port, "/api/users?page_size=all", auth.as_deref())?;
        let secs = t.elapsed().as_secs_f64();
        let rss = server.peak_rss_kb();
        (status == 200).then(|| {
            format!(
                "one `page_size=all` request after the load: {:.1} MB in {:.2} s; peak RSS after it {:.1} MB",
                bytes as f64 / 1e6,
                secs,
                rss as f64 / 1024.0
            )
        })
    };
    let port = server.port;
    let mfa_login = tokio::task::spawn_blocking(move || crate::mfa_login::measure(port, 100))
        .await?
        .map_err(|e| eprintln!("cvat-bench: {engine}: login with step two: {e:#}"))
        .ok();
    server.stop();

    let queries = count_queries(args, url, &rows)?;
    for (m, q) in measured.iter_mut().zip(queries) {
        m.queries = Some(q);
    }
    Ok(EngineReport {
        engine,
        rows: rows.into_iter().zip(measured).collect(),
        startup_ms: startup.as_secs_f64() * 1e3,
        peak_rss_kb,
        seed_secs,
        all,
        mfa_login,
    })
}
