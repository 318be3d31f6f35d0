//! The benchmark run: fresh database → seed → start the release server → `wrk` per row → one
//! table (and, with `--write`, the same table in BENCHMARKS.md between its markers).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::seed::{self, Fixture};

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Users to seed.
    #[arg(long, default_value_t = 100_000)]
    users: u64,
    /// The release server binary.
    #[arg(long, default_value = "target/release/cvat-server")]
    server: PathBuf,
    /// Where the SQLite file and the server logs go.
    #[arg(long, default_value = "target/bench")]
    dir: PathBuf,
    /// Also run on PostgreSQL: a database URL whose schema `cvat_bench` is dropped and rebuilt.
    #[arg(long)]
    postgres: Option<String>,
    /// Seconds of load per row (after one second of warm-up).
    #[arg(long, default_value_t = 5)]
    duration: u64,
    /// Concurrent connections.
    #[arg(long, default_value_t = 16)]
    connections: u32,
    /// wrk threads.
    #[arg(long, default_value_t = 2)]
    threads: u32,
    /// Write the table into this Markdown file, between `<!-- bench:begin -->` and `<!-- bench:end -->`.
    #[arg(long)]
    write: Option<PathBuf>,
}

/// One row of the table: what is requested, and by whom.
struct Row {
    name: String,
    path: String,
    auth: Option<String>,
    /// The target this row is held to: p99 in milliseconds.
    p99_target_ms: Option<f64>,
}

struct Measured {
    rps: f64,
    p50_us: u64,
    p99_us: u64,
    failures: u64,
    queries: Option<(usize, usize)>,
}

struct EngineReport {
    engine: &'static str,
    rows: Vec<(Row, Measured)>,
    startup_ms: f64,
    peak_rss_kb: u64,
    seed_secs: f64,
    all: Option<String>,
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

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts the server and waits for the first 200 on `/api/server/about`; returns the time
    /// from spawning the process to that answer.
    fn start(
        args: &RunArgs,
        url: &str,
        log: &Path,
        env_log: &str,
    ) -> anyhow::Result<(Server, Duration)> {
        let port = free_port()?;
        let log_file = std::fs::File::create(log)?;
        let started = Instant::now();
        let child = Command::new(&args.server)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", url, "--secret-key", "bench-secret-key"])
            .env("CVAT_LOG", env_log)
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("starting {}", args.server.display()))?;
        let mut server = Server { child, port };
        loop {
            if let Ok(200) = http_get(port, "/api/server/about", None).map(|(s, _)| s) {
                return Ok((server, started.elapsed()));
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("the server exited with {status}; see {}", log.display());
            }
            if started.elapsed() > Duration::from_secs(120) {
                server.stop();
                bail!("the server did not answer within 2 minutes");
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    fn stop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.stop();
        }
    }
}

/// A minimal HTTP/1.1 GET (`Connection: close`): status and body length.
fn http_get(port: u16, path: &str, auth: Option<&str>) -> anyhow::Result<(u16, usize)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let head_end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no HTTP header")?;
    let head = String::from_utf8_lossy(&buf[..head_end]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .context("no status")?;
    Ok((status, buf.len() - head_end - 4))
}

fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
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
    ]
}

fn wrk(args: &RunArgs, lua: &Path, port: u16, row: &Row, secs: u64) -> anyhow::Result<Measured> {
    let mut cmd = Command::new("wrk");
    cmd.args([
        "-t",
        &args.threads.to_string(),
        "-c",
        &args.connections.to_string(),
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
    let (server, _) = Server::start(
        args,
        url,
        &log,
        "warn,sqlx::query=debug,cvat_server::store::sqlite_reads=debug",
    )?;
    let mut counts = Vec::new();
    for row in rows {
        // The first request warms up (a connection may be opened, a cache filled).
        http_get(server.port, &row.path, row.auth.as_deref())?;
        std::thread::sleep(Duration::from_millis(50));
        let before = std::fs::read_to_string(&log)?.len();
        let (status, _) = http_get(server.port, &row.path, row.auth.as_deref())?;
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
    let (mut server, startup) = Server::start(args, url, &log, "warn")?;
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
    })
}

fn ms(us: u64) -> String {
    if us < 10_000 {
        format!("{:.2} ms", us as f64 / 1e3)
    } else {
        format!("{:.1} ms", us as f64 / 1e3)
    }
}

fn machine() -> String {
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']))
        })
        .unwrap_or("unknown CPU")
        .to_string();
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    format!(
        "{cpus} CPUs (`nproc`), {model}, {:.1} GiB RAM",
        mem_kb as f64 / 1024.0 / 1024.0
    )
}

fn render(args: &RunArgs, reports: &[EngineReport]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Machine: {}. {} users, {} connections, {} wrk threads, {} s per row after 1 s of warm-up.\n",
        machine(),
        args.users,
        args.connections,
        args.threads,
        args.duration
    );
    for r in reports {
        let about = r.rows.first().map_or(1.0, |(_, m)| m.rps);
        let _ = writeln!(out, "**{}**\n", r.engine);
        let _ = writeln!(
            out,
            "| request | requests/s | vs about | p50 | p99 | queries (writes) |"
        );
        let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|");
        for (row, m) in &r.rows {
            let q = m
                .queries
                .map_or("?".into(), |(r, w)| format!("{} ({w})", r + w));
            let fail = if m.failures > 0 {
                format!(" ⚠ {} failed", m.failures)
            } else {
                String::new()
            };
            let mark = match row.p99_target_ms {
                Some(t) if m.p99_us as f64 / 1e3 <= t => format!(" ✓ ≤ {t} ms"),
                Some(t) => format!(" ✗ > {t} ms"),
                None => String::new(),
            };
            let _ = writeln!(
                out,
                "| {}{fail} | {:.0} | {:.0} % | {} | {}{mark} | {q} |",
                row.name,
                m.rps,
                100.0 * m.rps / about,
                ms(m.p50_us),
                ms(m.p99_us)
            );
        }
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "- peak RSS of the server (VmHWM) over the whole load: {:.1} MB {}",
            r.peak_rss_kb as f64 / 1024.0,
            if r.peak_rss_kb <= 64 * 1024 {
                "✓ ≤ 64 MB"
            } else {
                "✗ > 64 MB"
            }
        );
        let _ = writeln!(
            out,
            "- process start to the first 200 on `/api/server/about`: {:.0} ms {}",
            r.startup_ms,
            if r.startup_ms <= 200.0 {
                "✓ ≤ 200 ms"
            } else {
                "✗ > 200 ms"
            }
        );
        if let Some(all) = &r.all {
            let _ = writeln!(out, "- {all}");
        }
        let _ = writeln!(out, "- seeding took {:.1} s\n", r.seed_secs);
    }
    out
}

const BEGIN: &str = "<!-- bench:begin -->";
const END: &str = "<!-- bench:end -->";

fn write_between_markers(path: &Path, text: &str) -> anyhow::Result<()> {
    let old = std::fs::read_to_string(path).unwrap_or_default();
    let block = format!("{BEGIN}\n{text}{END}");
    let new = match (old.find(BEGIN), old.find(END)) {
        (Some(b), Some(e)) if b < e => format!("{}{block}{}", &old[..b], &old[e + END.len()..]),
        _ if old.is_empty() => format!("# Benchmarks\n\n{block}\n"),
        _ => format!("{old}\n{block}\n"),
    };
    std::fs::write(path, new)?;
    Ok(())
}
