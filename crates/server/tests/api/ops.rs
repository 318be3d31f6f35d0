//! Operations: the access log and what it must never contain, Prometheus metrics, request
//! ids, `Secure` cookies and trusted proxies, and the configuration (flags, env, TOML file).

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const NEW_PASSWORD: &str = "Fr3sh-Passw0rd-2024";
const WRONG_PASSWORD: &str = "Wr0ng-Passw0rd-77";
const SECRET_KEY: &str = "sk-0ps-Test-Secret-Key-9f8e7d6c5b4a";

/// Sends `rb` with `X-Request-Id: id`, checks the id is echoed back.
fn traced(s: &TestServer, rb: reqwest::blocking::RequestBuilder, id: &str) -> Resp {
    let r = s.send(rb.header("X-Request-Id", id));
    assert_eq!(
        r.header("x-request-id").as_deref(),
        Some(id),
        "{id} not echoed"
    );
    r
}

struct Flow {
    /// Values that must never be in the logs.
    secrets: Vec<String>,
    /// One id per request sent.
    request_ids: Vec<String>,
}

/// Every way to authenticate, a failed login, a password change: returns what was used.
fn exercise(s: &TestServer, tag: &str) -> Flow {
    let mut ids = Vec::new();
    let mut next_id = || {
        let id = format!("ops-{tag}-{}", ids.len());
        ids.push(id.clone());
        id
    };
    let mut secrets = vec![
        PASSWORD.to_string(),
        ADMIN_PASSWORD.to_string(),
        NEW_PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        SECRET_KEY.to_string(),
    ];

    // Registration and a password login (token + session + CSRF cookies).
    let r = traced(s, s.register_request("logsuser"), &next_id());
    r.expect(201);
    let token = r.json()["key"].as_str().unwrap().to_string();
    secrets.push(token.clone());
    let r = traced(
        s,
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .json(&json!({"username": "logsuser", "password": PASSWORD})),
        &next_id(),
    );
    r.expect(200);
    let session = r.cookie("sessionid").expect("session cookie");
    let csrf = r.cookie("csrftoken").expect("csrf cookie");
    secrets.extend([
        r.json()["key"].as_str().unwrap().to_string(),
        session.clone(),
        csrf.clone(),
    ]);
    let tok = Auth::Token(token.clone());
    let me = traced(
        s,
        s.request(Method::GET, "/api/users/self", &tok),
        &next_id(),
    );
    me.expect(200);
    let my_id = me.json()["id"].as_i64().unwrap();

    // Basic, session (safe and unsafe), signed URL, personal access token.
    traced(
        s,
        s.request(
            Method::GET,
            "/api/users/self",
            &Auth::basic("logsuser", PASSWORD),
        ),
        &next_id(),
    )
    .expect(200);
    let sess = Auth::Session(session.clone(), csrf.clone());
    traced(
        s,
        s.request(Method::GET, "/api/users/self", &sess),
        &next_id(),
    )
    .expect(200);
    traced(
        s,
        s.request(Method::PATCH, &format!("/api/users/{my_id}"), &sess)
            .header("X-CSRFToken", &csrf)
            .json(&json!({"first_name": "Logs"})),
        &next_id(),
    )
    .expect(200);
    let r = traced(
        s,
        s.request(Method::POST, "/api/auth/signing", &tok)
            .json(&json!({"url": s.url("/api/users/self")})),
        &next_id(),
    );
    r.expect(200);
    let signed = r.json().as_str().unwrap().to_string();
    let sign = signed
        .split("sign=")
        .nth(1)
        .unwrap()
        .split('&')
        .next()
        .unwrap()
        .to_string();
    assert!(sign.len() >= 16, "{signed}");
    secrets.push(sign);
    let local = signed.strip_prefix(&s.base).unwrap().to_string();
    traced(s, s.request(Method::GET, &local, &Auth::None), &next_id()).expect(200);
    let r = traced(
        s,
        s.request(Method::POST, "/api/auth/access_tokens", &tok)
            .json(&json!({"name": "ci"})),
        &next_id(),
    );
    r.expect(201);
    let pat = r.json()["value"].as_str().unwrap().to_string();
    secrets.push(pat.clone());
    traced(
        s,
        s.request(Method::GET, "/api/users/self", &Auth::None)
            .header("Authorization", format!("Bearer {pat}")),
        &next_id(),
    )
    .expect(200);

    // An invitation: its key is a credential, in the path of its detail route.
    let friend = traced(s, s.register_request("logsfriend"), &next_id());
    friend.expect(201);
    secrets.push(friend.json()["key"].as_str().unwrap().to_string());
    traced(
        s,
        s.request(Method::POST, "/api/organizations", &tok)
            .json(&json!({"slug": "logorg", "name": "Logs"})),
        &next_id(),
    )
    .expect(201);
    let r = traced(
        s,
        s.request(Method::POST, "/api/invitations?org=logorg", &tok)
            .json(&json!({"role": "worker", "email": "logsfriend@example.com"})),
        &next_id(),
    );
    r.expect(201);
    let key = r.json()["key"].as_str().unwrap().to_string();
    secrets.push(key.clone());
    traced(
        s,
        s.request(
            Method::GET,
            &format!("/api/invitations/{key}?org=logorg"),
            &tok,
        ),
        &next_id(),
    )
    .expect(200);

    // Failures: a wrong password at the login endpoint and over Basic.
    traced(
        s,
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .json(&json!({"username": "logsuser", "password": WRONG_PASSWORD})),
        &next_id(),
    )
    .expect(400);
    traced(
        s,
        s.request(
            Method::GET,
            "/api/users/self",
            &Auth::basic("logsuser", WRONG_PASSWORD),
        ),
        &next_id(),
    )
    .expect(401);
    traced(
        s,
        s.request(Method::GET, "/api/users/self", &Auth::Token("0".repeat(40))),
        &next_id(),
    )
    .expect(401);

    // A password change, then a login with the new password; an admin login.
    traced(
        s,
        s.request(Method::POST, "/api/auth/password/change", &tok).json(&json!({
            "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})),
        &next_id(),
    )
    .expect(200);
    let r = traced(
        s,
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .json(&json!({"username": "logsuser", "password": NEW_PASSWORD})),
        &next_id(),
    );
    r.expect(200);
    secrets.push(r.json()["key"].as_str().unwrap().to_string());
    let r = traced(
        s,
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD})),
        &next_id(),
    );
    r.expect(200);
    secrets.push(r.json()["key"].as_str().unwrap().to_string());
    let admin = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    traced(
        s,
        s.request(Method::GET, "/api/users?page_size=all", &admin),
        &next_id(),
    )
    .expect(200);
    secrets.sort();
    secrets.dedup();
    Flow {
        secrets,
        request_ids: ids,
    }
}

