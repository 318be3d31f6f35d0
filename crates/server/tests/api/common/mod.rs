//! Test kit: starts the real `cvat-server` binary on a free loopback port with a fresh
//! database, and talks HTTP to it.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder};
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const ADMIN: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Adm1n-Passw0rd!";
/// A password Django's validators accept for any of our test usernames.
pub const PASSWORD: &str = "Str0ng-Secret-42";

pub fn server_bin() -> &'static str {
    env!("CARGO_BIN_EXE_cvat-server")
}

/// The database for a new server: a fresh SQLite file, or a fresh PostgreSQL schema when
/// `CVAT_TEST_POSTGRES` names a server (e.g. `postgres://127.0.0.1:5432/test`).
pub struct TestDb {
    pub url: String,
    _dir: tempfile::TempDir,
}

impl TestDb {
    pub fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = match std::env::var("CVAT_TEST_POSTGRES") {
            Ok(base) if !base.is_empty() => postgres_schema(&base),
            _ => format!("sqlite://{}", dir.path().join("cvat.db").display()),
        };
        TestDb { url, _dir: dir }
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

pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{:x}{}", nanos, N.fetch_add(1, Ordering::Relaxed))
}

pub struct TestServer {
    pub base: String,
    pub db: TestDb,
    child: Child,
    pub log: std::path::PathBuf,
    client: Client,
}

pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
    }
    /// All `Set-Cookie` values.
    pub fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies().iter().find_map(|c| {
            let (k, rest) = c.split_once('=')?;
            (k == name).then(|| rest.split(';').next().unwrap().to_string())
        })
    }
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }
}

/// Credentials for a request.
#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Token(String),
    Basic(String, String),
    /// sessionid, csrftoken (sent as cookies; the CSRF header is added by `with_csrf`)
    Session(String, String),
    /// A personal access token.
    Bearer(String),
}

impl TestServer {
    pub fn start() -> TestServer {
        Self::start_with(&[])
    }

