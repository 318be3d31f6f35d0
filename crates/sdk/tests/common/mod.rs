//! Test kit shared by the SDK's and the CLI's tests: starts the real `cvat-server` binary of this
//! workspace on a free loopback port with a fresh SQLite database and an `admin` superuser.
//!
//! The server binary is built once per test process (`cargo build -p cvat-server`, a no-op when
//! it is up to date); set `CVAT_SERVER_BIN` to use another binary instead.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use cvat_sdk::{ApiClient, Configuration, Credentials, RegisterRequest};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd!";
/// A password the server's validators accept for any of our test usernames.
pub const PASSWORD: &str = "Str0ng-Secret-42";

/// `<workspace>`: two levels above this crate.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// The target profile directory this test runs from (`.../target/debug`), found from the test
/// executable (`.../target/debug/deps/<test>`), so `CARGO_TARGET_DIR` is honoured.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let deps = exe.parent().expect("deps dir");
    let dir = if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().unwrap()
    } else {
        deps
    };
    dir.to_path_buf()
}

/// The `cvat-server` binary, built on first use. When the build fails (say the server's sources
/// are half-edited) but an earlier binary exists, that one is used, with a warning.
pub fn server_bin() -> &'static Path {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let bin = BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("CVAT_SERVER_BIN").filter(|b| !b.is_empty()) {
            return Ok(PathBuf::from(bin));
        }
        let profile_dir = profile_dir();
        let target_dir = profile_dir.parent().expect("target dir").to_path_buf();
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") | None => "dev".to_string(),
            Some(other) => other.to_string(),
        };
        let bin = profile_dir.join(format!("cvat-server{}", std::env::consts::EXE_SUFFIX));
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let out = Command::new(cargo)
            .current_dir(workspace_root())
            .args([
                "build",
                "--quiet",
                "-p",
                "cvat-server",
                "--bin",
                "cvat-server",
                "--profile",
                &profile,
            ])
            .env("CARGO_TARGET_DIR", &target_dir)
            .output()
            .map_err(|e| format!("cannot run cargo build -p cvat-server: {e}"))?;
        if !out.status.success() {
            let why = String::from_utf8_lossy(&out.stderr).into_owned();
            if !bin.exists() {
                return Err(format!("cargo build -p cvat-server failed:\n{why}"));
            }
            eprintln!(
                "warning: cargo build -p cvat-server failed; testing the existing {}:\n{why}",
                bin.display()
            );
        }
        if bin.exists() {
            Ok(bin)
        } else {
            Err(format!("no server binary at {}", bin.display()))
        }
    });
    bin.as_deref().unwrap_or_else(|e| panic!("{e}"))
}

/// A running server with its own database; killed on drop.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub host: String,
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestServer {
    /// A fresh database with the `admin` superuser, served on a free port.
    pub fn start() -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = format!("sqlite://{}", dir.path().join("cvat.db").display());
        let mut create = Command::new(server_bin())
            .args([
                "createsuperuser",
                "--username",
                ADMIN,
                "--email",
                "admin@example.com",
                "--password-stdin",
            ])
            .args(["--database-url", &db])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn cvat-server createsuperuser");
        create
            .stdin
            .take()
            .unwrap()
            .write_all(ADMIN_PASSWORD.as_bytes())
            .unwrap();
        assert!(create.wait().unwrap().success(), "createsuperuser failed");

        let log = dir.path().join("server.log");
        let mut child = Command::new(server_bin())
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &db])
            .env("CVAT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn cvat-server serve");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let host = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!(
                    "cvat-server exited before serving:\n{}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            // "cvat-server: serving the CVAT Users API at http://127.0.0.1:PORT/api/users"
            if let Some(url) = line.split(" at ").nth(1) {
                break url.trim().trim_end_matches("/api/users").to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        TestServer {
            host,
            child,
            log,
            _dir: dir,
        }
    }

    /// The server's log so far (for assertion messages).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A client with these credentials.
    pub fn client(&self, credentials: Option<Credentials>) -> ApiClient {
        let mut config = Configuration::new(&self.host);
        config.credentials = credentials;
        ApiClient::new(config).expect("client")
    }

    /// An anonymous client.
    pub fn anonymous(&self) -> ApiClient {
        self.client(None)
    }

    /// The superuser, by Basic authentication.
    pub fn admin(&self) -> ApiClient {
        self.client(Some(Credentials::basic(ADMIN, ADMIN_PASSWORD)))
    }

    /// Registers `username` (password [`PASSWORD`]) from an anonymous client; returns its id.
    pub fn register(&self, username: &str) -> i64 {
        let anon = self.anonymous();
        anon.auth_api()
            .register(&RegisterRequest::new(
                username,
                format!("{username}@example.com"),
                PASSWORD,
            ))
            .unwrap_or_else(|e| panic!("register {username}: {e}"));
        // Registration logged the new user in: the anonymous client now holds its session.
        anon.users_api()
            .users_retrieve_self()
            .expect("self after register")
            .id()
    }

    /// A Basic-auth client for a registered user.
    pub fn user(&self, username: &str) -> ApiClient {
        self.client(Some(Credentials::basic(username, PASSWORD)))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
