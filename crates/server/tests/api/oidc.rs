//! OpenID Connect sign-in (issue 14; spec sso-and-mfa §4.9, §5.1) against a real OpenID
//! Provider: npm `oidc-provider` run by `tests/oidc/op.mjs` on a loopback port (installed with
//! `npm ci` on first use). A "browser" (reqwest with a cookie jar, redirects followed by hand)
//! goes from our login to the provider, posts its login form, and comes back to our callback.
//! Bad ID tokens come from the provider itself in a tamper mode that rewrites the token in its
//! token endpoint's answer. Every refusal asserts that no account was created or linked.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use reqwest::blocking::Client;
use serde_json::{json, Value};

use crate::common::*;

const OP_PASSWORD: &str = "op-password";
const SECRET: &str = "cvat-secret-0123456789abcdef0123456789";

/// `npm ci` once per test process.
static NPM: Mutex<bool> = Mutex::new(false);

fn op_dir() -> PathBuf {
    workspace_root().join("tests/oidc")
}

fn ensure_npm() {
    let mut done = NPM.lock().unwrap_or_else(|e| e.into_inner());
    if *done || op_dir().join("node_modules/oidc-provider").is_dir() {
        *done = true;
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(op_dir())
        .status()
        .expect("npm (Debian's nodejs and npm) is needed for the OIDC tests");
    assert!(status.success(), "npm ci in tests/oidc failed");
    *done = true;
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The OpenID Provider; killed on drop.
struct Op {
    child: Child,
    issuer: String,
}

impl Op {
    fn start(port: u16, redirect: &str, tamper: &str) -> Op {
        ensure_npm();
        let mut child = Command::new("node")
            .arg("op.mjs")
            .current_dir(op_dir())
            .env("OP_PORT", port.to_string())
            .env("OP_REDIRECT", redirect)
            .env("OP_TAMPER", tamper)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        loop {
            match lines.next() {
                Some(Ok(l)) if l.starts_with("OP ready") => break,
                Some(Ok(_)) => continue,
                _ => panic!("the OpenID Provider did not start"),
            }
        }
        std::thread::spawn(move || lines.for_each(drop));
        Op {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Op {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Our server with provider `test`, and the provider.
struct Sso {
    server: TestServer,
    op: Op,
    _dir: tempfile::TempDir,
}

fn config(op_port: u16, extra: &str) -> String {
    format!(
        r#"
[oidc]
allow_insecure_http = true

[oidc.providers.test]
name = "Test OP"
issuer = "http://127.0.0.1:{op_port}"
client_id = "cvat"
client_secret = "{SECRET}"
scopes = ["openid", "email", "profile", "groups"]
{extra}

[oidc.providers.test.authorization]
mapping = [{{ groups = ["cvat-admins"], root_role = "admin" }}, {{ groups = ["workers"], root_role = "worker" }}]
"#
    )
}

fn start(tamper: &str, extra: &str) -> Sso {
    let dir = tempfile::tempdir().unwrap();
    let op_port = free_port();
    let file = dir.path().join("cvat.toml");
    std::fs::write(&file, config(op_port, extra)).unwrap();
    let server = TestServer::start_with(&["--config", file.to_str().unwrap()]);
    let op = Op::start(
        op_port,
        &server.url("/api/auth/oidc/test/login/callback"),
        tamper,
    );
    Sso {
        server,
        op,
        _dir: dir,
    }
}

/// A browser: a cookie jar, redirects followed by hand.
fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

struct Landing {
    status: u16,
    location: String,
    /// `(sessionid, csrftoken)` when set.
    session: Option<Auth>,
    body: String,
    callback_url: String,
}

fn join(base: &str, location: &str) -> String {
    reqwest::Url::parse(base)
        .unwrap()
        .join(location)
        .unwrap()
        .to_string()
}

/// From our login (`path`) through the provider's form (as `user`) to our callback's answer.
fn sign_in(s: &Sso, b: &Client, path: &str, user: &str) -> Landing {
    let mut url = s.server.url(path);
    let callback = s.server.url("/api/auth/oidc/test/login/callback");
    let mut posted = false;
    for _ in 0..20 {
        let r = b.get(&url).send().unwrap();
        let status = r.status().as_u16();
        let location = r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string());
        if url.starts_with(&callback) || (url.starts_with(&s.server.base) && location.is_none()) {
            return landing(r, url);
        }
        match (status, location) {
            (300..=399, Some(l)) => url = join(&url, &l),
            (200, None) if url.starts_with(&s.op.issuer) && !posted => {
                let body = r.text().unwrap();
                assert!(body.contains("<form"), "{body}");
                let action = body
                    .split("action=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap();
                let r = b
                    .post(join(&url, action))
                    .form(&[("login", user), ("password", OP_PASSWORD)])
                    .send()
                    .unwrap();
                assert_eq!(r.status().as_u16(), 303, "the provider's login form");
                posted = true;
                url = join(&url, r.headers()["location"].to_str().unwrap());
            }
            (status, _) => panic!("{url}: unexpected {status}: {}", r.text().unwrap()),
        }
    }
    panic!("too many redirects");
}

fn landing(r: reqwest::blocking::Response, url: String) -> Landing {
    let status = r.status().as_u16();
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let get = |name: &str| {
        cookies.iter().find_map(|c| {
            let (k, rest) = c.split_once('=')?;
            let v = rest.split(';').next()?.to_string();
            (k == name && !v.is_empty() && v != "\"\"").then_some(v)
        })
    };
    let session = match (get("sessionid"), get("csrftoken")) {
        (Some(sid), Some(csrf)) => Some(Auth::Session(sid, csrf)),
        _ => None,
    };
    Landing {
        status,
        location: r
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default(),
        session,
        body: r.text().unwrap(),
        callback_url: url,
    }
}

fn users(s: &TestServer) -> Vec<Value> {
    let r = s.get("/api/users?page_size=100", &s.admin());
    r.expect(200);
    r.json()["results"].as_array().unwrap().clone()
}

fn user_named(s: &TestServer, name: &str) -> Option<Value> {
    users(s).into_iter().find(|u| u["username"] == name)
}

fn identities(s: &TestServer, auth: &Auth) -> Vec<Value> {
    let r = s.get("/api/auth/identities", auth);
    r.expect(200);
    r.json().as_array().unwrap().clone()
}

#[test]
fn first_login_creates_the_account_with_mapped_groups_and_a_session() {
    let s = start("", "");
    let b = browser();
    let l = sign_in(&s, &b, "/api/auth/oidc/test/login?next=/after", "alice");
    assert_eq!(l.status, 302, "{}", l.body);
    assert_eq!(l.location, "/after");
    let session = l.session.expect("session and CSRF cookies");
    let me = s.server.me(&session);
    assert_eq!(me["username"], "alice");
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["first_name"], "Alice");
    assert_eq!(me["last_name"], "Admin");
    assert_eq!(
        me["groups"],
        json!(["admin"]),
        "cvat-admins → admin (case-insensitive)"
    );
    assert_eq!(me["is_superuser"], true);
    // No usable password: a password login with anything fails.
    s.server.login("alice", "").expect(400);
    let ids = identities(&s.server, &session);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids[0]["provider"], "test");
    assert_eq!(ids[0]["subject"], "u-alice");
    // The only way in: unlinking is refused.
    let r = s.server.send(
        s.server
            .request(
                reqwest::Method::DELETE,
                "/api/auth/identities/test",
                &session,
            )
            .header("X-CSRFToken", session.csrf()),
    );
    r.expect(409);
    assert_eq!(r.json()["code"], "last_login_method");
    s.server
        .delete("/api/auth/identities/other", &session)
        .expect(403);

    // A second sign-in opens the same account (no duplicate), with a new session.
    let b2 = browser();
    let again = sign_in(&s, &b2, "/api/auth/oidc/test/login", "alice");
    assert_eq!(again.status, 302);
    assert_eq!(again.location, "/", "default oidc_login_redirect");
    let second = again.session.unwrap();
    assert_ne!(second.csrf(), "");
    assert_eq!(s.server.me(&second)["id"], me["id"]);
    assert_eq!(
        users(&s.server)
            .iter()
            .filter(|u| u["username"] == "alice")
            .count(),
        1
    );
    // An SSO user makes a personal access token and uses it.
    let r = s.server.send(
        s.server
            .request(reqwest::Method::POST, "/api/auth/access_tokens", &second)
            .header("X-CSRFToken", second.csrf())
            .json(&json!({"name": "script"})),
    );
    r.expect(201);
    let pat = r.json()["value"].as_str().unwrap().to_string();
    assert_eq!(s.server.me(&Auth::Bearer(pat))["username"], "alice");
}

#[test]
fn linking_needs_a_verified_email_and_groups_follow_the_provider() {
    let s = start("", "");
    // A local account with carol's address (carol@example.com).
    let (carol_id, carol) = s.server.register("carol");
    // mallory claims the same address, unverified: refused, nothing linked or created.
    let l = sign_in(&s, &browser(), "/api/auth/oidc/test/login", "mallory");
    assert_eq!(l.status, 302);
    assert_eq!(l.location, "/auth/login?error=email_not_verified");
    assert!(l.session.is_none());
    assert!(user_named(&s.server, "mallory").is_none());
    assert!(identities(&s.server, &carol).is_empty());
    // carol at the provider, verified: linked to the local account, groups mapped (worker).
    let l = sign_in(&s, &browser(), "/api/auth/oidc/test/login", "carol-sso");
    assert_eq!(l.status, 302, "{}", l.body);
    let session = l.session.unwrap();
    let me = s.server.me(&session);
    assert_eq!(me["id"], carol_id);
    assert_eq!(me["username"], "carol");
    assert_eq!(me["groups"], json!(["worker"]));
    assert_eq!(identities(&s.server, &carol)[0]["subject"], "u-carol");
    // carol keeps her password, so she may unlink.
    let r = s.server.send(
        s.server
            .request(
                reqwest::Method::DELETE,
                "/api/auth/identities/test",
                &session,
            )
            .header("X-CSRFToken", session.csrf()),
    );
    r.expect(204);
    assert!(identities(&s.server, &carol).is_empty());
}

#[test]
fn no_account_is_created_when_the_provider_does_not_allow_it() {
    let s = start("", "auto_provision = false");
    let l = sign_in(&s, &browser(), "/api/auth/oidc/test/login", "bobby");
    assert_eq!(l.location, "/auth/login?error=account_not_found");
    assert!(user_named(&s.server, "bobby").is_none());
}

#[test]
fn login_refuses_unknown_providers_and_bad_next() {
    let s = start("", "");
    // advanced-auth lists the provider: booleans stay booleans, no secret or issuer URL.
    let aa = s.server.get("/api/server/advanced-auth", &Auth::None);
    aa.expect(200);
    let aa = aa.json();
    assert_eq!(aa["GOOGLE_ACCOUNT_AUTHENTICATION"], false);
    assert_eq!(aa["sso"]["enabled"], true);
    assert_eq!(
        aa["sso"]["providers"],
        json!([{"id": "test", "name": "Test OP", "protocol": "OIDC", "login_url": "/api/auth/oidc/test/login"}])
    );
    assert!(!aa.to_string().contains(SECRET) && !aa.to_string().contains(&s.op.issuer));
    // "Sign in with <provider>" on the console's sign-in and on the plain sign-in page, which
    // also says why a sign-in was refused.
    let page = s.server.get("/admin/login", &Auth::None);
    assert!(
        page.text
            .contains("/api/auth/oidc/test/login?next=%2Fadmin%2F"),
        "{}",
        page.text
    );
    assert!(page.text.contains("Sign in with Test OP"));
    let page = s.server.get_with(
        "/auth/login?error=email_not_verified",
        &Auth::None,
        &[("Accept", "text/html")],
    );
    page.expect(200);
    assert!(
        page.text.contains("Sign in with Test OP") && page.text.contains("not verified"),
        "{}",
        page.text
    );
    for p in ["nope", "TEST"] {
        let r = s
            .server
            .get(&format!("/api/auth/oidc/{p}/login"), &Auth::None);
        r.expect(404);
        assert_eq!(r.json()["code"], "provider_not_found");
    }
    // Raw query values, as sent (the last one decodes to CR LF).
    let long = format!("/{}", "a".repeat(2048));
    for next in [
        "%2F%2Fevil.test",
        "%2F%5Cevil.test",
        "https%3A%2F%2Fevil.test",
        "javascript%3Aalert(1)",
        "/%0d%0aSet-Cookie:x",
        &long,
    ] {
        let r = s.server.get(
            &format!("/api/auth/oidc/test/login?next={next}"),
            &Auth::None,
        );
        r.expect(400);
        assert_eq!(r.json()["code"], "invalid_next", "{next}");
    }
    // The login itself: 302 to the provider with PKCE S256, state and nonce, and the cookie.
    let r = browser()
        .get(s.server.url("/api/auth/oidc/test/login?next=/x"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with(&format!("{}/auth?", s.op.issuer)), "{to}");
    for p in [
        "code_challenge_method=S256",
        "code_challenge=",
        "state=",
        "nonce=",
        "response_type=code",
        "client_id=cvat",
    ] {
        assert!(to.contains(p), "{p} in {to}");
    }
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.starts_with("cvat_oidc_flow="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Lax")
            && cookie.contains("Path=/api/auth/oidc/"),
        "{cookie}"
    );
}

fn form_urlencoded_pair(k: &str, v: &str) -> String {
    reqwest::Url::parse_with_params("http://x/", &[(k, v)])
        .unwrap()
        .query()
        .unwrap()
        .to_string()
}

fn invalid_state(s: &Sso, b: &Client, url: &str) {
    let r = b.get(url).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert!(r
        .headers()
        .get_all("set-cookie")
        .iter()
        .all(|c| !c.to_str().unwrap().starts_with("sessionid=")));
    let body: Value = r.json().unwrap();
    assert_eq!(body["code"], "invalid_state", "{body}");
    let _ = s;
}

#[test]
fn state_is_checked_and_single_use_and_codes_are_redeemed_once() {
    let s = start("", "");
    // A finished sign-in's callback replayed (same browser): the flow is used.
    let b = browser();
    let l = sign_in(&s, &b, "/api/auth/oidc/test/login", "bobby");
    assert_eq!(l.status, 302);
    invalid_state(&s, &b, &l.callback_url);
    // In another browser (no flow cookie) too.
    invalid_state(&s, &browser(), &l.callback_url);
    // A fresh flow with the state changed by one character: refused, and the flow is spent.
    let b = browser();
    let r = b
        .get(s.server.url("/api/auth/oidc/test/login"))
        .send()
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let state = reqwest::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let mut wrong = state.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == 'A' { 'B' } else { 'A' });
    let cb = s.server.url("/api/auth/oidc/test/login/callback");
    invalid_state(&s, &b, &format!("{cb}?code=x&state={wrong}"));
    invalid_state(&s, &b, &format!("{cb}?code=x&state={state}"));
    // The first sign-in's code, with a new flow's valid state: the provider refuses the used
    // code, so the sign-in fails after the flow (token_exchange_failed).
    let b = browser();
    let r = b
        .get(s.server.url("/api/auth/oidc/test/login"))
        .send()
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let state = reqwest::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let old = reqwest::Url::parse(&l.callback_url).unwrap();
    let code = old
        .query_pairs()
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .to_string();
    let r = b
        .get(format!(
            "{cb}?{}&{}&{}",
            form_urlencoded_pair("code", &code),
            form_urlencoded_pair("state", &state),
            form_urlencoded_pair("iss", &s.op.issuer)
        ))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert_eq!(
        r.headers()["location"],
        "/auth/login?error=token_exchange_failed"
    );
    // An issuer mix-up is refused before any code is redeemed.
    let b = browser();
    let r = b
        .get(s.server.url("/api/auth/oidc/test/login"))
        .send()
        .unwrap();
    let to = r.headers()["location"].to_str().unwrap().to_string();
    let state = reqwest::Url::parse(&to)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .to_string();
    let r = b
        .get(format!(
            "{cb}?code=x&{}&iss=http%3A%2F%2Fevil.test",
            form_urlencoded_pair("state", &state)
        ))
        .send()
        .unwrap();
    assert_eq!(r.headers()["location"], "/auth/login?error=issuer_mismatch");
}

#[test]
fn bad_id_tokens_are_refused_and_nothing_is_created() {
    for tamper in [
        "payload",
        "signature",
        "none",
        "hs256",
        "otherkey",
        "aud",
        "azp",
        "expired",
        "iat_future",
        "nonce",
        "iss",
        "crit",
    ] {
        let s = start(tamper, "");
        let l = sign_in(&s, &browser(), "/api/auth/oidc/test/login", "bobby");
        assert_eq!(l.status, 302, "{tamper}: {}", l.body);
        assert_eq!(l.location, "/auth/login?error=id_token_invalid", "{tamper}");
        assert!(l.session.is_none(), "{tamper}");
        assert!(
            user_named(&s.server, "bobby").is_none(),
            "{tamper}: account created"
        );
        assert!(
            s.server.logs().contains("provider=test"),
            "{tamper}: logged with the provider"
        );
    }
}

#[test]
fn the_configuration_is_printed_with_the_secret_masked() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cvat.toml");
    std::fs::write(&file, config(9, "")).unwrap();
    let out = Command::new(server_bin())
        .args(["config", "--config", file.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("# [oidc.providers.test]"), "{text}");
    assert!(!text.contains(SECRET), "{text}");
    assert!(text.contains("oidc_allow_insecure_http = true"), "{text}");
    // A bad provider stops start-up with a message naming the key.
    std::fs::write(&file, config(9, "id_token_signing_algs = [\"none\"]")).unwrap();
    let out = Command::new(server_bin())
        .args([
            "serve",
            "--config",
            file.to_str().unwrap(),
            "--bind",
            "127.0.0.1:0",
        ])
        .args([
            "--database-url",
            &format!("sqlite://{}/db.sqlite", dir.path().display()),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("oidc.providers.test.id_token_signing_algs"),
        "{err}"
    );
}
