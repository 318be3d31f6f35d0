//! E-mail verification (spec account-lifecycle §3, issue 13) in its three modes, against a
//! real SMTP receiver: registration's answer, the confirmation mail and its link, the login
//! and Basic refusals of mandatory mode, re-sending with its cooldown, an administrator's
//! marks and address changes; and `/api/server/advanced-auth`.

use serde_json::json;

use crate::common::*;
use cvat_testkit::smtp::{Received, SmtpReceiver};

const CONFIRMED: &str = "/auth/email-confirmation";
const INCORRECT: &str = "/auth/incorrect-email-confirmation";
const UNVERIFIED: &str = "Unverified email";

fn start(smtp: &SmtpReceiver, mode: &str, cooldown: &str) -> TestServer {
    TestServer::start_with(&[
        "--smtp-url",
        &smtp.url(),
        "--mail-retry-delay",
        "0.2",
        "--public-url",
        "https://cvat.example.org",
        "--email-verification",
        mode,
        "--email-confirmation-cooldown",
        cooldown,
    ])
}

fn register(s: &TestServer, username: &str) -> Resp {
    s.send(s.register_request(username))
}

/// Opens a link path without following the redirect: status and `Location`.
fn open(s: &TestServer, path: &str) -> (u16, String) {
    let (status, location, _) = Browser::new(s).get(path);
    (status, location)
}

fn only_mail(smtp: &SmtpReceiver, n: usize) -> Received {
    let mut mails = smtp.wait_for(n);
    assert_eq!(mails.len(), n, "{mails:?}");
    mails.pop().unwrap()
}

#[test]
fn mandatory_mode_holds_the_account_until_the_link_is_opened_once() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, "mandatory", "180");

    // Registration: no token, no session, the flag set; the address is required.
    let r = register(&s, "carol_verify");
    r.expect(201);
    let body = r.json();
    assert_eq!(body["email_verification_required"], true);
    assert_eq!(body["key"], serde_json::Value::Null);
    assert!(r.cookie("sessionid").is_none(), "{:?}", r.cookies());
    let no_email = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "noaddress", "password1": PASSWORD, "password2": PASSWORD}),
    );
    no_email.expect(400);
    assert_eq!(
        no_email.json(),
        json!({"email": ["This field is required."]})
    );

    // The mail: allauth's subject, a link to the API route on the public URL.
    let mail = only_mail(&smtp, 1);
    assert_eq!(mail.to, vec!["carol_verify@example.com".to_string()]);
    assert_eq!(
        mail.header("Subject").unwrap(),
        "[cvat.example.org] Please Confirm Your Email Address"
    );
    assert!(mail
        .decoded()
        .contains("https://cvat.example.org/api/auth/account-confirm-email/"));
    let link = mail.confirmation_path();
    assert!(link.ends_with('/'), "{link}");

    // Login with the right password: CVAT's HTML refusal, and the mail goes out again only
    // after the cooldown (none here within 180 s). A wrong password gets the JSON error.
    let refused = s.login("carol_verify", PASSWORD);
    refused.expect(400);
    assert_eq!(refused.text, UNVERIFIED);
    assert!(refused
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let by_email = s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": "carol_verify@example.com", "password": PASSWORD}),
    );
    assert_eq!(
        (by_email.status.as_u16(), by_email.text.as_str()),
        (400, UNVERIFIED)
    );
    let wrong = s.login("carol_verify", "not-the-password");
    wrong.expect(400);
    assert_eq!(
        wrong.json(),
        json!({"non_field_errors": ["Unable to log in with provided credentials."]})
    );
    let basic = s.get("/api/users/self", &Auth::basic("carol_verify", PASSWORD));
    assert_detail(&basic, 401, "E-mail is not verified.");
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 1, "a mail inside the cooldown");

    // A tampered key changes nothing; the real one confirms once.
    let tampered = link.replacen("account-confirm-email/", "account-confirm-email/1", 1);
    assert_eq!(open(&s, &tampered), (302, INCORRECT.to_string()));
    s.login("carol_verify", PASSWORD).expect(400);
    assert_eq!(open(&s, &link), (302, CONFIRMED.to_string()));
    assert_eq!(open(&s, &link), (302, INCORRECT.to_string()));

    let token = s.token("carol_verify", PASSWORD);
    let me = s.me(&token);
    assert_eq!(me["email_verified"], true);
    s.get("/api/users/self", &Auth::basic("carol_verify", PASSWORD))
        .expect(200);
}

