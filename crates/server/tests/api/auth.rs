//! Authentication (Token, Basic, session + CSRF, signed URLs), the `/api/auth/*` endpoints,
//! cookies, brute-force throttling and Django password hashes — over real HTTP.
//! Spec: cvat-2.3-server.md §1.3, §1.4, §2, §9.2, §10; README decisions 3, 4, 7, 9, 10;
//! cvat-sdk-clients.md §1.3, §3, §4, appendix A.

use std::time::Duration;

use base64::Engine as _;
use cvat_server::store::{Db, DbOptions};
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
const CSRF_FAILED: &str = "CSRF Failed: CSRF token missing or incorrect.";
const BAD_LOGIN: &str = r#"{"non_field_errors":["Unable to log in with provided credentials."]}"#;
const BAD_EMAIL_LOGIN: &str = r#"["Unable to login with provided credentials"]"#;
const MUST_INCLUDE: &str = r#"["Must include either \"username\" or \"email\" and \"password\"."]"#;
/// A Django 3.2 `pbkdf2_sha256` hash (CVAT fixture) of `DJANGO_PASSWORD`.
const DJANGO_HASH: &str =
    "pbkdf2_sha256$260000$DevmxlmLwciP1P6sZs2Qag$U9DFtjTWx96Sk95qY6UXVcvpdQEP2LcoFBftk5D2RKY=";
/// The same password under Django's hasher with 1000 iterations (Django 3.2 vector; cheap).
const DJANGO_HASH_CHEAP: &str =
    "pbkdf2_sha256$1000$6vcDFyCUZSe5pmKk0H7oOc$2mtRndyl+6fC3MkKINXDSfpbNNGC+bkHEV9Ir1U7rXo=";
const DJANGO_PASSWORD: &str = "!Q@W#E$R";

// ---------------------------------------------------------------------------------------------
// helpers

/// Status and exact body text (key order matters: CVAT's field order).
#[track_caller]
fn assert_body(r: &Resp, status: u16, body: &str) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.text);
    assert_eq!(r.text, body);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.cvat+json")
    );
}

fn is_token_key(k: &str) -> bool {
    k.len() == 40
        && k.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn key_of(r: &Resp) -> String {
    r.expect(200);
    let k = r.json()["key"].as_str().expect("key").to_string();
    assert!(is_token_key(&k), "not a 40-hex key: {k}");
    k
}

/// GET with a raw `Authorization` header.
fn get_authz(s: &TestServer, path: &str, authorization: &str) -> Resp {
    s.send(
        s.request(Method::GET, path, &Auth::None)
            .header("Authorization", authorization),
    )
}

fn basic(user: &str, password: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// Signs `url` for the holder of `auth`; returns the signed absolute URL.
#[track_caller]
fn sign(s: &TestServer, auth: &Auth, url: &str) -> String {
    let r = s.post("/api/auth/signing", auth, json!({ "url": url }));
    r.expect(200);
    r.json()
        .as_str()
        .unwrap_or_else(|| panic!("not a JSON string: {}", r.text))
        .to_string()
}

/// The path+query of an absolute URL on this server.
#[track_caller]
fn local(s: &TestServer, absolute: &str) -> String {
    absolute
        .strip_prefix(&s.base)
        .unwrap_or_else(|| panic!("{absolute} is not on {}", s.base))
        .to_string()
}

fn db_options(url: &str) -> DbOptions {
    DbOptions {
        url: url.to_string(),
        max_connections: 1,
        connect_timeout: Duration::from_secs(10),
        statement_timeout: Duration::ZERO,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// The stored password hash of user `id`, read through the server's own store.
fn stored_hash(url: &str, id: i64) -> String {
    block_on(async {
        let db = Db::open(&db_options(url)).await.unwrap();
        let user = db.user_by_id(id).await.unwrap().expect("user row");
        db.close().await;
        user.password
    })
}

fn set_stored_hash(url: &str, id: i64, hash: &str) {
    block_on(async {
        let db = Db::open(&db_options(url)).await.unwrap();
        db.set_password_hash(id, hash).await.unwrap();
        db.close().await;
    })
}

/// Basic credentials `username:password` on `/api/users/self` are refused as a bad login.
#[track_caller]
fn assert_basic_refused(s: &TestServer, username: &str, password: &str) {
    assert_401(
        &s.get("/api/users/self", &Auth::basic(username, password)),
        "Invalid username/password.",
    );
}

#[track_caller]
fn assert_throttled(r: &Resp, max_retry: u64) {
    assert_eq!(r.status.as_u16(), 429, "body: {}", r.text);
    let body = r.json();
    let obj = body.as_object().expect("JSON object");
    assert_eq!(obj.len(), 1, "{body}");
    assert!(!obj["detail"].as_str().expect("detail string").is_empty());
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("numeric Retry-After");
    assert!((1..=max_retry).contains(&retry), "Retry-After {retry}");
}

// ---------------------------------------------------------------------------------------------
// Token

#[test]
fn token_header_variants_and_errors() {
    let s = TestServer::start();
    let (_, auth) = s.register("tokuser");
    let Auth::Token(key) = &auth else {
        unreachable!()
    };

    assert_eq!(s.me(&auth)["username"], "tokuser");
    // The scheme is compared case-insensitively.
    for scheme in ["token", "TOKEN", "ToKeN"] {
        let r = get_authz(&s, "/api/users/self", &format!("{scheme} {key}"));
        r.expect(200);
        assert_eq!(r.json()["username"], "tokuser");
    }

    assert_401(&s.get("/api/users/self", &Auth::None), NOT_PROVIDED);
    assert_401(
        &get_authz(&s, "/api/users/self", "Token"),
        "Invalid token header. No credentials provided.",
    );
    assert_401(
        &get_authz(&s, "/api/users/self", "Token a b"),
        "Invalid token header. Token string should not contain spaces.",
    );
    assert_401(
        &get_authz(&s, "/api/users/self", &format!("Token {key} {key}")),
        "Invalid token header. Token string should not contain spaces.",
    );
    assert_401(
        &s.get("/api/users/self", &Auth::Token("0".repeat(40))),
        "Invalid token.",
    );
    assert_401(
        &s.get("/api/users/self", &Auth::Token("nope".into())),
        "Invalid token.",
    );
    // A key differing only in case is another key.
    assert_401(
        &s.get("/api/users/self", &Auth::Token(key.to_uppercase())),
        "Invalid token.",
    );
    // Other schemes and an empty header are not ours: anonymous.
    assert_401(&get_authz(&s, "/api/users/self", ""), NOT_PROVIDED);
    assert_401(
        &get_authz(&s, "/api/users/self", &format!("Digest {key}")),
        NOT_PROVIDED,
    );
    assert_401(&get_authz(&s, "/api/users/self", key), NOT_PROVIDED);
    // A failing token is final even on AllowAny endpoints.
    assert_401(
        &s.post(
            "/api/auth/login",
            &Auth::Token("0".repeat(40)),
            json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        ),
        "Invalid token.",
    );
    assert_401(
        &s.post("/api/auth/logout", &Auth::Token("0".repeat(40)), json!({})),
        "Invalid token.",
    );
}

#[test]
fn inactive_user_cannot_authenticate_by_any_method() {
    let s = TestServer::start();
    let (id, token) = s.register("sleepy");
    let session = s.login("sleepy", PASSWORD).session();
    let signed = sign(&s, &token, "/api/users/self");
    s.admin_patch(id, json!({"is_active": false})).expect(200);

    assert_401(
        &s.get("/api/users/self", &token),
        "User inactive or deleted.",
    );
    assert_basic_refused(&s, "sleepy", PASSWORD);
    assert_401(
        &s.get(&local(&s, &signed), &Auth::None),
        "User inactive or deleted.",
    );
    // An inactive user's session is silently ignored: anonymous.
    assert_401(&s.get("/api/users/self", &session), NOT_PROVIDED);
    assert_body(&s.login("sleepy", PASSWORD), 400, BAD_LOGIN);
    assert_body(
        &s.post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": "sleepy@example.com", "password": PASSWORD}),
        ),
        400,
        BAD_LOGIN,
    );

    // Reactivated, everything works again.
    s.admin_patch(id, json!({"is_active": true})).expect(200);
    s.me(&token);
    s.me(&Auth::basic("sleepy", PASSWORD));
    s.me(&session);
}

/// Decision 4: token requests neither set cookies nor move `last_login`; logins do.
#[test]
fn token_requests_write_nothing_and_logins_move_last_login() {
    let s = TestServer::start();
    let (id, token) = s.register("lastlog");
    let registered = s.me(&token)["last_login"].clone();
    assert!(
        registered.is_string(),
        "registration sets last_login: {registered}"
    );

    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(5));
        let r = s.get("/api/users/self", &token);
        r.expect(200).expect_no_cookies("token GET");
        assert_eq!(r.json()["last_login"], registered);
    }
    let r = s.patch(&user_path(id), &token, json!({"first_name": "Tok"}));
    r.expect(200).expect_no_cookies("token PATCH");
    let r = s.send(s.request(Method::HEAD, "/api/users/self", &token));
    assert!(r.cookies().is_empty());
    assert_eq!(s.me(&token)["last_login"], registered);

    // Basic requests do not log in either.
    let r = s.get("/api/users/self", &Auth::basic("lastlog", PASSWORD));
    r.expect(200).expect_no_cookies("basic GET");
    assert_eq!(r.json()["last_login"], registered);

    std::thread::sleep(Duration::from_millis(5));
    let login = s.login("lastlog", PASSWORD);
    login.expect(200);
    let after_login = s.me(&token)["last_login"].clone();
    assert!(after_login.is_string());
    assert_ne!(after_login, registered, "login must update last_login");

    // Using the session (a GET) is not a login.
    std::thread::sleep(Duration::from_millis(5));
    let r = s.get("/api/users/self", &login.session());
    r.expect(200);
    assert_eq!(r.json()["last_login"], after_login);
    assert_eq!(s.me(&token)["last_login"], after_login);
}

// ---------------------------------------------------------------------------------------------
// Basic

#[test]
fn basic_auth_by_username_or_email() {
    let s = TestServer::start();
    s.register("carol1");
    for login in [
        "carol1",
        "CAROL1",
        "Carol1",
        "carol1@example.com",
        "CAROL1@Example.COM",
    ] {
        let r = s.get("/api/users/self", &Auth::basic(login, PASSWORD));
        r.expect(200);
        assert_eq!(r.json()["username"], "carol1", "as {login}");
    }
    // Basic also works for unsafe methods and is not subject to CSRF.
    let id = s.me(&Auth::basic("carol1", PASSWORD))["id"]
        .as_i64()
        .unwrap();
    s.patch(
        &user_path(id),
        &Auth::basic("carol1", PASSWORD),
        json!({"last_name": "B"}),
    )
    .expect(200);

    for (u, p) in [
        ("carol1", "wrong-password"),
        ("carol1", ""),
        ("nobody", PASSWORD),
        ("carol1", &PASSWORD.to_lowercase()),
    ] {
        assert_basic_refused(&s, u, p);
    }
}

#[test]
fn basic_auth_malformed_headers() {
    let s = TestServer::start();
    for (authorization, detail) in [
        ("Basic", "Invalid basic header. No credentials provided."),
        (
            "Basic YWRtaW46eA== YWRtaW46eA==",
            "Invalid basic header. Credentials string should not contain spaces.",
        ),
        (
            "Basic abc",
            "Invalid basic header. Credentials not correctly base64 encoded.",
        ),
    ] {
        assert_401(&get_authz(&s, "/api/users/self", authorization), detail);
    }
    // Scheme is case-insensitive.
    assert_eq!(
        get_authz(
            &s,
            "/api/users/self",
            &basic(ADMIN, ADMIN_PASSWORD).replace("Basic", "basic")
        )
        .status,
        200
    );
    // Well-formed base64 without a ':' is a username with an empty password (DRF partitions).
    let no_colon = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(ADMIN)
    );
    assert_401(
        &get_authz(&s, "/api/users/self", &no_colon),
        "Invalid username/password.",
    );
    // Only the first ':' separates: the password may contain colons.
    assert_401(
        &get_authz(&s, "/api/users/self", &basic(ADMIN, "a:b")),
        "Invalid username/password.",
    );
}