/// Waits until the access line of the last request is in the log file.
fn settled_logs(s: &TestServer, last_id: &str) -> String {
    for _ in 0..100 {
        let logs = s.logs();
        if logs
            .lines()
            .any(|l| l.contains(last_id) && l.contains("cvat_server::access"))
        {
            return logs;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    s.logs()
}

fn assert_no_secrets(logs: &str, flow: &Flow, what: &str) {
    assert!(!logs.is_empty(), "{what}: no logs at all");
    for secret in &flow.secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "{what}: the logs contain the secret {secret:?}:\n{logs}"
        );
    }
    for hash_marker in ["argon2$", "$argon2id$", "pbkdf2_sha256$", "sign="] {
        assert!(
            !logs.contains(hash_marker),
            "{what}: the logs contain {hash_marker:?}:\n{logs}"
        );
    }
}

#[test]
fn text_logs_have_one_line_per_request_and_no_secrets() {
    let s = TestServer::start_with(&["--secret-key", SECRET_KEY]);
    let flow = exercise(&s, "text");
    let logs = settled_logs(&s, flow.request_ids.last().unwrap());
    assert_no_secrets(&logs, &flow, "text");
    for id in &flow.request_ids {
        // The id is the access line's last field (`ops-text-1` must not match `ops-text-10`).
        let lines: Vec<&str> = logs
            .lines()
            .filter(|l| {
                l.contains("cvat_server::access")
                    && l.trim_end().ends_with(&format!("request_id={id}"))
            })
            .collect();
        assert_eq!(lines.len(), 1, "access lines for {id}:\n{logs}");
        let line = lines[0];
        assert!(line.contains(" INFO "), "{line}");
        for field in ["method=", "path=/api/", "status=", "latency_ms="] {
            assert!(line.contains(field), "{field} missing: {line}");
        }
        assert!(!line.contains('?'), "a query in the log: {line}");
    }
    // The invitation key is replaced by the route parameter's name.
    assert!(logs.contains("path=/api/invitations/{key}"), "{logs}");
    // Events inside a request carry its id (the request span).
    assert!(
        logs.lines()
            .any(|l| l.contains("password changed") && l.contains("request_id=ops-text-")),
        "{logs}"
    );
}