#[test]
fn the_link_also_confirms_by_form_post_with_csrf() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, "mandatory", "180");
    register(&s, "dave_verify").expect(201);
    let link = only_mail(&smtp, 1).confirmation_path();
    // Without the CSRF pair: 403, nothing confirmed.
    s.post(&link, &Auth::None, json!({})).expect(403);
    s.login("dave_verify", PASSWORD).expect(400);
    let with_csrf = |path: &str| {
        s.send(
            s.request(reqwest::Method::POST, path, &Auth::None)
                .header("Cookie", "csrftoken=abcdefghijklmnopqrstuvwxyz012345")
                .header("X-CSRFToken", "abcdefghijklmnopqrstuvwxyz012345"),
        )
    };
    let bad = with_csrf("/api/auth/account-confirm-email/zz-zz-00/");
    assert_eq!(bad.status.as_u16(), 404);
    // The client follows the redirect to the UI page, which this server does not serve.
    let done = s.send(
        reqwest::blocking::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(s.url(&link))
            .header("Cookie", "csrftoken=abcdefghijklmnopqrstuvwxyz012345")
            .header("X-CSRFToken", "abcdefghijklmnopqrstuvwxyz012345"),
    );
    assert_eq!(done.status.as_u16(), 302);
    assert_eq!(done.header("location").unwrap(), CONFIRMED);
    s.login("dave_verify", PASSWORD).expect(200);
}

#[test]
fn optional_mode_logs_in_at_once_but_keeps_the_unconfirmed_address_out_of_logins_and_resets() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, "optional", "0");
    let r = register(&s, "erin_verify");
    r.expect(201);
    assert_eq!(r.json()["email_verification_required"], false);
    let token = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    assert_eq!(s.me(&token)["email_verified"], false);
    let first = only_mail(&smtp, 1);

    // The username works; the address does not name the account until it is confirmed.
    s.login("erin_verify", PASSWORD).expect(200);
    let by_email = s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": "erin_verify@example.com", "password": PASSWORD}),
    );
    by_email.expect(400);
    s.get(
        "/api/users/self",
        &Auth::basic("erin_verify@example.com", PASSWORD),
    )
    .expect(401);
    s.post(
        "/api/auth/password/reset",
        &Auth::None,
        json!({"email": "erin_verify@example.com"}),
    )
    .expect(200);

    // Re-sending (cooldown 0 here): the same answer for any address, a new mail for this one.
    for email in ["erin_verify@example.com", "nobody@example.com"] {
        assert_detail(
            &s.post(
                "/api/auth/resend-email",
                &Auth::None,
                json!({ "email": email }),
            ),
            200,
            "ok",
        );
    }
    let bad = s.post(
        "/api/auth/resend-email",
        &Auth::None,
        json!({"email": "no"}),
    );
    bad.expect(400);
    assert_eq!(
        bad.json(),
        json!({"email": ["Enter a valid email address."]})
    );
    let second = only_mail(&smtp, 2);
    assert!(second.decoded().contains("account-confirm-email/"));
    assert!(
        !smtp
            .messages()
            .iter()
            .any(|m| m.decoded().contains("reset")),
        "a reset mail went to an unconfirmed address"
    );

    // Either link confirms (both are for this address); then the address logs in.
    assert_eq!(
        open(&s, &first.confirmation_path()),
        (302, CONFIRMED.to_string())
    );
    assert_eq!(
        open(&s, &second.confirmation_path()),
        (302, INCORRECT.to_string())
    );
    s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": "erin_verify@example.com", "password": PASSWORD}),
    )
    .expect(200);
}

