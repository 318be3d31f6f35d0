//! Outgoing mail and password reset (spec account-lifecycle §1–2), against a real SMTP
//! receiver on loopback: the mail is read as the receiver got it, and the link in it finishes
//! the flow. Outages, a `kill -9` before the send, header injection, the operators' queue.

pub(crate) mod smtp;

use std::process::Command;

use reqwest::Method;
use serde_json::json;

use self::smtp::{unused_port, SmtpReceiver};
use crate::common::*;

const RESET: &str = "/api/auth/password/reset";
const CONFIRM: &str = "/api/auth/password/reset/confirm";
const SENT: &str = "Password reset e-mail has been sent.";
const DONE: &str = "Password has been reset with the new password.";
const NEW_PASSWORD: &str = "Brand-New-Secret-77";

/// Flags for a server sending to `smtp_url`, retrying quickly.
fn mail_flags(smtp_url: &str) -> Vec<String> {
    [
        "--smtp-url",
        smtp_url,
        "--mail-retry-delay",
        "0.2",
        "--smtp-timeout",
        "2",
        "--public-url",
        "https://cvat.example.org/",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn start(smtp_url: &str) -> TestServer {
    let flags = mail_flags(smtp_url);
    TestServer::start_with(&flags.iter().map(String::as_str).collect::<Vec<_>>())
}

/// `cvat-server mail ARGS...` on the server's database; its standard output.
fn mail_command(s: &TestServer, args: &[&str]) -> (bool, String) {
    let out = Command::new(server_bin())
        .args(["mail", "--database-url", &s.db.url])
        .args(args)
        .output()
        .expect("run cvat-server mail");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Waits (up to a minute) until the outbox lists `n` sent mails: the receiver has a message a
/// moment before the worker records it as sent.
fn wait_until_sent(s: &TestServer, n: usize) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, sent) = mail_command(s, &["list", "--status", "sent"]);
        if sent.lines().count() > n {
            return sent;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "not {n} sent:\n{sent}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

fn request_reset(s: &TestServer, email: &str) {
    assert_detail(
        &s.post(RESET, &Auth::None, json!({ "email": email })),
        200,
        SENT,
    );
}

fn confirm(s: &TestServer, uid: &str, token: &str, p1: &str, p2: &str) -> Resp {
    s.post(
        CONFIRM,
        &Auth::None,
        json!({"uid": uid, "token": token, "new_password1": p1, "new_password2": p2}),
    )
}

#[test]
fn a_reset_mail_arrives_and_its_link_sets_the_password_and_revokes_every_old_credential() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp.url());
    let (id, token) = s.register("alice_reset");
    let session = s.login("alice_reset", PASSWORD);
    let session = Auth::Session(
        session.cookie("sessionid").unwrap(),
        session.cookie("csrftoken").unwrap(),
    );
    let pat = s.post("/api/auth/access_tokens", &token, json!({"name": "cli"}));
    let pat = Auth::Bearer(pat.json()["value"].as_str().unwrap().to_string());
    s.get("/api/users/self", &pat).expect(200);

    // Any case of the address; the mail goes to the address as typed (CVAT 2.3.0).
    request_reset(&s, "Alice_Reset@Example.com");
    let mail = smtp.wait_for(1).pop().unwrap();
    assert_eq!(
        mail.to,
        vec!["Alice_Reset@Example.com".to_string()],
        "{mail:?}"
    );
    assert_eq!(mail.from, "webmaster@localhost");
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("[cvat.example.org] Password Reset E-mail")
    );
    assert!(mail
        .header("Message-ID")
        .is_some_and(|m| m.starts_with('<') && m.ends_with("@localhost>")));
    assert!(mail
        .header("Content-Type")
        .unwrap()
        .starts_with("multipart/alternative"));
    let (link, uid, reset_token) = mail.reset_link();
    assert!(
        link.starts_with("https://cvat.example.org/auth/password/reset/confirm?uid="),
        "{link}"
    );
    assert_eq!(uid, format!("{id}"), "base36 of a small id is the id");
    assert!(
        reset_token
            .split_once('-')
            .is_some_and(|(ts, h)| !ts.is_empty()
                && h.len() == 32
                && h.chars().all(|c| c.is_ascii_hexdigit())),
        "{reset_token}"
    );
    assert!(mail
        .decoded()
        .contains("Your username, in case you've forgotten: alice_reset"));
    // The mail's secrets never reach the log.
    assert!(!s.logs().contains(&reset_token));

    assert_detail(
        &confirm(&s, &uid, &reset_token, NEW_PASSWORD, NEW_PASSWORD),
        200,
        DONE,
    );
    s.login("alice_reset", PASSWORD).expect(400);
    s.login("alice_reset", NEW_PASSWORD).expect(200);
    for old in [&token, &session, &pat] {
        s.get("/api/users/self", old).expect(401);
    }
    // The link worked once.
    assert_eq!(
        confirm(
            &s,
            &uid,
            &reset_token,
            "Another-Secret-88",
            "Another-Secret-88"
        )
        .json(),
        json!({"token": ["Invalid value"]})
    );
    s.login("alice_reset", NEW_PASSWORD).expect(200);

    // Operators see it as sent, once, without its body.
    let listed = wait_until_sent(&s, 1);
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(listed.contains("Alice_Reset@Example.com") && listed.contains("password_reset"));
    assert!(!listed.contains(&reset_token));
    let (ok, refused) = mail_command(
        &s,
        &[
            "retry",
            listed
                .lines()
                .nth(1)
                .unwrap()
                .split_whitespace()
                .next()
                .unwrap(),
        ],
    );
    assert!(!ok && refused.contains("never sent again"), "{refused}");
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn unknown_and_inactive_addresses_get_the_same_answer_and_no_mail() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp.url());
    let (inactive, _) = s.register("sleepy_user");
    s.admin_patch(inactive, json!({"is_active": false}))
        .expect(200);
    request_reset(&s, "nobody@example.com");
    request_reset(&s, "sleepy_user@example.com");
    s.register("awake_user");
    request_reset(&s, "awake_user@example.com");
    let mails = smtp.wait_for(1);
    assert_eq!(mails[0].to, vec!["awake_user@example.com".to_string()]);
    let (_, listed) = mail_command(&s, &["list"]);
    assert_eq!(
        listed.lines().count(),
        2,
        "one mail queued in all:\n{listed}"
    );
}