#[test]
fn json_logs_have_one_line_per_request_and_no_secrets() {
    let s = TestServer::start_with(&["--log-format", "json", "--secret-key", SECRET_KEY]);
    let flow = exercise(&s, "json");
    let logs = settled_logs(&s, flow.request_ids.last().unwrap());
    assert_no_secrets(&logs, &flow, "json");
    let events: Vec<Value> = logs
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let access: Vec<&Value> = events
        .iter()
        .filter(|e| e["target"] == "cvat_server::access")
        .collect();
    for id in &flow.request_ids {
        let mine: Vec<&&Value> = access
            .iter()
            .filter(|e| e["fields"]["request_id"] == id.as_str())
            .collect();
        assert_eq!(mine.len(), 1, "access events for {id}:\n{logs}");
        let f = &mine[0]["fields"];
        assert_eq!(mine[0]["level"], "INFO");
        assert!(
            f["method"].is_string() && f["path"].as_str().unwrap().starts_with("/api/"),
            "{f}"
        );
        assert!(
            f["status"]
                .as_u64()
                .is_some_and(|s| (200..500).contains(&s)),
            "{f}"
        );
        assert!(f["latency_ms"].as_f64().is_some_and(|l| l >= 0.0), "{f}");
    }
}

/// At `debug`, with sqlx's statement log asked for by name: still nothing secret (sqlx logs
/// SQL text, whose values are all binds).
#[test]
fn debug_logs_with_sql_statements_have_no_secrets() {
    let s = TestServer::start_with(&[
        "--log",
        "debug,sqlx::query=debug",
        "--secret-key",
        SECRET_KEY,
    ]);
    let flow = exercise(&s, "debug");
    let logs = settled_logs(&s, flow.request_ids.last().unwrap());
    assert!(
        logs.contains("sqlx::query"),
        "no statement logged at debug:\n{logs}"
    );
    assert_no_secrets(&logs, &flow, "debug");
}

#[test]
fn request_ids_are_generated_kept_or_replaced() {
    let s = TestServer::start();
    let r = s.get("/api/server/about", &Auth::None);
    let generated = r.header("x-request-id").expect("generated id");
    assert_eq!(generated.len(), 36, "{generated}");
    let r = s.send(
        s.request(Method::GET, "/api/server/about", &Auth::None)
            .header("X-Request-Id", "client-id_1.2:3"),
    );
    assert_eq!(r.header("x-request-id").as_deref(), Some("client-id_1.2:3"));
    // Ids that could forge log fields or flood the log are replaced.
    for bad in ["two words", "x\"y", &"a".repeat(200)] {
        let r = s.send(
            s.request(Method::GET, "/api/server/about", &Auth::None)
                .header("X-Request-Id", bad),
        );
        let id = r.header("x-request-id").unwrap();
        assert_ne!(id, bad);
        assert_eq!(id.len(), 36);
    }
    // Errors get one too (404 of an unknown path, 401).
    assert!(s
        .get("/nowhere", &Auth::None)
        .header("x-request-id")
        .is_some());
    assert!(s
        .get("/api/users/self", &Auth::None)
        .header("x-request-id")
        .is_some());
}