#[test]
fn an_administrator_marks_addresses_and_a_new_address_needs_its_own_confirmation() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, "mandatory", "180");
    let admin = s.admin();
    let r = register(&s, "frank_verify");
    let id = s.get("/api/users?search=frank_verify", &admin).json()["results"][0]["id"]
        .as_i64()
        .unwrap();
    assert_eq!(r.json()["email_verification_required"], true);
    only_mail(&smtp, 1);

    // Only administrators mark addresses; a bad value is a field error.
    let bad = s.patch(&user_path(id), &admin, json!({"email_verified": "maybe"}));
    bad.expect(400);
    assert!(bad.json()["email_verified"].is_array(), "{}", bad.text);
    let marked = s.patch(&user_path(id), &admin, json!({"email_verified": true}));
    marked.expect(200);
    assert_eq!(marked.json()["email_verified"], true);
    let token = s.token("frank_verify", PASSWORD);
    let own = s.patch(&user_path(id), &token, json!({"email_verified": false}));
    own.expect(400);

    // The console shows the state and marks a pending address confirmed too.
    s.patch(&user_path(id), &admin, json!({"email_verified": false}))
        .expect(200);
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("confirmation pending"), "{page}");
    let csrf = b.csrf(&page);
    let (status, location, _) = b.post(
        &format!("/admin/users/{id}/active"),
        &[("csrfmiddlewaretoken", &csrf), ("email_verified", "true")],
    );
    assert_eq!(
        (status, location.as_str()),
        (303, &*format!("/admin/users/{id}?done=verified"))
    );
    assert_eq!(s.get(&user_path(id), &admin).json()["email_verified"], true);
    assert_eq!(s.get(&user_path(id), &admin).json()["is_active"], true);
    let pending_mail = only_mail(&smtp, 2);
    assert!(pending_mail.decoded().contains("account-confirm-email/"));

    // A new address: pending again, mailed to the new address; the old link is dead.
    let moved = s.patch(
        &user_path(id),
        &admin,
        json!({"email": "frank.new@example.com"}),
    );
    moved.expect(200);
    assert_eq!(moved.json()["email_verified"], false);
    let mail = only_mail(&smtp, 3);
    assert_eq!(mail.to, vec!["frank.new@example.com".to_string()]);
    assert_eq!(
        s.login("frank_verify", PASSWORD).text,
        UNVERIFIED,
        "mandatory mode: the new address must be confirmed first"
    );
    assert_eq!(
        open(&s, &mail.confirmation_path()),
        (302, CONFIRMED.to_string())
    );
    s.login("frank_verify", PASSWORD).expect(200);

    // An address set with `email_verified` in the same PATCH needs no mail.
    let trusted = s.patch(
        &user_path(id),
        &admin,
        json!({"email": "frank.third@example.com", "email_verified": true}),
    );
    assert_eq!(trusted.json()["email_verified"], true);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 3);
}

#[test]
fn without_verification_nothing_is_mailed_and_the_link_route_is_absent() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, "none", "180");
    let r = register(&s, "gina_verify");
    r.expect(201);
    assert_eq!(r.json()["email_verification_required"], false);
    assert!(r.json()["key"].is_string());
    let token = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    assert_eq!(s.me(&token)["email_verified"], serde_json::Value::Null);
    let (status, _) = open(&s, "/api/auth/account-confirm-email/1-2-3/");
    assert_eq!(status, 404);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(smtp.messages().is_empty());
}

#[test]
fn advanced_auth_answers_cvat_2_3_shape_with_booleans_and_what_is_on() {
    let s = TestServer::start();
    let r = s.get("/api/server/advanced-auth", &Auth::None);
    r.expect(200);
    assert_eq!(
        r.json(),
        json!({
            "GOOGLE_ACCOUNT_AUTHENTICATION": false,
            "GITHUB_ACCOUNT_AUTHENTICATION": false,
            "password": {"enabled": true, "registration": true, "registration_domains": [], "min_length": 8},
            "mfa": {"enabled": true, "methods": ["totp", "recovery_code"], "enforce": "none", "otp_header": "X-CVAT-OTP"},
            "ldap": {"enabled": false, "email_login": false},
            "sso": {"enabled": false, "providers": []}
        })
    );
    s.get("/api/server/advanced-auth", &Auth::Token("nonsense".into()))
        .expect(401);
    let closed =
        TestServer::start_with(&["--registration-disabled", "--mfa-basic-otp-header=false"]);
    let r = closed.get("/api/server/advanced-auth", &Auth::None).json();
    assert_eq!(r["password"]["registration"], false);
    assert_eq!(r["mfa"]["otp_header"], serde_json::Value::Null);
}
