//! The network and HTTP items of the security audit (issue 18), through the real server:
//! forwarded addresses, idle connections, HSTS and allowed hosts, caching of personal answers,
//! the console's redirect target and login CSRF.

use std::net::TcpStream;
use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::common::*;

const WRONG_PASSWORD: &str = "Wr0ng-Passw0rd-77";

fn wrong_login_from(s: &TestServer, forwarded_for: &str) -> u16 {
    s.send(
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .header("X-Forwarded-For", forwarded_for)
            .json(&json!({"username": "nobody-here", "password": WRONG_PASSWORD})),
    )
    .status
    .as_u16()
}

#[test]
fn forwarded_for_from_a_peer_nobody_named_as_proxy_does_not_choose_the_throttled_address() {
    // No --trusted-proxies: loopback is a client like any other.
    let s = TestServer::start_with(&[
        "--login-failures-per-address",
        "3",
        "--login-failures-per-account",
        "1000",
    ]);
    for i in 0..3 {
        assert_eq!(wrong_login_from(&s, &format!("198.51.100.{}", 10 + i)), 400);
    }
    // A fresh made-up address does not escape the lock of the real one.
    assert_eq!(wrong_login_from(&s, "198.51.100.99"), 429);
}

#[test]
fn forwarded_for_behind_a_named_proxy_counts_the_right_most_address_it_does_not_trust() {
    let s = TestServer::start_with(&[
        "--trusted-proxies",
        "127.0.0.1,10.0.0.0/8",
        "--login-failures-per-address",
        "2",
        "--login-failures-per-account",
        "1000",
    ]);
    // The client wrote the left-most entries; the proxies appended the rest.
    assert_eq!(wrong_login_from(&s, "1.1.1.1, 198.51.100.7, 10.0.0.3"), 400);
    assert_eq!(wrong_login_from(&s, "2.2.2.2, 198.51.100.7, 10.0.0.3"), 400);
    assert_eq!(wrong_login_from(&s, "3.3.3.3, 198.51.100.7"), 429);
    // Aiming at somebody else's address only works if the proxy is not appending.
    assert_eq!(wrong_login_from(&s, "198.51.100.8"), 400);
}

#[test]
fn a_real_request_is_answered_while_five_thousand_idle_connections_are_open() {
    let s = TestServer::start();
    let addr: std::net::SocketAddr = s.base.trim_start_matches("http://").parse().unwrap();
    let mut idle = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
            Ok(c) => idle.push(c),
            // The server stopped accepting: the request below tells the story.
            Err(_) => break,
        }
    }
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let answer = client.get(s.url("/api/server/about")).send();
    let opened = idle.len();
    drop(idle);
    let answer = answer.expect("a request gets its answer while idle sockets are open");
    assert_eq!(answer.status().as_u16(), 200);
    assert_eq!(opened, 5_000, "every idle connection was accepted");
}

fn about_with(s: &TestServer, headers: &[(&str, &str)]) -> Resp {
    let mut rb = s.request(Method::GET, "/api/server/about", &Auth::None);
    for (k, v) in headers {
        rb = rb.header(*k, *v);
    }
    s.send(rb)
}

#[test]
fn answers_over_https_from_a_named_proxy_carry_strict_transport_security() {
    let https = [("X-Forwarded-Proto", "https")];
    let s = TestServer::start_with(&["--trusted-proxies", "127.0.0.1"]);
    let r = about_with(&s, &https);
    r.expect(200);
    assert_eq!(
        r.header("strict-transport-security").as_deref(),
        Some("max-age=31536000")
    );
    assert_eq!(
        about_with(&s, &[]).header("strict-transport-security"),
        None
    );

    let s = TestServer::start_with(&["--trusted-proxies", "127.0.0.1", "--hsts-max-age", "600"]);
    assert_eq!(
        about_with(&s, &https)
            .header("strict-transport-security")
            .as_deref(),
        Some("max-age=600")
    );
    let s = TestServer::start_with(&["--trusted-proxies", "127.0.0.1", "--hsts-max-age", "0"]);
    assert_eq!(
        about_with(&s, &https).header("strict-transport-security"),
        None
    );
    // Nobody named as proxy: the header proves nothing.
    let s = TestServer::start();
    assert_eq!(
        about_with(&s, &https).header("strict-transport-security"),
        None
    );
}