// ---------------------------------------------------------------------------------------------
// Session + CSRF

#[test]
fn session_cookies_and_csrf() {
    let s = TestServer::start();
    let (id, token) = s.register("sessy1");
    let login = s.login("sessy1", PASSWORD);
    login.expect(200);
    let sess = login.session();
    let csrf = sess.csrf();
    let path = user_path(id);

    assert_eq!(s.me(&sess)["username"], "sessy1");
    assert_eq!(s.me(&sess)["id"], id);

    // Unsafe method by session needs X-CSRFToken equal to the csrftoken cookie: none, a wrong
    // one and an empty one are refused.
    let wrong = "x".repeat(64);
    for csrf in [None, Some(wrong.as_str()), Some("")] {
        let headers: Vec<(&str, &str)> = csrf.map(|c| ("X-CSRFToken", c)).into_iter().collect();
        let r = s.send_with(
            Method::PATCH,
            &path,
            &sess,
            &headers,
            json!({"first_name": "A"}),
        );
        assert_detail(&r, 403, CSRF_FAILED);
    }
    assert_eq!(
        s.me(&token)["first_name"],
        "",
        "rejected PATCHes must not write"
    );

    let r = s.send_with(
        Method::PATCH,
        &path,
        &sess,
        &[("X-CSRFToken", &csrf)],
        json!({"first_name": "Alpha"}),
    );
    r.expect(200);
    assert_eq!(r.json()["first_name"], "Alpha");
    assert_eq!(s.me(&token)["first_name"], "Alpha");

    // A header but no csrftoken cookie.
    let Auth::Session(sid, _) = &sess else {
        unreachable!()
    };
    let only_session = s.send(
        s.request(Method::PATCH, &path, &Auth::None)
            .header("Cookie", format!("sessionid={sid}"))
            .header("X-CSRFToken", &csrf)
            .json(&json!({"first_name": "B"})),
    );
    assert_detail(&only_session, 403, "CSRF Failed: CSRF cookie not set.");

    // Origin (cvat-sdk 2.80 sends it): another host is refused, this host is fine, whatever
    // the scheme (a TLS proxy in front turns it into https).
    let from_origin = |origin: &str, first_name: &str| {
        s.send_with(
            Method::PATCH,
            &path,
            &sess,
            &[("X-CSRFToken", &csrf), ("Origin", origin)],
            json!({ "first_name": first_name }),
        )
    };
    let evil = from_origin("http://evil.example", "Evil");
    assert_detail(&evil, 403, "CSRF Failed: Origin checking failed - http://evil.example does not match any trusted origins.");
    let other_port = from_origin("http://127.0.0.1:1", "Evil");
    assert_eq!(other_port.status, 403, "{}", other_port.text);
    assert_eq!(s.me(&token)["first_name"], "Alpha");
    from_origin(&format!("http://{}", s.host_port()), "Beta").expect(200);
    from_origin(&format!("https://{}", s.host_port()), "Gamma").expect(200);
    assert_eq!(s.me(&token)["first_name"], "Gamma");

    // Safe methods: no CSRF needed, and a foreign Origin / stray X-CSRFToken is not rejected.
    let r = s.send(
        s.request(Method::GET, "/api/users/self", &sess)
            .header("Origin", "http://evil.example")
            .header("X-CSRFToken", "whatever"),
    );
    r.expect(200);

    // cvat-sdk 2.3: Token + the login cookies, no X-CSRFToken: the token wins, no CSRF.
    let r = s.patch(&path, &token, json!({"first_name": "Delta"}));
    r.expect(200);
    let Auth::Token(key) = &token else {
        unreachable!()
    };
    let Auth::Session(sid, csrf) = &sess else {
        unreachable!()
    };
    let sdk23 = s.send(
        s.request(Method::PATCH, &path, &Auth::None)
            .header("Authorization", format!("Token {key}"))
            .header("Cookie", format!("csrftoken={csrf}; sessionid={sid}"))
            .json(&json!({"first_name": "Epsilon"})),
    );
    sdk23.expect(200);
    assert!(
        sdk23.cookies().is_empty(),
        "token request set cookies: {:?}",
        sdk23.cookies()
    );
    // Basic + session cookie: the Authorization header wins as well (our deliberate choice).
    let basic_and_cookie = s.send(
        s.request(Method::PATCH, &path, &Auth::basic("sessy1", PASSWORD))
            .header("Cookie", format!("csrftoken={csrf}; sessionid={sid}"))
            .json(&json!({"first_name": "Zeta"})),
    );
    basic_and_cookie.expect(200);
    assert_eq!(s.me(&sess)["first_name"], "Zeta");

    // Cookie header variants: extra cookies, other order, quoted values.
    let r = s.send(
        s.request(Method::GET, "/api/users/self", &Auth::None)
            .header("Cookie", format!("a=b; sessionid=\"{sid}\"; messages=x")),
    );
    r.expect(200);
}

