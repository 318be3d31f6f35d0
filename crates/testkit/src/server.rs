//! A real `cvat-server` process on a fresh database.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::Client;

use crate::{server_bin, ADMIN, ADMIN_PASSWORD};

/// The database for a new server: a fresh SQLite file, or a fresh PostgreSQL schema when
/// `CVAT_TEST_POSTGRES` names a server (e.g. `postgres://127.0.0.1:5432/test`).
pub struct TestDb {
    pub url: String,
    /// The SQLite file's folder; also the server's working folder, so that what it writes
    /// relative to it (mail files on PostgreSQL, `./cvat-data/mail`) stays out of the tree.
    dir: tempfile::TempDir,
}

impl Default for TestDb {
    fn default() -> Self {
        Self::new()
    }
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match std::env::var("CVAT_TEST_POSTGRES") {
            Ok(base) if !base.is_empty() => postgres_schema(&base),
            _ => format!("sqlite://{}", dir.path().join("cvat.db").display()),
        };
        TestDb { url, dir }
    }

    /// A handle on a database another `TestDb` owns (for replicas of one server).
    pub fn shared(url: &str) -> TestDb {
        TestDb {
            url: url.to_string(),
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
}

fn postgres_schema(base: &str) -> String {
    let schema = format!("t{}_{}", std::process::id(), rand_suffix());
    let status = Command::new("psql")
        .args([base, "-q", "-c", &format!("CREATE SCHEMA {schema}")])
        .status()
        .expect("psql");
    assert!(status.success(), "cannot create schema {schema}");
    let sep = if base.contains('?') { '&' } else { '?' };
    format!("{base}{sep}options=-csearch_path%3D{schema}")
}

/// A suffix no other call in any test process returns.
pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{:x}{}", nanos, N.fetch_add(1, Ordering::Relaxed))
}

/// A running server with its own database; killed on drop.
pub struct TestServer {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub db: TestDb,
    child: Child,
    pub log: PathBuf,
    pub(crate) client: Client,
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// Starts a server with extra `serve` flags, after creating the `admin` superuser.
    pub fn start_with(extra: &[&str]) -> TestServer {
        let db = TestDb::new();
        let mut create = Command::new(server_bin())
            .args(["createsuperuser", "--username", ADMIN])
            .args(["--email", "admin@example.com", "--password-stdin"])
            .args(["--database-url", &db.url])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("spawn createsuperuser");
        create
            .stdin
            .take()
            .unwrap()
            .write_all(ADMIN_PASSWORD.as_bytes())
            .unwrap();
        assert!(create.wait().unwrap().success(), "createsuperuser failed");
        Self::serve(db, extra)
    }

    /// Starts a server on an existing database.
    pub fn serve(db: TestDb, extra: &[&str]) -> TestServer {
        let log = std::env::temp_dir().join(format!("cvat-test-{}.log", rand_suffix()));
        let mut child = Command::new(server_bin())
            .args(["serve", "--bind", "127.0.0.1:0", "--database-url", &db.url])
            .args(extra)
            .current_dir(db.dir.path())
            .env("CVAT_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn cvat-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // "cvat-server: serving the CVAT Users API at http://127.0.0.1:PORT/api/users"
        let base = loop {
            let Some(Ok(line)) = lines.next() else {
                let _ = child.kill();
                panic!(
                    "server exited: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                );
            };
            if let Some(rest) = line.split("at http://").nth(1) {
                break format!("http://{}", rest.trim().trim_end_matches("/api/users"));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        let client = Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        TestServer {
            base,
            db,
            child,
            log,
            client,
        }
    }

    /// Another server process on the same database as `self` (a replica).
    pub fn replica(&self, extra: &[&str]) -> TestServer {
        TestServer::serve(TestDb::shared(&self.db.url), extra)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The server's log so far (for assertion messages).
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the process to exit.
    fn sigterm(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().unwrap()
    }

    /// Stops the server with SIGTERM and returns its exit status code.
    pub fn terminate(mut self) -> Option<i32> {
        self.sigterm().code()
    }

    /// Stops the server (SIGTERM, waits for it to exit) and hands back its database, e.g. to
    /// `TestServer::serve` it again and check what survives a restart.
    pub fn stop(mut self) -> TestDb {
        self.sigterm();
        std::mem::replace(&mut self.db, TestDb::shared(""))
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}