#[test]
fn bad_reset_input_gets_clear_errors_and_changes_nothing() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp.url());
    let (_, token) = s.register("carol_bad");
    let post = |path: &str, body| s.post(path, &Auth::None, body);
    let cases = [
        (json!({}), json!({"email": ["This field is required."]})),
        (
            json!({"email": ""}),
            json!({"email": ["This field may not be blank."]}),
        ),
        (
            json!({"email": "not-an-address"}),
            json!({"email": ["Enter a valid email address."]}),
        ),
        (
            json!({"email": "a@b.c\r\nBcc: x@example.com"}),
            json!({"email": ["Enter a valid email address."]}),
        ),
    ];
    for (body, expected) in cases {
        let r = post(RESET, body);
        r.expect(400);
        assert_eq!(r.json(), expected);
    }
    s.get(RESET, &Auth::None).expect(405);
    s.get(CONFIRM, &Auth::None).expect(405);
    // An invalid Authorization header is refused before anything else.
    s.send(
        s.request(Method::POST, RESET, &Auth::Token("0".repeat(40)))
            .json(&json!({"email": "a@example.com"})),
    )
    .expect(401);

    let r = post(CONFIRM, json!({}));
    r.expect(400);
    assert_eq!(
        r.json(),
        json!({"new_password1": ["This field is required."], "new_password2": ["This field is required."],
               "uid": ["This field is required."], "token": ["This field is required."]})
    );

    request_reset(&s, "carol_bad@example.com");
    let (_, uid, good) = smtp.wait_for(1)[0].reset_link();
    let tampered = format!(
        "{}{}",
        &good[..good.len() - 1],
        if good.ends_with('0') { '1' } else { '0' }
    );
    let checks = [
        // Order of checks: uid before token before the passwords.
        (
            ("zzzzzz", good.as_str(), "x", "y"),
            json!({"uid": ["Invalid value"]}),
        ),
        (
            ("!", good.as_str(), NEW_PASSWORD, NEW_PASSWORD),
            json!({"uid": ["Invalid value"]}),
        ),
        (
            (uid.as_str(), tampered.as_str(), "x", "y"),
            json!({"token": ["Invalid value"]}),
        ),
        (
            (uid.as_str(), "abc", NEW_PASSWORD, NEW_PASSWORD),
            json!({"token": ["Invalid value"]}),
        ),
        (
            (uid.as_str(), good.as_str(), NEW_PASSWORD, "Other-Secret-99"),
            json!({"new_password2": ["The two password fields didn\u{2019}t match."]}),
        ),
        (
            (uid.as_str(), good.as_str(), "12345678", "12345678"),
            json!({"new_password2": ["This password is too common.", "This password is entirely numeric."]}),
        ),
        (
            (uid.as_str(), good.as_str(), "carol_bad", "carol_bad"),
            json!({"new_password2": ["The password is too similar to the username."]}),
        ),
    ];
    for ((u, t, p1, p2), expected) in checks {
        let r = confirm(&s, u, t, p1, p2);
        r.expect(400);
        assert_eq!(r.json(), expected, "uid {u} token {t} {p1}/{p2}");
    }
    // Nothing changed: the old password and token work (Basic auth writes no `last_login`,
    // which would end the link), and the link still does, once.
    s.get("/api/users/self", &token).expect(200);
    s.get("/api/users/self", &Auth::basic("carol_bad", PASSWORD))
        .expect(200);
    assert_detail(
        &confirm(&s, &uid, &good, NEW_PASSWORD, NEW_PASSWORD),
        200,
        DONE,
    );
    s.get("/api/users/self", &token).expect(401);
}