#[test]
fn unknown_or_garbage_session_is_anonymous() {
    let s = TestServer::start();
    for cookie in [
        "sessionid=garbage",
        "sessionid=",
        "sessionid=abcdefghijklmnopqrstuvwxyz012345; csrftoken=x",
    ] {
        let r = s.send(
            s.request(Method::GET, "/api/users/self", &Auth::None)
                .header("Cookie", cookie),
        );
        assert_401(&r, NOT_PROVIDED);
        // Not session-authenticated, so no CSRF check: 401, not 403.
        let r = s.send(
            s.request(Method::PATCH, "/api/users/1", &Auth::None)
                .header("Cookie", cookie)
                .json(&json!({"first_name": "x"})),
        );
        assert_401(&r, NOT_PROVIDED);
    }
    // A token value in the session cookie is not a session.
    let Auth::Token(key) = s.admin() else {
        unreachable!()
    };
    let r = s.send(
        s.request(Method::GET, "/api/users/self", &Auth::None)
            .header("Cookie", format!("sessionid={key}")),
    );
    assert_401(&r, NOT_PROVIDED);
}

#[test]
fn sessions_expire_after_session_lifetime() {
    let s = TestServer::start_with(&["--session-lifetime", "2"]);
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    login.expect(200);
    let sess = login.session();
    let session_header = login
        .cookies()
        .into_iter()
        .find(|c| c.starts_with("sessionid="))
        .unwrap();
    assert!(session_header.contains("Max-Age=2;"), "{session_header}");
    s.me(&sess);
    std::thread::sleep(Duration::from_millis(3100));
    assert_401(&s.get("/api/users/self", &sess), NOT_PROVIDED);
    // The token from the same login does not expire.
    s.me(&Auth::Token(login.json()["key"].as_str().unwrap().into()));
}

/// CVAT: a live session cookie makes CSRF mandatory even on AllowAny endpoints.
#[test]
fn posting_to_auth_endpoints_with_a_live_session_needs_csrf() {
    let s = TestServer::start();
    let sess = s.login(ADMIN, ADMIN_PASSWORD).session();
    let csrf = sess.csrf();
    let body = json!({"username": ADMIN, "password": ADMIN_PASSWORD});
    assert_detail(
        &s.post("/api/auth/login", &sess, body.clone()),
        403,
        CSRF_FAILED,
    );
    key_of(&s.send_with(
        Method::POST,
        "/api/auth/login",
        &sess,
        &[("X-CSRFToken", &csrf)],
        body,
    ));
    assert_detail(
        &s.post("/api/auth/logout", &sess, json!({})),
        403,
        CSRF_FAILED,
    );
    s.me(&sess);
    assert_detail(
        &s.post(
            "/api/auth/signing",
            &sess,
            json!({"url": "/api/users/self"}),
        ),
        403,
        CSRF_FAILED,
    );
    let r = s.send_with(
        Method::POST,
        "/api/auth/signing",
        &sess,
        &[("X-CSRFToken", &csrf)],
        json!({"url": "/api/users/self"}),
    );
    r.expect(200);
}

// ---------------------------------------------------------------------------------------------
// Restarts

#[test]
fn restart_keeps_sessions_tokens_and_signing_secret() {
    // Loopback named as proxy: the test plays one with X-Forwarded-Host.
    let proxy = ["--trusted-proxies", "127.0.0.1"];
    let s = TestServer::start_with(&proxy);
    let (id, token) = s.register("durable1");
    let login = s.login("durable1", PASSWORD);
    let sess = login.session();
    assert_ne!(key_of(&login), token.clone_key());
    // A URL on a fixed host (a proxy's), so that it survives the new port.
    let signed = sign(&s, &token, "http://cvat.example/api/users/self");
    assert!(
        signed.starts_with("http://cvat.example/api/users/self?sign="),
        "{signed}"
    );
    let signed_path = signed.trim_start_matches("http://cvat.example").to_string();
    let via_proxy = |s: &TestServer| {
        s.send(
            s.request(Method::GET, &signed_path, &Auth::None)
                .header("X-Forwarded-Host", "cvat.example"),
        )
    };
    assert_eq!(via_proxy(&s).json()["id"], id);

    let db = s.stop();
    let s = TestServer::serve(db, &proxy);
    assert_eq!(s.me(&token)["id"], id);
    assert_eq!(s.me(&sess)["id"], id);
    let r = via_proxy(&s);
    r.expect(200);
    assert_eq!(r.json()["id"], id);
    // Keys stored before the restart still work next to new ones.
    s.me(&Auth::Token(key_of(&login)));

    // The secret is what signs: another one (flag) invalidates the URL ...
    let db = s.stop();
    let s = TestServer::serve(
        db,
        &[
            proxy[0],
            proxy[1],
            "--secret-key",
            "another-secret-entirely",
        ],
    );
    assert_401(&via_proxy(&s), "Invalid signature.");
    s.me(&token);
    // ... and without the flag the stored secret is back.
    let db = s.stop();
    let s = TestServer::serve(db, &proxy);
    via_proxy(&s).expect(200);
}