/// The value of the sample `name{labels}` in a Prometheus text page (0 when absent).
fn sample(page: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    page.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let (n, rest) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if n != name {
                return None;
            }
            let have: BTreeMap<&str, &str> = rest
                .split("\",")
                .filter(|p| !p.is_empty())
                .filter_map(|p| {
                    let (k, v) = p.split_once("=\"")?;
                    Some((k, v.trim_end_matches('"')))
                })
                .collect();
            labels
                .iter()
                .all(|(k, v)| have.get(k) == Some(v))
                .then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

fn scrape(s: &TestServer) -> String {
    let r = s.get("/metrics", &Auth::None);
    r.expect(200);
    assert!(
        r.header("content-type")
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{:?}",
        r.header("content-type")
    );
    r.text
}

#[test]
fn metrics_count_routes_statuses_latency_pool_and_failed_logins() {
    let s = TestServer::start_with(&["--metrics"]);
    let admin = s.admin();
    let (id, _) = s.register("metricsuser");
    let before = scrape(&s);
    let by_id = [
        ("method", "GET"),
        ("route", "/api/users/{id}"),
        ("status", "200"),
    ];
    let missing = [
        ("method", "GET"),
        ("route", "/api/users/{id}"),
        ("status", "404"),
    ];
    let anon = [
        ("method", "GET"),
        ("route", "/api/users/self"),
        ("status", "401"),
    ];
    for _ in 0..3 {
        s.get(&format!("/api/users/{id}"), &admin).expect(200);
    }
    s.get("/api/users/999999", &admin).expect(404);
    s.get("/api/users/self", &Auth::None).expect(401);
    s.get("/no/such/path", &Auth::None).expect(404);
    for _ in 0..2 {
        s.login("metricsuser", WRONG_PASSWORD).expect(400);
    }
    s.get(
        "/api/users/self",
        &Auth::basic("metricsuser", WRONG_PASSWORD),
    )
    .expect(401);
    let after = scrape(&s);
    let delta = |labels: &[(&str, &str)]| {
        sample(&after, "cvat_http_requests_total", labels)
            - sample(&before, "cvat_http_requests_total", labels)
    };
    assert_eq!(delta(&by_id), 3.0, "{after}");
    assert_eq!(delta(&missing), 1.0, "{after}");
    // The anonymous request and the Basic one with a wrong password.
    assert_eq!(delta(&anon), 2.0, "{after}");
    assert_eq!(
        delta(&[("route", "unmatched"), ("status", "404")]),
        1.0,
        "{after}"
    );
    assert_eq!(
        sample(&after, "cvat_failed_logins_total", &[])
            - sample(&before, "cvat_failed_logins_total", &[]),
        3.0,
        "{after}"
    );
    // Route templates, never raw paths.
    assert!(!after.contains(&format!("/api/users/{id}\"")), "{after}");
    assert!(!after.contains("/no/such/path"), "{after}");
    // The latency histogram has buckets and a count per route.
    assert!(
        sample(
            &after,
            "cvat_http_request_duration_seconds_count",
            &[("route", "/api/users/{id}")]
        ) >= 4.0,
        "{after}"
    );
    assert!(
        sample(
            &after,
            "cvat_http_request_duration_seconds_bucket",
            &[("route", "/api/users/{id}"), ("le", "+Inf")]
        ) >= 4.0,
        "{after}"
    );
    assert!(
        after.contains("# TYPE cvat_http_request_duration_seconds histogram"),
        "{after}"
    );
    // Pool gauges.
    assert_eq!(
        sample(&after, "cvat_db_pool_max_connections", &[]),
        8.0,
        "{after}"
    );
    assert!(
        sample(&after, "cvat_db_pool_connections", &[]) >= 1.0,
        "{after}"
    );
    assert!(after.contains("cvat_db_pool_idle_connections"), "{after}");
    assert!(
        sample(&after, "cvat_http_connections", &[]) >= 1.0,
        "{after}"
    );
    // A lock shows up as a lockout.
    let s2 = TestServer::start_with(&["--metrics", "--login-failures-per-account", "2"]);
    s2.register("lockeduser");
    for _ in 0..2 {
        s2.login("lockeduser", WRONG_PASSWORD).expect(400);
    }
    s2.login("lockeduser", PASSWORD).expect(429);
    let page = scrape(&s2);
    assert_eq!(
        sample(&page, "cvat_failed_logins_total", &[]),
        2.0,
        "{page}"
    );
    assert_eq!(
        sample(&page, "cvat_login_lockouts_total", &[]),
        1.0,
        "{page}"
    );
}

#[test]
fn metrics_are_off_by_default() {
    let s = TestServer::start();
    let r = s.get("/metrics", &Auth::None);
    r.expect(404);
    let s = TestServer::start_with(&["--metrics=false"]);
    s.get("/metrics", &Auth::None).expect(404);
}

/// The value of the cookie `name` among `Set-Cookie` headers (attributes dropped).
fn cookie_value(cookies: &[String], name: &str) -> String {
    let prefix = format!("{name}=");
    let cookie = cookies.iter().find(|c| c.starts_with(&prefix)).unwrap();
    let pair = cookie.split(';').next().unwrap();
    pair.trim_start_matches(&prefix).to_string()
}

fn login_cookies(s: &TestServer, headers: &[(&str, &str)]) -> Vec<String> {
    let mut rb = s
        .request(Method::POST, "/api/auth/login", &Auth::None)
        .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD}));
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    let r = s.send(rb);
    r.expect(200);
    let cookies = r.cookies();
    assert_eq!(cookies.len(), 2, "{cookies:?}");
    cookies
}