#[test]
fn a_host_outside_the_allowed_hosts_gets_400() {
    let s = TestServer::start_with(&[
        "--allowed-hosts",
        "127.0.0.1,.cvat.example",
        "--trusted-proxies",
        "127.0.0.1",
    ]);
    about_with(&s, &[]).expect(200);
    about_with(&s, &[("Host", "cvat.example")]).expect(200);
    about_with(&s, &[("Host", "eu.cvat.example:8443")]).expect(200);
    for bad in [
        vec![("Host", "evil.example")],
        vec![("Host", "notcvat.example")],
        vec![("X-Forwarded-Host", "evil.example")],
    ] {
        let r = about_with(&s, &bad);
        r.expect(400);
        assert!(r.json()["detail"].as_str().is_some(), "{}", r.text);
    }
    // Load balancers check replicas by address.
    let health = s.send(
        s.request(Method::GET, "/api/server/health", &Auth::None)
            .header("Host", "10.1.2.3:8081"),
    );
    health.expect(200);
    // Without the setting any host is answered (and echoed in links).
    let s = TestServer::start();
    about_with(&s, &[("Host", "evil.example")]).expect(200);
}

#[test]
fn authenticated_json_answers_are_not_stored_by_caches() {
    let s = TestServer::start();
    let admin = s.admin();
    let r = s.get("/api/users/self", &admin);
    r.expect(200);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let r = s.get("/api/users", &Auth::basic(ADMIN, ADMIN_PASSWORD));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // The login's answer holds the token key.
    let r = s.login(ADMIN, ADMIN_PASSWORD);
    r.expect(200);
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    // Anonymous public answers may be cached.
    assert_eq!(about_with(&s, &[]).header("cache-control"), None);
}

#[test]
fn a_console_next_with_a_line_break_falls_back_to_the_start_page() {
    let s = TestServer::start();
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    let session = login.cookie("sessionid").unwrap();
    let client = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    for next in [
        "%2Fadmin%2Fusers%0D%0ASet-Cookie%3A%20x%3Dy",
        "%2Fadmin%2Fusers%0A",
        "%2Fadmin%2F%C3%A9",
    ] {
        let r = client
            .get(s.url(&format!("/admin/login?next={next}")))
            .header("Cookie", format!("sessionid={session}"))
            .send()
            .unwrap();
        assert_eq!(r.status().as_u16(), 303, "next={next}");
        assert_eq!(r.headers()["location"], "/admin/users", "next={next}");
    }
}

#[test]
fn form_posts_to_login_and_register_from_a_foreign_origin_set_no_cookies() {
    let s = TestServer::start();
    let form_post = |path: &str, origin: Option<&str>, form: &[(&str, &str)]| {
        let mut rb = s.request(Method::POST, path, &Auth::None).form(form);
        if let Some(o) = origin {
            rb = rb.header("Origin", o);
        }
        s.send(rb)
    };
    let credentials = [("username", ADMIN), ("password", ADMIN_PASSWORD)];
    let r = form_post("/api/auth/login", Some("http://evil.example"), &credentials);
    assert_detail(
        &r,
        403,
        "CSRF Failed: Origin checking failed - http://evil.example does not match any trusted origins.",
    );
    r.expect_no_cookies("the request");
    let registration = [
        ("username", "csrfvictim"),
        ("email", "csrfvictim@example.com"),
        ("password1", PASSWORD),
        ("password2", PASSWORD),
    ];
    let r = form_post("/api/auth/register", Some("null"), &registration);
    r.expect(403);
    r.expect_no_cookies("the request");
    // A text/plain body is a form post too (no CORS preflight for it).
    let r = s.send(
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .header("Origin", "http://evil.example")
            .header("Content-Type", "text/plain")
            .body(json!({"username": ADMIN, "password": ADMIN_PASSWORD}).to_string()),
    );
    r.expect(403);
    assert!(r.cookies().is_empty());

    // The same form from this server's own pages, and the SDKs' JSON without Origin, work.
    let own = s.base.clone();
    form_post("/api/auth/login", Some(&own), &credentials).expect(200);
    form_post("/api/auth/register", Some(&own), &registration).expect(201);
    s.login(ADMIN, ADMIN_PASSWORD).expect(200);
}