trait CloneKey {
    fn clone_key(&self) -> String;
}
impl CloneKey for Auth {
    fn clone_key(&self) -> String {
        match self {
            Auth::Token(k) => k.clone(),
            other => panic!("not a token: {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cookies (client note, appendix A)

#[track_caller]
fn check_cookie_header(h: &str, name: &str, value_len: usize, max_age: &str) {
    let (first, _) = h.split_once(';').unwrap_or((h, ""));
    let (n, v) = first
        .split_once('=')
        .unwrap_or_else(|| panic!("no name=value: {h}"));
    assert_eq!(n, name, "{h}");
    assert_eq!(v.len(), value_len, "{h}");
    assert!(v.bytes().all(|b| b.is_ascii_alphanumeric()), "{h}");
    let attrs: Vec<&str> = h.split(';').skip(1).map(str::trim).collect();
    let last = attrs.last().unwrap_or_else(|| panic!("no attributes: {h}"));
    assert!(
        last.contains('='),
        "header must end with a name=value attribute: {h}"
    );
    for a in &attrs {
        let lower = a.to_ascii_lowercase();
        assert!(lower != "secure" && lower != "partitioned", "{h}");
        if let Some(date) = a.strip_prefix("expires=") {
            chrono::NaiveDateTime::parse_from_str(date, "%a, %d %b %Y %H:%M:%S GMT")
                .unwrap_or_else(|e| panic!("bad expires {date:?}: {e}"));
        }
    }
    assert!(attrs.contains(&"Path=/"), "{h}");
    assert!(attrs.contains(&max_age), "{h}");
}

#[test]
fn login_and_register_cookie_format() {
    let s = TestServer::start();
    let r = s.login(ADMIN, ADMIN_PASSWORD);
    r.expect(200);
    let headers = r.cookies();
    assert_eq!(headers.len(), 2, "{headers:?}");
    let csrf_h = headers
        .iter()
        .find(|h| h.starts_with("csrftoken="))
        .expect("csrftoken");
    let sess_h = headers
        .iter()
        .find(|h| h.starts_with("sessionid="))
        .expect("sessionid");
    check_cookie_header(csrf_h, "csrftoken", 64, "Max-Age=31449600");
    check_cookie_header(sess_h, "sessionid", 32, "Max-Age=1209600");
    assert!(
        !csrf_h.contains("HttpOnly"),
        "csrftoken must be readable by scripts: {csrf_h}"
    );
    let csrf1 = r.cookie("csrftoken").unwrap();
    let sid1 = r.cookie("sessionid").unwrap();
    assert!(
        sid1.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()),
        "{sid1}"
    );

    // The client sends its csrftoken back: kept (2.80 freezes X-CSRFToken at login).
    let again = s.send(
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .header("Cookie", format!("csrftoken={csrf1}"))
            .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD})),
    );
    again.expect(200);
    assert_eq!(again.cookie("csrftoken").unwrap(), csrf1);
    let sid2 = again.cookie("sessionid").unwrap();
    assert_ne!(sid2, sid1, "every login starts a new session");
    // Both sessions work.
    s.me(&Auth::Session(sid1.clone(), csrf1.clone()));
    s.me(&Auth::Session(sid2, csrf1.clone()));
    // A client without cookies gets a fresh CSRF token.
    let fresh = s.login(ADMIN, ADMIN_PASSWORD);
    assert_ne!(fresh.cookie("csrftoken").unwrap(), csrf1);
    // A malformed csrftoken cookie is replaced, not echoed.
    let odd = s.send(
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .header("Cookie", "csrftoken=a;b")
            .json(&json!({"username": ADMIN, "password": ADMIN_PASSWORD})),
    );
    odd.expect(200);
    check_cookie_header(
        &odd.cookies()
            .into_iter()
            .find(|h| h.starts_with("csrftoken="))
            .unwrap(),
        "csrftoken",
        64,
        "Max-Age=31449600",
    );

    // Registration logs the new user in with the same cookie format.
    let reg = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "cookie1", "password1": PASSWORD, "password2": PASSWORD}),
    );
    reg.expect(201);
    let headers = reg.cookies();
    assert_eq!(headers.len(), 2, "{headers:?}");
    check_cookie_header(
        headers
            .iter()
            .find(|h| h.starts_with("csrftoken="))
            .unwrap(),
        "csrftoken",
        64,
        "Max-Age=31449600",
    );
    check_cookie_header(
        headers
            .iter()
            .find(|h| h.starts_with("sessionid="))
            .unwrap(),
        "sessionid",
        32,
        "Max-Age=1209600",
    );
    assert_eq!(s.me(&reg.session())["username"], "cookie1");
}

// ---------------------------------------------------------------------------------------------
// Login