    /// Starts a server with extra `serve` flags, after creating the `admin` superuser.
    pub fn start_with(extra: &[&str]) -> TestServer {
        let db = TestDb::new();
        let mut create = Command::new(server_bin())
            .args([
                "createsuperuser",
                "--username",
                ADMIN,
                "--email",
                "admin@example.com",
                "--password-stdin",
            ])
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
            .env("CVAT_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("spawn cvat-server");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().unwrap_or_else(|| {
                panic!(
                    "server exited: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                )
            });
            let line = line.unwrap();
            if let Some(rest) = line.split("at http://").nth(1) {
                break format!("http://{}", rest.trim_end_matches("/api/users"));
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
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

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stops the server with SIGTERM and returns its exit status code.
    pub fn terminate(mut self) -> Option<i32> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.child.wait().unwrap();
        status.code()
    }

    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn request(&self, method: Method, path: &str, auth: &Auth) -> RequestBuilder {
        let mut rb = self.client.request(method, self.url(path));
        match auth {
            Auth::None => {}
            Auth::Token(t) => rb = rb.header("Authorization", format!("Token {t}")),
            Auth::Basic(u, p) => rb = rb.basic_auth(u, Some(p)),
            Auth::Session(s, c) => {
                rb = rb.header("Cookie", format!("csrftoken={c}; sessionid={s}"))
            }
            Auth::Bearer(t) => rb = rb.header("Authorization", format!("Bearer {t}")),
        }
        rb
    }

    pub fn send(&self, rb: RequestBuilder) -> Resp {
        let r = rb.send().expect("request");
        let status = r.status();
        let headers = r.headers().clone();
        let text = r.text().unwrap();
        Resp {
            status,
            headers,
            text,
        }
    }

    pub fn get(&self, path: &str, auth: &Auth) -> Resp {
        self.send(self.request(Method::GET, path, auth))
    }

    pub fn patch(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send(self.request(Method::PATCH, path, auth).json(&body))
    }

    pub fn delete(&self, path: &str, auth: &Auth) -> Resp {
        self.send(self.request(Method::DELETE, path, auth))
    }

    pub fn post(&self, path: &str, auth: &Auth, body: Value) -> Resp {
        self.send(self.request(Method::POST, path, auth).json(&body))
    }

    /// Logs in; returns the response (token in `key`, cookies set).
    pub fn login(&self, username: &str, password: &str) -> Resp {
        self.post(
            "/api/auth/login",
            &Auth::None,
            json!({"username": username, "password": password}),
        )
    }

    pub fn token(&self, username: &str, password: &str) -> Auth {
        let r = self.login(username, password);
        r.expect(200);
        Auth::Token(r.json()["key"].as_str().unwrap().to_string())
    }

    pub fn admin(&self) -> Auth {
        self.token(ADMIN, ADMIN_PASSWORD)
    }

    /// Registers `username` (password `PASSWORD`), returns its id and a token.
    pub fn register(&self, username: &str) -> (i64, Auth) {
        let r = self.post(
            "/api/auth/register",
            &Auth::None,
            json!({"username": username, "email": format!("{username}@example.com"),
                   "password1": PASSWORD, "password2": PASSWORD}),
        );
        r.expect(201);
        let auth = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
        let me = self.get("/api/users/self", &auth);
        (me.json()["id"].as_i64().unwrap(), auth)
    }

    /// Registers `username`, then (as `admin`) gives it `groups` and the staff and superuser
    /// flags; returns its id and a token.
    pub fn register_as(
        &self,
        admin: &Auth,
        username: &str,
        groups: &[&str],
        staff: bool,
        su: bool,
    ) -> (i64, Auth) {
        let (id, auth) = self.register(username);
        self.patch(
            &format!("/api/users/{id}"),
            admin,
            json!({"groups": groups, "is_staff": staff, "is_superuser": su}),
        )
        .expect(200);
        (id, auth)
    }

    /// Makes an existing user's row match `patch` (as admin).
    pub fn admin_patch(&self, id: i64, patch: Value) -> Resp {
        let admin = self.admin();
        self.patch(&format!("/api/users/{id}"), &admin, patch)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

impl TestServer {
    /// Stops the server (SIGTERM, waits for it to exit) and hands back its database, e.g. to
    /// `TestServer::serve` it again and check what survives a restart.
    pub fn stop(mut self) -> TestDb {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        let placeholder = TestDb {
            url: String::new(),
            _dir: tempfile::tempdir().expect("tempdir"),
        };
        std::mem::replace(&mut self.db, placeholder)
    }
}

impl TestServer {
    /// Another server process on the same database as `self` (a replica).
    pub fn replica(&self, extra: &[&str]) -> TestServer {
        TestServer::serve(TestDb::shared(&self.db.url), extra)
    }
}

impl TestDb {
    /// A handle on a database another `TestDb` owns (for replicas of one server).
    pub fn shared(url: &str) -> TestDb {
        TestDb {
            url: url.to_string(),
            _dir: tempfile::tempdir().expect("tempdir"),
        }
    }
}

// Shapes and messages several test modules assert on.

pub const FULL_KEYS: [&str; 12] = [
    "url",
    "id",
    "username",
    "first_name",
    "last_name",
    "email",
    "groups",
    "is_staff",
    "is_superuser",
    "is_active",
    "last_login",
    "date_joined",
];

pub const BASIC_KEYS: [&str; 5] = ["url", "id", "username", "first_name", "last_name"];

pub const NO_PERMISSION: &str = "You do not have permission to perform this action.";

pub const NOT_AUTHENTICATED: &str = "Authentication credentials were not provided.";

pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect()
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub fn group_set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("groups not a list: {v}"))
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect()
}

#[track_caller]
pub fn assert_detail(r: &Resp, status: u16, detail: &str) {
    r.expect(status);
    assert_eq!(r.json(), json!({ "detail": detail }), "body: {}", r.text);
}