#[test]
fn cookies_are_secure_over_https_from_trusted_proxies_only() {
    let s = TestServer::start_with(&["--trusted-proxies", "127.0.0.1"]);
    for c in login_cookies(&s, &[]) {
        assert!(!c.contains("Secure"), "{c}");
    }
    let https = login_cookies(&s, &[("X-Forwarded-Proto", "https")]);
    for c in &https {
        assert!(c.contains("; Secure;"), "{c}");
        // Python's cookie parser drops everything after a header ending in a bare flag.
        assert!(c.ends_with("Path=/; SameSite=Lax"), "{c}");
    }
    // Logout clears the session cookie, also with Secure and the same ending.
    let session = cookie_value(&https, "sessionid");
    let csrf = cookie_value(&https, "csrftoken");
    let r = s.send(
        s.request(
            Method::POST,
            "/api/auth/logout",
            &Auth::Session(session, csrf.clone()),
        )
        .header("X-CSRFToken", &csrf)
        .header("X-Forwarded-Proto", "https"),
    );
    r.expect(200);
    for c in r.cookies() {
        assert!(
            c.contains("; Secure;") && c.ends_with("Path=/; SameSite=Lax"),
            "{c}"
        );
    }

    // Loopback not trusted: X-Forwarded-* are ignored.
    let s = TestServer::start_with(&["--trusted-proxies", "10.0.0.0/8"]);
    for c in login_cookies(&s, &[("X-Forwarded-Proto", "https")]) {
        assert!(!c.contains("Secure"), "{c}");
    }
    let admin = s.admin();
    let r = s.send(
        s.request(Method::GET, "/api/users/self", &admin)
            .header("X-Forwarded-Proto", "https")
            .header("X-Forwarded-Host", "evil.example"),
    );
    r.expect(200);
    let url = r.json()["url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&s.base), "{url}");
}

#[test]
fn forwarded_for_picks_the_throttled_address_behind_trusted_proxies_only() {
    let wrong = |s: &TestServer, xff: &str| {
        s.send(
            s.request(Method::POST, "/api/auth/login", &Auth::None)
                .header("X-Forwarded-For", xff)
                .json(&json!({"username": "nobody-here", "password": WRONG_PASSWORD})),
        )
        .status
        .as_u16()
    };
    let flags = [
        "--login-failures-per-address",
        "3",
        "--login-failures-per-account",
        "1000",
    ];
    // Loopback named as proxy: each forwarded client has its own count.
    let mut with_loopback = flags.to_vec();
    with_loopback.extend(["--trusted-proxies", "127.0.0.1"]);
    let s = TestServer::start_with(&with_loopback);
    for _ in 0..3 {
        assert_eq!(wrong(&s, "198.51.100.1"), 400);
    }
    assert_eq!(wrong(&s, "198.51.100.1"), 429);
    // A spoofed left-most entry does not help: the proxy appended the real address.
    assert_eq!(wrong(&s, "203.0.113.5, 198.51.100.1"), 429);
    assert_eq!(wrong(&s, "198.51.100.2"), 400);
    // Untrusted peer: the header is ignored, every request counts for 127.0.0.1.
    let mut with_none = flags.to_vec();
    with_none.extend(["--trusted-proxies", ""]);
    let s = TestServer::start_with(&with_none);
    for i in 0..3 {
        assert_eq!(wrong(&s, &format!("198.51.100.{}", 10 + i)), 400);
    }
    assert_eq!(wrong(&s, "198.51.100.99"), 429);
}

fn config_cmd(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(server_bin());
    cmd.arg("config").args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("CVAT_") {
            cmd.env_remove(k);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdin(Stdio::null())
        .output()
        .expect("run cvat-server config")
}

#[test]
fn configuration_precedence_flag_env_file_default_and_masking() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cvat.toml");
    std::fs::File::create(&file)
        .unwrap()
        .write_all(
            br#"
bind = "127.0.0.1:9001"
db_pool_size = 3
db_connect_timeout = 7
database_url = "postgres://cvat:db-Pa55word@db.internal:5432/cvat?sslmode=disable"
secret_key = "file-secret-value"
metrics = true
trusted_proxies = ["10.0.0.0/8", "192.168.1.1"]
log_format = "json"
"#,
        )
        .unwrap();
    let f = file.to_str().unwrap();
    let out = config_cmd(
        &["--config", f, "--db-pool-size", "5"],
        &[("CVAT_DB_POOL_SIZE", "4"), ("CVAT_DB_CONNECT_TIMEOUT", "6")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let t: toml::Table = text.parse().unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(t["db_pool_size"].as_integer(), Some(5), "flag > env");
    assert_eq!(t["db_connect_timeout"].as_integer(), Some(6), "env > file");
    assert_eq!(t["bind"].as_str(), Some("127.0.0.1:9001"), "file > default");
    assert_eq!(t["db_statement_timeout"].as_integer(), Some(30), "default");
    assert_eq!(t["metrics"].as_bool(), Some(true));
    assert_eq!(t["log_format"].as_str(), Some("json"));
    assert_eq!(
        t["trusted_proxies"].as_str(),
        Some("10.0.0.0/8,192.168.1.1")
    );
    // Secrets masked.
    assert!(
        !text.contains("db-Pa55word") && !text.contains("file-secret-value"),
        "{text}"
    );
    assert_eq!(
        t["database_url"].as_str(),
        Some("postgres://cvat:********@db.internal:5432/cvat?sslmode=disable")
    );
    assert_eq!(t["secret_key"].as_str(), Some("********"));

    // CVAT_CONFIG names the file too; env and flags still win over it.
    let out = config_cmd(
        &["--metrics=false"],
        &[("CVAT_CONFIG", f), ("CVAT_BIND", "0.0.0.0:80")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: toml::Table = String::from_utf8(out.stdout).unwrap().parse().unwrap();
    assert_eq!(t["metrics"].as_bool(), Some(false));
    assert_eq!(t["bind"].as_str(), Some("0.0.0.0:80"));
    assert_eq!(t["db_pool_size"].as_integer(), Some(3));

    // No file: the defaults; the printed configuration is itself a valid file.
    let out = config_cmd(&[], &[]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("# secret_key: not set"), "{text}");
    let t: toml::Table = text.parse().unwrap();
    assert_eq!(
        t["database_url"].as_str(),
        Some("sqlite://cvat-data/cvat.db")
    );
    assert_eq!(t["header_read_timeout"].as_integer(), Some(30));
    assert_eq!(t["max_connections"].as_integer(), Some(512));
    let again = dir.path().join("again.toml");
    std::fs::write(&again, &text).unwrap();
    let out = config_cmd(&["--config", again.to_str().unwrap()], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);

    // Mistakes are reported, not ignored.
    std::fs::write(&again, "db_pool_sise = 3\n").unwrap();
    let out = config_cmd(&["--config", again.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown key `db_pool_sise`"));
    std::fs::write(&again, "db_pool_size = \"many\"\n").unwrap();
    let out = config_cmd(&["--config", again.to_str().unwrap()], &[]);
    assert!(!out.status.success());
    let out = config_cmd(&["--config", "/nonexistent/cvat.toml"], &[]);
    assert!(!out.status.success());
}

#[test]
fn serve_reads_the_configuration_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cvat.toml");
    std::fs::write(&file, "metrics = true\nsigned_url_lifetime = 123\n").unwrap();
    let s = TestServer::start_with(&["--config", file.to_str().unwrap()]);
    s.get("/metrics", &Auth::None).expect(200);
}