#[test]
fn login_returns_a_working_key_every_time() {
    let s = TestServer::start();
    let r = s.login(ADMIN, ADMIN_PASSWORD);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.cvat+json")
    );
    let key = key_of(&r);
    assert_eq!(r.text, format!(r#"{{"key":"{key}"}}"#));
    assert_eq!(s.me(&Auth::Token(key.clone()))["username"], ADMIN);

    let ways = [
        json!({"username": ADMIN, "password": ADMIN_PASSWORD}),
        json!({"username": "ADMIN", "password": ADMIN_PASSWORD}),
        json!({"username": "Admin", "email": "", "password": ADMIN_PASSWORD}),
        json!({"email": "admin@example.com", "password": ADMIN_PASSWORD}),
        json!({"email": "ADMIN@Example.com", "password": ADMIN_PASSWORD}),
        // e-mail wins over a (wrong) username
        json!({"username": "someone-else", "email": "admin@example.com", "password": ADMIN_PASSWORD}),
        // the username field may carry the e-mail
        json!({"username": "admin@example.com", "password": ADMIN_PASSWORD}),
    ];
    for body in ways {
        let r = s.post("/api/auth/login", &Auth::None, body.clone());
        // A new key each time: only digests are stored (unlike CVAT, which returns the same).
        let new_key = key_of(&r);
        assert_ne!(new_key, key, "{body}");
        assert_eq!(s.me(&Auth::Token(new_key))["username"], ADMIN, "{body}");
        assert!(
            r.cookie("sessionid").is_some() && r.cookie("csrftoken").is_some(),
            "{body}"
        );
    }
    // Another user gets another key.
    let (_, other) = s.register("keyuser");
    let other_key = key_of(&s.login("keyuser", PASSWORD));
    assert_ne!(other_key, other.clone_key());
    assert_eq!(s.me(&Auth::Token(other_key))["username"], "keyuser");
    s.me(&other);
}

#[test]
fn login_errors() {
    let s = TestServer::start();
    s.register("twin1");
    let (id3, _) = s.register("twin2");
    let login = |body: Value| s.post("/api/auth/login", &Auth::None, body);

    assert_body(
        &login(json!({"username": ADMIN, "password": "wrong"})),
        400,
        BAD_LOGIN,
    );
    assert_body(
        &login(json!({"username": "ghost", "password": ADMIN_PASSWORD})),
        400,
        BAD_LOGIN,
    );
    assert_body(
        &login(json!({"username": ADMIN, "password": ADMIN_PASSWORD.to_uppercase()})),
        400,
        BAD_LOGIN,
    );

    assert_body(
        &login(json!({"email": "ghost@example.com", "password": ADMIN_PASSWORD})),
        400,
        BAD_EMAIL_LOGIN,
    );
    assert_body(
        &login(json!({"email": "not-an-email", "password": ADMIN_PASSWORD})),
        400,
        BAD_EMAIL_LOGIN,
    );
    // An e-mail that two users share is ambiguous, even with the right password.
    s.admin_patch(id3, json!({"email": "TWIN1@example.com"}))
        .expect(200);
    assert_body(
        &login(json!({"email": "twin1@example.com", "password": PASSWORD})),
        400,
        BAD_EMAIL_LOGIN,
    );
    // ... but each can still log in by username.
    key_of(&login(json!({"username": "twin1", "password": PASSWORD})));
    key_of(&login(json!({"username": "twin2", "password": PASSWORD})));

    assert_body(&login(json!({"username": ADMIN})), 400, MUST_INCLUDE);
    assert_body(
        &login(json!({"password": ADMIN_PASSWORD})),
        400,
        MUST_INCLUDE,
    );
    assert_body(
        &login(json!({"username": "", "email": "", "password": ADMIN_PASSWORD})),
        400,
        MUST_INCLUDE,
    );
    assert_body(&login(json!({})), 400, MUST_INCLUDE);
    // An empty body is `{}`.
    assert_body(
        &s.send(s.request(Method::POST, "/api/auth/login", &Auth::None)),
        400,
        MUST_INCLUDE,
    );

    // A failed login sets no cookies.
    assert!(login(json!({"username": ADMIN, "password": "wrong"}))
        .cookies()
        .is_empty());
}

#[test]
fn login_body_parsers() {
    let s = TestServer::start();
    let form = format!(
        "username={ADMIN}&password={}",
        ADMIN_PASSWORD.replace('!', "%21")
    );
    let key = key_of(&s.send_raw(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        Some("application/x-www-form-urlencoded"),
        &form,
    ));
    assert_eq!(s.me(&Auth::Token(key))["username"], ADMIN);
    // Every parser logs in (each login answers with a new key).
    s.me(&Auth::Token(key_of(&s.send_raw(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        &form,
    ))));
    let multipart = format!(
        "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\n{ADMIN}\r\n\
         --XyZ\r\nContent-Disposition: form-data; name=\"password\"\r\n\r\n{ADMIN_PASSWORD}\r\n--XyZ--\r\n"
    );
    s.me(&Auth::Token(key_of(&s.send_raw(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        Some("multipart/form-data; boundary=XyZ"),
        &multipart,
    ))));
    s.me(&Auth::Token(key_of(&s.send_raw(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        Some("application/json; charset=utf-8"),
        json!({"username": ADMIN, "password": ADMIN_PASSWORD}).to_string(),
    ))));

    let json_text = json!({"username": ADMIN, "password": ADMIN_PASSWORD}).to_string();
    assert_detail(
        &s.send_raw(
            Method::POST,
            "/api/auth/login",
            &Auth::None,
            Some("text/plain"),
            &json_text,
        ),
        415,
        "Unsupported media type \"text/plain\" in request.",
    );
    assert_detail(
        &s.send_raw(
            Method::POST,
            "/api/auth/login",
            &Auth::None,
            Some("application/vnd.cvat+json"),
            &json_text,
        ),
        415,
        "Unsupported media type \"application/vnd.cvat+json\" in request.",
    );
    let broken = s.send_raw(
        Method::POST,
        "/api/auth/login",
        &Auth::None,
        Some("application/json"),
        "{username",
    );
    assert_eq!(broken.status, 400, "{}", broken.text);
    assert!(
        broken.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{}",
        broken.text
    );
    for (body, errors) in [
        (
            "[]",
            r#"{"non_field_errors":["Invalid data. Expected a dictionary, but got list."]}"#,
        ),
        ("null", r#"{"non_field_errors":["No data provided"]}"#),
    ] {
        let r = s.send_raw(
            Method::POST,
            "/api/auth/login",
            &Auth::None,
            Some("application/json"),
            body,
        );
        assert_body(&r, 400, errors);
    }
}

// ---------------------------------------------------------------------------------------------
// Logout

#[test]
fn logout_deletes_the_token() {
    let s = TestServer::start();
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    let key = key_of(&login);
    let token = Auth::Token(key.clone());
    let r = s.post("/api/auth/logout", &token, json!({}));
    assert_body(&r, 200, r#"{"detail":"Successfully logged out."}"#);
    assert!(
        r.cookie("sessionid").is_none(),
        "token-only logout has no session to clear: {:?}",
        r.cookies()
    );
    assert_401(&s.get("/api/users/self", &token), "Invalid token.");
    // Logout deletes the user's keys, not the sessions: the session from before still works,
    // and every login issues a new key.
    s.me(&login.session());
    let new_key = key_of(&s.login(ADMIN, ADMIN_PASSWORD));
    assert_ne!(new_key, key);
    s.me(&Auth::Token(new_key.clone()));
    assert_ne!(key_of(&s.login(ADMIN, ADMIN_PASSWORD)), new_key);
}

#[test]
fn logout_by_session_clears_the_cookie() {
    let s = TestServer::start();
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    let key = key_of(&login);
    let sess = login.session();
    let other_session = s.login(ADMIN, ADMIN_PASSWORD).session();

    assert_detail(
        &s.post("/api/auth/logout", &sess, json!({})),
        403,
        CSRF_FAILED,
    );
    s.me(&sess);
    let r = s.send_with(
        Method::POST,
        "/api/auth/logout",
        &sess,
        &[("X-CSRFToken", &sess.csrf())],
        json!({}),
    );
    assert_body(&r, 200, r#"{"detail":"Successfully logged out."}"#);
    let cleared = r
        .cookies()
        .into_iter()
        .find(|h| h.starts_with("sessionid="))
        .expect("sessionid cleared");
    assert!(
        cleared.starts_with("sessionid=\"\";") || cleared.starts_with("sessionid=;"),
        "{cleared}"
    );
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    assert!(
        cleared.split(';').next_back().unwrap().contains('='),
        "{cleared}"
    );

    assert_401(&s.get("/api/users/self", &sess), NOT_PROVIDED);
    assert_401(
        &s.get("/api/users/self", &Auth::Token(key)),
        "Invalid token.",
    );
    // Only that session is flushed.
    s.me(&other_session);
}

#[test]
fn logout_anonymous_and_wrong_method() {
    let s = TestServer::start();
    assert_body(
        &s.post("/api/auth/logout", &Auth::None, json!({})),
        200,
        r#"{"detail":"Successfully logged out."}"#,
    );
    let r = s.send(s.request(Method::POST, "/api/auth/logout", &Auth::None));
    assert_body(&r, 200, r#"{"detail":"Successfully logged out."}"#);
    r.expect_no_cookies("the request");
    // A stale session cookie is cleared all the same.
    let r = s.send(
        s.request(Method::POST, "/api/auth/logout", &Auth::None)
            .header("Cookie", "sessionid=stale"),
    );
    assert_body(&r, 200, r#"{"detail":"Successfully logged out."}"#);
    assert!(
        r.cookies()
            .iter()
            .any(|h| h.starts_with("sessionid=") && h.contains("Max-Age=0")),
        "{:?}",
        r.cookies()
    );

    assert_detail(
        &s.get("/api/auth/logout", &Auth::None),
        405,
        "Method \"GET\" not allowed.",
    );
    assert_detail(
        &s.get("/api/auth/login", &Auth::None),
        405,
        "Method \"GET\" not allowed.",
    );
    assert_detail(
        &s.get("/api/auth/register", &Auth::None),
        405,
        "Method \"GET\" not allowed.",
    );
    assert_detail(
        &s.delete("/api/auth/password/change", &s.admin()),
        405,
        "Method \"DELETE\" not allowed.",
    );
    // Logging out through GET does nothing.
    let token = s.admin();
    s.get("/api/auth/logout", &token);
    s.me(&token);
}

// ---------------------------------------------------------------------------------------------
// Register

#[test]
fn register_creates_a_logged_in_user() {
    let s = TestServer::start();
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "newbie1", "email": "Newbie1@Example.com", "password1": PASSWORD, "password2": PASSWORD,
               "first_name": "New", "last_name": "Bie"}),
    );
    r.expect(201);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.cvat+json")
    );
    let key = r.json()["key"].as_str().unwrap().to_string();
    assert!(is_token_key(&key), "{key}");
    assert_eq!(
        r.text,
        format!(
            r#"{{"username":"newbie1","email":"Newbie1@Example.com","first_name":"New","last_name":"Bie","email_verification_required":false,"key":"{key}"}}"#
        )
    );
    let token = Auth::Token(key.clone());
    let u = s.me(&token);
    assert_eq!(u["groups"], json!(["user"]));
    assert_eq!(u["is_staff"], false);
    assert_eq!(u["is_superuser"], false);
    assert_eq!(u["is_active"], true);
    assert!(u["last_login"].is_string());
    // The cookies log the new user in.
    assert_eq!(s.me(&r.session())["username"], "newbie1");
    // The password works; the login returns a new key, and the registration's still works.
    assert_ne!(key_of(&s.login("newbie1", PASSWORD)), key);
    s.me(&token);

    // Minimal body; works even when already authenticated (creates another user).
    let r = s.post(
        "/api/auth/register",
        &s.admin(),
        json!({"username": "minimal1", "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(201);
    let key2 = r.json()["key"].as_str().unwrap().to_string();
    assert_eq!(
        r.text,
        format!(
            r#"{{"username":"minimal1","email":"","first_name":"","last_name":"","email_verification_required":false,"key":"{key2}"}}"#
        )
    );
    assert_eq!(s.me(&Auth::Token(key2))["groups"], json!(["user"]));
}

#[test]
fn register_errors() {
    let s = TestServer::start();
    s.register("alice1");
    let reg = |body: Value| s.post("/api/auth/register", &Auth::None, body);

    assert_body(
        &reg(json!({})),
        400,
        r#"{"username":["This field is required."],"password1":["This field is required."],"password2":["This field is required."]}"#,
    );
    assert_body(
        &s.send(s.request(Method::POST, "/api/auth/register", &Auth::None)),
        400,
        r#"{"username":["This field is required."],"password1":["This field is required."],"password2":["This field is required."]}"#,
    );
    assert_body(
        &reg(json!({"username": "abc", "email": "bad", "password1": "123", "password2": "123"})),
        400,
        r#"{"username":["Ensure this field has at least 5 characters."],"email":["Enter a valid email address."],"password1":["This password is too short. It must contain at least 8 characters.","This password is too common.","This password is entirely numeric."]}"#,
    );
    assert_body(
        &reg(
            json!({"username": "ALICE1", "email": "Alice1@EXAMPLE.com", "password1": PASSWORD, "password2": PASSWORD}),
        ),
        400,
        r#"{"username":["A user with that username already exists."],"email":["A user is already registered with this e-mail address."]}"#,
    );
    assert_body(
        &reg(
            json!({"username": "bobby1", "password1": PASSWORD, "password2": format!("{PASSWORD}x")}),
        ),
        400,
        r#"{"non_field_errors":["The two password fields didn't match."]}"#,
    );
    assert_body(
        &reg(json!({"username": "bobsmith", "password1": "bobsmith12", "password2": "bobsmith12"})),
        400,
        r#"{"non_field_errors":["The password is too similar to the username."]}"#,
    );
    assert_body(
        &reg(
            json!({"username": "bobby2", "first_name": "", "password1": PASSWORD, "password2": PASSWORD}),
        ),
        400,
        r#"{"first_name":["This field may not be blank."]}"#,
    );
    // Nothing of the above created a user or a session.
    for u in ["bobby1", "bobsmith", "bobby2", "abc"] {
        assert_body(&s.login(u, PASSWORD), 400, BAD_LOGIN);
    }
    let r = reg(
        json!({"username": "bobby2", "first_name": "", "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect_no_cookies("the request");
}

// ---------------------------------------------------------------------------------------------
// Password change

#[test]
fn password_change() {
    let s = TestServer::start();
    let (_, token) = s.register("changer");
    let sess = s.login("changer", PASSWORD).session();
    let path = "/api/auth/password/change";
    const NEW: &str = "An0ther-Good-Pass";

    assert_401(
        &s.post(
            path,
            &Auth::None,
            json!({"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}),
        ),
        NOT_PROVIDED,
    );
    assert_body(
        &s.post(path, &token, json!({})),
        400,
        r#"{"old_password":["This field is required."],"new_password1":["This field is required."],"new_password2":["This field is required."]}"#,
    );
    assert_body(
        &s.post(
            path,
            &token,
            json!({"old_password": "wrong-one", "new_password1": NEW, "new_password2": NEW}),
        ),
        400,
        r#"{"old_password":["Your old password was entered incorrectly. Please enter it again."]}"#,
    );
    assert_body(
        &s.post(path, &token, json!({"old_password": PASSWORD, "new_password1": NEW, "new_password2": format!("{NEW}!")})),
        400,
        "{\"new_password2\":[\"The two password fields didn\u{2019}t match.\"]}",
    );
    assert_body(
        &s.post(
            path,
            &token,
            json!({"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"}),
        ),
        400,
        r#"{"new_password2":["This password is too short. It must contain at least 8 characters.","This password is too common.","This password is entirely numeric."]}"#,
    );
    assert_body(
        &s.post(path, &token, json!({"old_password": PASSWORD, "new_password1": "changer1", "new_password2": "changer1"})),
        400,
        r#"{"new_password2":["The password is too similar to the username."]}"#,
    );
    // None of the failures changed anything.
    key_of(&s.login("changer", PASSWORD));

    // By session it needs CSRF like any unsafe request.
    assert_detail(
        &s.post(
            path,
            &sess,
            json!({"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}),
        ),
        403,
        CSRF_FAILED,
    );

    let r = s.post(
        path,
        &token,
        json!({"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}),
    );
    assert_body(&r, 200, r#"{"detail":"New password has been saved."}"#);
    assert_body(&s.login("changer", PASSWORD), 400, BAD_LOGIN);
    assert_basic_refused(&s, "changer", PASSWORD);
    s.me(&Auth::Token(key_of(&s.login("changer", NEW))));
    s.me(&Auth::basic("changer", NEW));
    // The token that made the change stays valid; the other session is revoked (unlike CVAT).
    s.me(&token);
    assert_401(&s.get("/api/users/self", &sess), NOT_PROVIDED);

    // And back, through a session with CSRF.
    let sess = s.login("changer", NEW).session();
    let r = s.send_with(
        Method::POST,
        path,
        &sess,
        &[("X-CSRFToken", &sess.csrf())],
        json!({"old_password": NEW, "new_password1": PASSWORD, "new_password2": PASSWORD}),
    );
    assert_body(&r, 200, r#"{"detail":"New password has been saved."}"#);
    key_of(&s.login("changer", PASSWORD));
}

// ---------------------------------------------------------------------------------------------
// Signed URLs (decision 7)

#[test]
fn signed_urls() {
    // Loopback named as proxy: the test plays one with X-Forwarded-Host.
    let s = TestServer::start_with(&["--trusted-proxies", "127.0.0.1"]);
    let (id, token) = s.register("signer1");
    let admin = s.admin();

    assert_401(
        &s.post(
            "/api/auth/signing",
            &Auth::None,
            json!({"url": "/api/users/self"}),
        ),
        NOT_PROVIDED,
    );
    let r = s.post(
        "/api/auth/signing",
        &token,
        json!({"url": "/api/users/self"}),
    );
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.cvat+json")
    );
    assert!(r.json().is_string(), "{}", r.text);
    let signed = sign(&s, &token, "/api/users/self");
    assert!(
        signed.starts_with(&format!("{}/api/users/self?sign=", s.base)),
        "{signed}"
    );
    let path = local(&s, &signed);

    let r = s.get(&path, &Auth::None);
    r.expect(200);
    assert_eq!(r.json()["id"], id);
    assert_eq!(r.json()["username"], "signer1");
    assert!(r.cookies().is_empty());
    // Reusable within its lifetime.
    s.get(&path, &Auth::None).expect(200);

    // Tampering: the signature, an added parameter, another path.
    let last = path.chars().last().unwrap();
    let tampered = format!(
        "{}{}",
        &path[..path.len() - 1],
        if last == 'A' { 'B' } else { 'A' }
    );
    assert_401(&s.get(&tampered, &Auth::None), "Invalid signature.");
    assert_401(
        &s.get(&format!("{path}&page=2"), &Auth::None),
        "Invalid signature.",
    );
    assert_401(
        &s.get(
            &format!("/api/users?x=1&{}", path.split_once('?').unwrap().1),
            &Auth::None,
        ),
        "Invalid signature.",
    );
    assert_401(
        &s.get(
            &path.replacen("/api/users/self", &user_path(id), 1),
            &Auth::None,
        ),
        "Invalid signature.",
    );
    assert_401(
        &s.get("/api/users/self?sign=garbage", &Auth::None),
        "Invalid signature.",
    );
    assert_401(
        &s.get("/api/users/self?sign=a:b:c", &Auth::None),
        "Invalid signature.",
    );
    // Another host in the URL than the one asked.
    let r = s.send(
        s.request(Method::GET, &path, &Auth::None)
            .header("X-Forwarded-Host", "elsewhere.example"),
    );
    assert_401(&r, "Invalid signature.");
    // Signed URLs of another user are that user's.
    let admin_url = sign(&s, &admin, "/api/users/self");
    assert_eq!(
        s.get(&local(&s, &admin_url), &Auth::None).json()["username"],
        ADMIN
    );

    // An empty sign is ignored; credentials in the header win over a sign.
    assert_401(&s.get("/api/users/self?sign=", &Auth::None), NOT_PROVIDED);
    let r = s.get("/api/users/self?sign=", &token);
    r.expect(200);
    let r = s.get("/api/users/self?sign=garbage", &token);
    r.expect(200);
    assert_eq!(r.json()["id"], id);
    let r = s.get(&path, &admin);
    assert_eq!(r.json()["username"], ADMIN, "Token wins over sign");

    // Missing / unusable url.
    for body in [
        json!({}),
        json!({"url": ""}),
        json!({"url": null}),
        json!({"other": "/api/users/self"}),
    ] {
        assert_body(
            &s.post("/api/auth/signing", &token, body.clone()),
            400,
            r#"["Please provide `url` parameter"]"#,
        );
    }

    // Absolute URLs and query strings (re-encoded) verify.
    let abs = sign(&s, &token, &s.url("/api/users/self"));
    s.get(&local(&s, &abs), &Auth::None).expect(200);
    let listed = sign(&s, &admin, "/api/users?search=a b&page_size=2&sort=-id");
    let r = s.get(&local(&s, &listed), &Auth::None);
    r.expect(200);
    assert!(r.json()["results"].is_array(), "{}", r.text);
    assert!(listed.contains("search=a+b"), "{listed}");
    // The same URL encoded differently (%20 for +) is the same URL.
    let r = s.get(&local(&s, &listed).replace("a+b", "a%20b"), &Auth::None);
    r.expect(200);
    // ... but another value is not.
    assert_401(
        &s.get(&local(&s, &listed).replace("a+b", "a+c"), &Auth::None),
        "Invalid signature.",
    );
    let detail = sign(&s, &admin, &user_path(id));
    assert_eq!(s.get(&local(&s, &detail), &Auth::None).json()["id"], id);
    // Unlike CVAT, a signature authenticates reads only: a PATCH is anonymous.
    let r = s.patch(
        &local(&s, &detail),
        &Auth::None,
        json!({"first_name": "Signed"}),
    );
    assert_401(&r, NOT_PROVIDED);
    assert_eq!(s.me(&token)["first_name"], "");
}

#[test]
fn signed_url_of_a_renamed_user_is_invalid() {
    let s = TestServer::start();
    let (id, token) = s.register("renamed1");
    let signed = sign(&s, &token, "/api/users/self");
    s.get(&local(&s, &signed), &Auth::None).expect(200);
    s.admin_patch(id, json!({"username": "renamed2"}))
        .expect(200);
    assert_401(
        &s.get(&local(&s, &signed), &Auth::None),
        "Invalid signature.",
    );
    // Deleted user: invalid as well.
    let (id3, token3) = s.register("deleted1");
    let signed3 = sign(&s, &token3, "/api/users/self");
    s.delete(&user_path(id3), &s.admin()).expect(204);
    assert_401(
        &s.get(&local(&s, &signed3), &Auth::None),
        "Invalid signature.",
    );
}

#[test]
fn signed_urls_expire() {
    let s = TestServer::start_with(&["--signed-url-lifetime", "1"]);
    let admin = s.admin();
    let signed = sign(&s, &admin, "/api/users/self");
    std::thread::sleep(Duration::from_millis(2500));
    assert_401(
        &s.get(&local(&s, &signed), &Auth::None),
        "This URL has expired.",
    );
    // A fresh one works.
    s.get(
        &local(&s, &sign(&s, &admin, "/api/users/self")),
        &Auth::None,
    )
    .expect(200);
}

// ---------------------------------------------------------------------------------------------
// Brute-force throttling (decision 10)

#[test]
fn account_lockout_after_failures() {
    let s = TestServer::start_with(&["--login-failures-per-account", "3", "--login-lockout", "60"]);
    let (victim_id, victim_token) = s.register("victim");
    let victim_session = s.login("victim", PASSWORD).session();
    s.register("bystander");

    // Failures through the login endpoint and Basic auth count alike.
    assert_body(&s.login("victim", "wrong-1"), 400, BAD_LOGIN);
    assert_body(&s.login("VICTIM", "wrong-2"), 400, BAD_LOGIN);
    assert_basic_refused(&s, "victim", "wrong-3");

    // Now even the right password is refused, by every password route and spelling.
    assert_throttled(&s.login("victim", PASSWORD), 60);
    assert_throttled(&s.login("Victim", PASSWORD), 60);
    assert_throttled(&s.login("victim", "wrong-4"), 60);
    assert_throttled(
        &s.get("/api/users/self", &Auth::basic("victim", PASSWORD)),
        60,
    );
    assert_throttled(
        &s.post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": "victim@example.com", "password": PASSWORD}),
        ),
        60,
    );
    assert_throttled(
        &s.get(
            "/api/users/self",
            &Auth::basic("victim@example.com", PASSWORD),
        ),
        60,
    );

    // Tokens and sessions keep working; so does the same address for other accounts.
    assert_eq!(s.me(&victim_token)["id"], victim_id);
    assert_eq!(s.me(&victim_session)["id"], victim_id);
    key_of(&s.login("bystander", PASSWORD));
    s.me(&Auth::basic("bystander", PASSWORD));
    s.get("/api/server/about", &Auth::None).expect(200);
    // A password change checks the old password like a login: locked too (unlike CVAT).
    assert_throttled(
        &s.post("/api/auth/password/change", &victim_token, json!({"old_password": PASSWORD, "new_password1": "Br4nd-New-Secret", "new_password2": "Br4nd-New-Secret"})),
        60,
    );
}

#[test]
fn account_lockout_counts_the_account_not_the_spelling() {
    let s = TestServer::start_with(&["--login-failures-per-account", "3", "--login-lockout", "60"]);
    s.register("target1");
    // Three failures under three spellings of one account (username, e-mail, e-mail field).
    assert_body(&s.login("target1", "wrong-1"), 400, BAD_LOGIN);
    assert_basic_refused(&s, "target1@example.com", "wrong-2");
    assert_body(
        &s.post(
            "/api/auth/login",
            &Auth::None,
            json!({"email": "TARGET1@example.com", "password": "wrong-3"}),
        ),
        400,
        BAD_LOGIN,
    );
    assert_throttled(&s.login("target1", PASSWORD), 60);
    assert_throttled(
        &s.get(
            "/api/users/self",
            &Auth::basic("target1@example.com", PASSWORD),
        ),
        60,
    );
}

#[test]
fn account_lockout_ends_after_the_lockout() {
    let s = TestServer::start_with(&["--login-failures-per-account", "2", "--login-lockout", "2"]);
    assert_body(&s.login(ADMIN, "wrong-1"), 400, BAD_LOGIN);
    // A success below the limit resets the account's count.
    key_of(&s.login(ADMIN, ADMIN_PASSWORD));
    assert_body(&s.login(ADMIN, "wrong-2"), 400, BAD_LOGIN);
    key_of(&s.login(ADMIN, ADMIN_PASSWORD));
    assert_body(&s.login(ADMIN, "wrong-3"), 400, BAD_LOGIN);
    assert_body(&s.login(ADMIN, "wrong-4"), 400, BAD_LOGIN);
    assert_throttled(&s.login(ADMIN, ADMIN_PASSWORD), 2);
    std::thread::sleep(Duration::from_millis(2300));
    key_of(&s.login(ADMIN, ADMIN_PASSWORD));
}

#[test]
fn address_lockout_across_usernames() {
    let s = TestServer::start_with(&["--login-failures-per-address", "4", "--login-lockout", "60"]);
    let admin = s.admin();
    s.register("spare1");
    assert_body(&s.login("ghost1", "x-password"), 400, BAD_LOGIN);
    assert_body(&s.login("ghost2", "x-password"), 400, BAD_LOGIN);
    assert_basic_refused(&s, "ghost3", "x");
    assert_body(&s.login(ADMIN, "wrong"), 400, BAD_LOGIN);

    // Every password login from this address is now refused, whichever account.
    assert_throttled(&s.login(ADMIN, ADMIN_PASSWORD), 60);
    assert_throttled(&s.login("spare1", PASSWORD), 60);
    assert_throttled(
        &s.get("/api/users/self", &Auth::basic("spare1", PASSWORD)),
        60,
    );
    // Other traffic is not throttled.
    s.me(&admin);
    s.get("/api/server/about", &Auth::None).expect(200);
    assert_401(&s.get("/api/users/self", &Auth::None), NOT_PROVIDED);
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "late1", "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(201);
    s.me(&Auth::Token(r.json()["key"].as_str().unwrap().into()));
}

// ---------------------------------------------------------------------------------------------
// Django password hashes (decision 9)

#[test]
fn django_pbkdf2_hash_verifies_and_is_upgraded() {
    let s = TestServer::start();
    let (id, _) = s.register("legacy1");
    assert!(stored_hash(&s.db.url, id).starts_with("argon2$argon2id$"));
    let db = s.stop();
    set_stored_hash(&db.url, id, DJANGO_HASH);
    let s = TestServer::serve(db, &[]);

    // (260k PBKDF2 rounds take seconds in a debug build: one failure is enough.)
    assert_body(&s.login("legacy1", "!Q@W#E$r"), 400, BAD_LOGIN);
    assert_eq!(
        stored_hash(&s.db.url, id),
        DJANGO_HASH,
        "a failed login must not rewrite the hash"
    );

    key_of(&s.login("legacy1", DJANGO_PASSWORD));
    let upgraded = stored_hash(&s.db.url, id);
    assert!(upgraded.starts_with("argon2$argon2id$v=19$"), "{upgraded}");
    // The upgraded hash verifies the same password, by every route.
    key_of(&s.login("legacy1", DJANGO_PASSWORD));
    s.me(&Auth::basic("legacy1", DJANGO_PASSWORD));
    assert_eq!(
        stored_hash(&s.db.url, id),
        upgraded,
        "an up-to-date hash is not rewritten"
    );
    assert_body(&s.login("legacy1", PASSWORD), 400, BAD_LOGIN);
}

#[test]
fn django_hashes_upgrade_through_basic_auth_too() {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let s = TestServer::start();
    let (id1, _) = s.register("legacy2");
    let (id2, _) = s.register("legacy3");
    let db = s.stop();
    // Django's Argon2PasswordHasher with other parameters: "argon2" + the PHC string.
    let params = argon2::Params::new(512, 2, 2, Some(32)).unwrap();
    let phc = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(
            b"Dj4ngo-Argon-Pass",
            &SaltString::from_b64("c29tZXNhbHRzb21lc2FsdA").unwrap(),
        )
        .unwrap()
        .to_string();
    let django_argon2 = format!("argon2{phc}");
    set_stored_hash(&db.url, id1, DJANGO_HASH_CHEAP);
    set_stored_hash(&db.url, id2, &django_argon2);
    let s = TestServer::serve(db, &[]);

    assert_basic_refused(&s, "legacy2", "wrong");
    assert_eq!(stored_hash(&s.db.url, id1), DJANGO_HASH_CHEAP);
    s.me(&Auth::basic("legacy2", DJANGO_PASSWORD));
    assert!(stored_hash(&s.db.url, id1).starts_with("argon2$argon2id$"));

    s.me(&Auth::basic("legacy3", "Dj4ngo-Argon-Pass"));
    let upgraded = stored_hash(&s.db.url, id2);
    assert!(
        upgraded.starts_with("argon2$argon2id$") && upgraded != django_argon2,
        "{upgraded}"
    );
    key_of(&s.login("legacy3", "Dj4ngo-Argon-Pass"));
}

// ---------------------------------------------------------------------------------------------
// Content negotiation on the auth endpoints (decision 3): 406 comes before 401

#[test]
fn negotiation_on_auth_endpoints() {
    let s = TestServer::start();
    let cannot = "Could not satisfy the request Accept header.";
    let version = "Invalid version in \"Accept\" header.";
    let login_body = json!({"username": ADMIN, "password": ADMIN_PASSWORD});
    let post_accept = |path: &str, auth: &Auth, accept: &str, body: &Value| {
        s.send(
            s.request(Method::POST, path, auth)
                .header("Accept", accept)
                .json(body),
        )
    };

    for accept in [
        "application/vnd.cvat+json",
        "application/vnd.cvat+json; version=2.0",
        "application/vnd.cvat+json; version=2",
        "application/json",
        "*/*",
        "application/*",
    ] {
        let r = post_accept("/api/auth/login", &Auth::None, accept, &login_body);
        r.expect(200);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/vnd.cvat+json"),
            "{accept}"
        );
    }
    assert_detail(
        &post_accept("/api/auth/login", &Auth::None, "text/plain", &login_body),
        406,
        cannot,
    );
    assert_detail(
        &post_accept(
            "/api/auth/login",
            &Auth::None,
            "application/vnd.cvat+json; version=1.0",
            &login_body,
        ),
        406,
        version,
    );
    assert_detail(
        &post_accept(
            "/api/auth/login",
            &Auth::None,
            "application/json; version=3.0",
            &login_body,
        ),
        406,
        version,
    );

    // Before authentication: anonymous and bad credentials get 406, not 401.
    let bad_token = Auth::Token("0".repeat(40));
    let url = json!({"url": "/api/users/self"});
    for path in [
        "/api/auth/signing",
        "/api/auth/password/change",
        "/api/auth/logout",
        "/api/auth/register",
        "/api/auth/login",
    ] {
        assert_detail(
            &post_accept(path, &Auth::None, "image/png", &url),
            406,
            cannot,
        );
        assert_detail(
            &post_accept(path, &bad_token, "image/png", &url),
            406,
            cannot,
        );
        assert_detail(
            &post_accept(
                path,
                &bad_token,
                "application/vnd.cvat+json; version=9",
                &url,
            ),
            406,
            version,
        );
    }
    // A negotiation failure has no side effects: the logout did not happen, nobody registered.
    let token = s.admin();
    assert_detail(
        &post_accept("/api/auth/logout", &token, "image/png", &json!({})),
        406,
        cannot,
    );
    s.me(&token);
    let reg = json!({"username": "ghostly", "password1": PASSWORD, "password2": PASSWORD});
    assert_detail(
        &post_accept("/api/auth/register", &Auth::None, "text/plain", &reg),
        406,
        cannot,
    );
    assert_body(&s.login("ghostly", PASSWORD), 400, BAD_LOGIN);
    // Signed URLs too: negotiation first.
    let signed = sign(&s, &token, "/api/users/self");
    let r = s.send(
        s.request(Method::GET, &local(&s, &signed), &Auth::None)
            .header("Accept", "text/plain"),
    );
    assert_detail(&r, 406, cannot);
}