#[test]
fn a_reset_link_expires_after_the_configured_timeout() {
    let smtp = SmtpReceiver::start();
    let mut flags = mail_flags(&smtp.url());
    flags.extend(["--password-reset-timeout".to_string(), "1".to_string()]);
    let s = TestServer::start_with(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    s.register("dave_late");
    request_reset(&s, "dave_late@example.com");
    let (_, uid, token) = smtp.wait_for(1)[0].reset_link();
    // The token's clock counts whole seconds: three seconds are more than one, always.
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(
        confirm(&s, &uid, &token, NEW_PASSWORD, NEW_PASSWORD).json(),
        json!({"token": ["Invalid value"]})
    );
    s.login("dave_late", PASSWORD).expect(200);
}

#[test]
fn a_mail_refused_for_a_while_is_retried_and_arrives_once() {
    let smtp = SmtpReceiver::start();
    smtp.refuse(true);
    let s = start(&smtp.url());
    s.register("erin_retry");
    request_reset(&s, "erin_retry@example.com");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while smtp.refused() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "no retries: {}",
            s.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (_, pending) = mail_command(&s, &["list", "--status", "pending"]);
    assert!(
        pending.contains("erin_retry@example.com") && pending.contains("451"),
        "{pending}"
    );
    smtp.refuse(false);
    let mail = smtp.wait_for(1).pop().unwrap();
    assert_eq!(mail.to, vec!["erin_retry@example.com".to_string()]);
    // Sent is final: the worker keeps running and never sends it again.
    let sent = wait_until_sent(&s, 1);
    assert_eq!(sent.lines().count(), 2, "{sent}");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn a_mail_queued_before_a_kill_9_is_sent_once_after_the_restart() {
    // The SMTP server is down when the request is acknowledged: the mail cannot have left.
    let port = unused_port();
    let url = format!("smtp://127.0.0.1:{port}");
    let s = start(&url);
    s.register("frank_crash");
    request_reset(&s, "frank_crash@example.com");
    let killed = Command::new("kill")
        .args(["-9", &s.pid().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let db = s.stop();
    let smtp = SmtpReceiver::start_on(port);
    let flags = mail_flags(&url);
    let s = TestServer::serve(db, &flags.iter().map(String::as_str).collect::<Vec<_>>());
    let mail = smtp.wait_for(1).pop().unwrap();
    assert_eq!(mail.to, vec!["frank_crash@example.com".to_string()]);
    let (_, uid, token) = mail.reset_link();
    assert_detail(
        &confirm(&s, &uid, &token, NEW_PASSWORD, NEW_PASSWORD),
        200,
        DONE,
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 1);
}

#[test]
fn line_breaks_in_a_name_never_reach_the_smtp_headers() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp.url());
    let (id, _) = s.register("grace_inject");
    s.admin_patch(
        id,
        json!({"first_name": "Grace\r\nBcc: victim@example.com\r\nX-Injected: 1", "last_name": "\nSubject: hi"}),
    )
    .expect(200);
    request_reset(&s, "grace_inject@example.com");
    let mail = smtp.wait_for(1).pop().unwrap();
    assert_eq!(mail.to, vec!["grace_inject@example.com".to_string()]);
    for line in mail.headers().split("\r\n") {
        let name = line.split(':').next().unwrap().to_ascii_lowercase();
        assert!(
            !["bcc", "x-injected"].contains(&name.as_str()),
            "{}",
            mail.headers()
        );
    }
    assert_eq!(
        mail.headers().matches("\r\nSubject:").count()
            + usize::from(mail.headers().starts_with("Subject:")),
        1
    );
}

#[test]
fn the_console_lists_the_queue_and_retries_a_failed_mail() {
    let smtp = SmtpReceiver::start();
    smtp.refuse(true);
    let mut flags = mail_flags(&smtp.url());
    flags.extend(["--mail-max-attempts".to_string(), "2".to_string()]);
    let s = TestServer::start_with(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    s.register("heidi_console");
    request_reset(&s, "heidi_console@example.com");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let failed = loop {
        let (_, failed) = mail_command(&s, &["list", "--status", "failed"]);
        if failed.lines().count() == 2 {
            break failed;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "never failed: {}",
            s.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    let id = failed
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();

    let login = s.login(ADMIN, ADMIN_PASSWORD);
    let (sid, csrf) = (
        login.cookie("sessionid").unwrap(),
        login.cookie("csrftoken").unwrap(),
    );
    let admin = Auth::Session(sid.clone(), csrf.clone());
    let page = s.get("/admin/mail?status=failed", &admin);
    page.expect(200);
    assert!(
        page.text.contains("heidi_console@example.com") && page.text.contains("451"),
        "{}",
        page.text
    );
    assert!(page.text.contains(&format!("/admin/mail/{id}/retry")));
    // Not for other users.
    let (_, user) = s.register("ivan_nosy");
    let _ = user;
    let other = s.login("ivan_nosy", PASSWORD);
    let nosy = Auth::Session(
        other.cookie("sessionid").unwrap(),
        other.cookie("csrftoken").unwrap(),
    );
    s.get("/admin/mail", &nosy).expect(403);
    // A retry without the CSRF token is refused; with it, the mail goes out.
    let retry = format!("/admin/mail/{id}/retry");
    s.send(s.request(Method::POST, &retry, &admin).form(&[("x", "y")]))
        .expect(403);
    smtp.refuse(false);
    let r = s.send(
        s.request(Method::POST, &retry, &admin)
            .form(&[("csrfmiddlewaretoken", csrf.as_str())]),
    );
    // (The test client follows the redirect back to the list.)
    r.expect(200);
    assert!(r.text.contains("queued to be sent again"), "{}", r.text);
    assert_eq!(
        smtp.wait_for(1)[0].to,
        vec!["heidi_console@example.com".to_string()]
    );
}

#[test]
fn without_smtp_mails_are_written_to_files_beside_the_database() {
    let s = TestServer::start();
    let Some(path) = s.db.url.strip_prefix("sqlite://") else {
        return; // PostgreSQL: the folder would be ./cvat-data
    };
    let dir = std::path::Path::new(path).parent().unwrap().join("mail");
    s.register("judy_dev");
    request_reset(&s, "judy_dev@example.com");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let file = loop {
        let found = std::fs::read_dir(&dir)
            .ok()
            .and_then(|d| d.flatten().next());
        if let Some(f) = found {
            break f.path();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no mail file in {}",
            dir.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("To: judy_dev@example.com") || text.contains("<judy_dev@example.com>"),
        "{text}"
    );
    assert!(text.contains("Password Reset E-mail"));
    assert!(s.logs().contains("development backend"));
}

#[test]
fn the_printed_configuration_masks_the_smtp_password() {
    let out = Command::new(server_bin())
        .args([
            "config",
            "--smtp-url",
            "smtps://mailer:s3cret-pw@mail.example.com:465",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("smtp_url = \"smtps://mailer:********@mail.example.com:465\""),
        "{text}"
    );
    assert!(!text.contains("s3cret-pw"));
}

#[test]
fn two_replicas_on_one_database_send_each_mail_once() {
    let smtp = SmtpReceiver::start();
    let a = start(&smtp.url());
    let flags = mail_flags(&smtp.url());
    let b = a.replica(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    const USERS: usize = 12;
    for i in 0..USERS {
        a.register(&format!("replica_user_{i}"));
    }
    // Requests to both replicas: both workers are woken and race for the rows.
    for i in 0..USERS {
        let s = if i % 2 == 0 { &a } else { &b };
        request_reset(s, &format!("replica_user_{i}@example.com"));
    }
    smtp.wait_for(USERS);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let mails = smtp.messages();
    let mut ids: Vec<String> = mails
        .iter()
        .map(|m| m.header("Message-ID").unwrap())
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        (mails.len(), ids.len()),
        (USERS, USERS),
        "each mail exactly once"
    );
}

#[test]
fn reset_requests_are_throttled_per_address_like_failed_logins() {
    let smtp = SmtpReceiver::start();
    let mut flags = mail_flags(&smtp.url());
    flags.extend(["--login-failures-per-account".to_string(), "2".to_string()]);
    let s = TestServer::start_with(&flags.iter().map(String::as_str).collect::<Vec<_>>());
    s.register("kim_throttle");
    request_reset(&s, "kim_throttle@example.com");
    request_reset(&s, "KIM_throttle@example.com");
    let r = s.post(
        RESET,
        &Auth::None,
        json!({"email": "kim_throttle@example.com"}),
    );
    r.expect(429);
    assert!(r
        .header("retry-after")
        .is_some_and(|v| v.parse::<u64>().unwrap() > 0));
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("Too many password reset requests"));
    // Unknown addresses are counted alike (no enumeration), other addresses are not held up.
    request_reset(&s, "nobody@example.com");
    request_reset(&s, "nobody@example.com");
    s.post(RESET, &Auth::None, json!({"email": "nobody@example.com"}))
        .expect(429);
    request_reset(&s, "somebody@example.com");
    assert_eq!(smtp.wait_for(2).len(), 2);
}
