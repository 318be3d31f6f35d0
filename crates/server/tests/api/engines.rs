//! Behaviour that must not depend on the database engine (issue 4), and PostgreSQL
//! availability: health checks and start-up retries through a TCP proxy we can cut.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::*;

#[test]
fn sort_by_username_is_byte_order_on_every_engine() {
    let s = TestServer::start();
    let admin = s.admin();
    for name in [
        "zed_user",
        "Beta_user",
        "alpha_user",
        "Ölaf_user",
        "_under",
        "beta.user",
    ] {
        register_without_email(&s, name);
    }
    let r = s.get(
        "/api/users?sort=username&page_size=all&search=_user",
        &admin,
    );
    // Byte order (PostgreSQL's "C" collation, SQLite's BINARY): upper case first, non-ASCII last.
    assert_eq!(
        usernames(&r),
        vec!["Beta_user", "alpha_user", "zed_user", "Ölaf_user"]
    );
    let r = s.get("/api/users?sort=-username&page_size=3", &admin);
    assert_eq!(usernames(&r), vec!["Ölaf_user", "zed_user", "beta.user"]);
}

#[test]
fn search_and_uniqueness_fold_non_ascii_case_on_every_engine() {
    let s = TestServer::start();
    let admin = s.admin();
    let id = register_without_email(&s, "Ärger_Σίσυφος");
    for q in ["ärger", "ÄRGER", "σίσυφος", "ΣΊΣΥΦΟΣ", "rger_σ"] {
        let r = s.get(&format!("/api/users?search={}", urlencode(q)), &admin);
        assert_eq!(r.json()["count"], 1, "search {q}");
        assert_eq!(r.json()["results"][0]["id"], id);
    }
    // Registration compares usernames case-insensitively, Unicode included.
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "äRGER_σίσυφος", "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(400);
    assert_eq!(
        r.json()["username"],
        json!(["A user with that username already exists."])
    );
    // ... while PATCH compares exactly, as CVAT does.
    s.patch(
        &format!("/api/users/{id}"),
        &admin,
        json!({"username": "ÄRGER_ΣΊΣΥΦΟΣ"}),
    )
    .expect(200);
    let r = s.get("/api/users?page=7", &admin);
    r.expect(404);
    assert_eq!(r.json(), json!({"detail": "Invalid page."}));
}

/// Registers `name` (no e-mail: Django's validator only takes ASCII local parts); returns its id.
fn register_without_email(s: &TestServer, name: &str) -> i64 {
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": name, "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(201);
    let token = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    s.get("/api/users/self", &token).json()["id"]
        .as_i64()
        .unwrap()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'_' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn health_answers_200_while_the_database_answers() {
    let s = TestServer::start();
    let r = s.get("/api/server/health", &Auth::None);
    r.expect(200);
    assert_eq!(r.json()["status"], "ok");
}

/// A TCP forwarder to PostgreSQL that can be cut and restored.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
}

impl Proxy {
    fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = Arc::new(AtomicBool::new(false));
        let flag = up.clone();
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                if !flag.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                for (mut from, mut to) in [
                    (client.try_clone().unwrap(), server.try_clone().unwrap()),
                    (server, client),
                ] {
                    let flag = flag.clone();
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 16384];
                        while let Ok(n) = from.read(&mut buf) {
                            if n == 0
                                || !flag.load(Ordering::SeqCst)
                                || to.write_all(&buf[..n]).is_err()
                            {
                                break;
                            }
                        }
                        let _ = to.shutdown(Shutdown::Both);
                        let _ = from.shutdown(Shutdown::Both);
                    });
                }
            }
        });
        Proxy { port, up }
    }
}

#[test]
fn postgres_outage_gives_503_and_start_up_waits_for_the_database() {
    let Ok(base) = std::env::var("CVAT_TEST_POSTGRES") else {
        eprintln!(
            "PostgreSQL-only test: runs in the test command's PostgreSQL pass (CVAT_TEST_POSTGRES)"
        );
        return;
    };
    let db = TestDb::new(); // a fresh schema on the real server
    let target = base
        .trim_start_matches("postgres://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let proxy = Proxy::start(target.clone());
    let via_proxy = db
        .url
        .replacen(&target, &format!("127.0.0.1:{}", proxy.port), 1);
    // Start while the database is unreachable: the server retries, then serves.
    let up = proxy.up.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_secs(3));
        up.store(true, Ordering::SeqCst);
    });
    let started = Instant::now();
    let s = TestServer::serve(
        TestDb::shared(&via_proxy),
        &["--db-connect-timeout", "1", "--db-pool-size", "2"],
    );
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "served before the database was reachable"
    );
    assert!(
        s.logs().contains("database not reachable yet, retrying"),
        "{}",
        s.logs()
    );
    s.get("/api/server/health", &Auth::None).expect(200);
    // Cut the database: health says 503; restore it: 200 again.
    proxy.up.store(false, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s.get("/api/server/health", &Auth::None);
        if r.status.as_u16() == 503 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "health never reported the outage"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    proxy.up.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + Duration::from_secs(20);
    while s.get("/api/server/health", &Auth::None).status.as_u16() != 200 {
        assert!(Instant::now() < deadline, "health never recovered");
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(db);
}
