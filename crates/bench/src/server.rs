//! The server under test: a release `cvat-server` child process on a free loopback port, and
//! the minimal HTTP client that checks it (no client crate: one GET with `Connection: close`).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

use crate::run::RunArgs;

pub(crate) fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
}

impl Server {
    /// Starts the server and waits for the first 200 on `/api/server/about`; returns the time
    /// from spawning the process to that answer.
    pub(crate) fn start(
        args: &RunArgs,
        url: &str,
        log: &Path,
        env_log: &str,
        extra_args: &[String],
    ) -> anyhow::Result<(Server, Duration)> {
        let port = free_port()?;
        let log_file = std::fs::File::create(log)?;
        let started = Instant::now();
        let child = Command::new(&args.server)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--database-url", url, "--secret-key", "bench-secret-key"])
            .args(extra_args)
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

    pub(crate) fn peak_rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    }

    pub(crate) fn stop(&mut self) {
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
pub(crate) fn http_get(port: u16, path: &str, auth: Option<&str>) -> anyhow::Result<(u16, usize)> {
    http_request(port, path, auth, None)
}

/// A GET, or a POST of `json` when it is given (`Connection: close`): status and body length.
pub(crate) fn http_request(
    port: u16,
    path: &str,
    auth: Option<&str>,
    json: Option<&str>,
) -> anyhow::Result<(u16, usize)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    let method = if json.is_some() { "POST" } else { "GET" };
    let mut req =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n");
    if let Some(a) = auth {
        req.push_str(&format!("Authorization: {a}\r\n"));
    }
    if let Some(body) = json {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(json.unwrap_or(""));
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

pub(crate) fn base64(input: &[u8]) -> String {
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

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
