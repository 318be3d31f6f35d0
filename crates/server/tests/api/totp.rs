//! TOTP second factor (issue 15; spec sso-and-mfa §4.3–§4.7) through the real server, on the
//! engine the run selects. Codes are computed here with `totp-rs` from the secret the server
//! returned (RFC 6238: SHA-1, 6 digits, 30 s), an independent use of the algorithm.
//!
//! A step is accepted once and never before a later one, so each test plans its codes around
//! one base time: the step before it first (enrolment), then it, then the next one; it waits
//! for a fresh step first so the plan holds on a slow machine. Every refusal asserts that
//! nothing changed.

use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, Totp};

use crate::common::*;
use cvat_testkit::smtp::SmtpReceiver;

const LOGIN: &str = "/api/auth/login";
const STEP_TWO: &str = "/api/auth/login/mfa";
const STATUS: &str = "/api/auth/mfa";
const SETUP: &str = "/api/auth/mfa/totp/setup";
const CONFIRM: &str = "/api/auth/mfa/totp/confirm";
const DISABLE: &str = "/api/auth/mfa/totp/disable";
const RECOVERY: &str = "/api/auth/mfa/recovery-codes";

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A base time with at least 12 s left in its step.
fn fresh_step() -> u64 {
    let t = now();
    if 30 - t % 30 < 12 {
        std::thread::sleep(std::time::Duration::from_secs(30 - t % 30 + 1));
    }
    now()
}

/// The authenticator of a secret as the server gave it (base32).
fn app(secret: &str) -> Totp {
    let bytes = Secret::try_from_base32(secret).unwrap().to_vec();
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(bytes)
        .build()
        .unwrap()
}

fn code(app: &Totp, t: u64) -> String {
    app.generate(t).to_string()
}

#[track_caller]
fn expect_code(r: &Resp, status: u16, code: &str) {
    r.expect(status);
    assert_eq!(r.json()["code"], code, "{}", r.text);
    assert!(r.json()["detail"].as_str().is_some_and(|d| !d.is_empty()));
    r.expect_no_cookies("a refusal");
}

fn enabled(s: &TestServer, auth: &Auth) -> bool {
    let r = s.get(STATUS, auth);
    r.expect(200);
    r.json()["totp"]["enabled"].as_bool().unwrap()
}

fn admin_view(s: &TestServer, id: i64) -> Value {
    let r = s.get(&format!("/api/users/{id}/mfa"), &s.admin());
    r.expect(200);
    r.json()
}

/// Enrols `username` (password `PASSWORD`) with the code of the step before `t0`; the app,
/// the recovery codes and the new token the confirmation answered.
fn enrol(s: &TestServer, auth: &Auth, t0: u64) -> (Totp, Vec<String>, Auth) {
    let r = s.post(SETUP, auth, json!({"password": PASSWORD}));
    r.expect(200);
    let app = app(r.json()["secret"].as_str().unwrap());
    let r = s.post(CONFIRM, auth, json!({"code": code(&app, t0 - 30)}));
    r.expect(200);
    let codes: Vec<String> = r.json()["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let key = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    (app, codes, key)
}

/// A password login of an enrolled user: the 401 and its ticket.
fn ticket(s: &TestServer, username: &str) -> String {
    let r = s.login(username, PASSWORD);
    expect_code(&r, 401, "mfa_required");
    r.json()["mfa_token"].as_str().unwrap().to_string()
}

fn step_two(s: &TestServer, ticket: &str, field: &str, value: &str) -> Resp {
    s.post(
        STEP_TWO,
        &Auth::None,
        json!({"mfa_token": ticket, field: value}),
    )
}

#[test]
fn enrolment_login_step_two_basic_and_tokens() {
    let s = TestServer::start();
    let (id, token) = s.register("alice_totp");
    assert!(!enabled(&s, &token));

    // Setup needs the password; a wrong one changes nothing.
    expect_code(&s.post(SETUP, &token, json!({})), 400, "invalid_request");
    expect_code(
        &s.post(SETUP, &token, json!({"password": "wrong-password"})),
        400,
        "password_invalid",
    );
    expect_code(
        &s.post(CONFIRM, &token, json!({"code": "123456"})),
        409,
        "mfa_setup_missing",
    );
    let r = s.post(SETUP, &token, json!({"password": PASSWORD}));
    r.expect(200);
    let first = r.json();
    let secret = first["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(
        first["otpauth_url"],
        format!("otpauth://totp/CVAT:alice_totp?secret={secret}&issuer=CVAT")
    );
    assert_eq!(
        (
            first["algorithm"].as_str(),
            first["digits"].as_i64(),
            first["period"].as_i64()
        ),
        (Some("SHA1"), Some(6), Some(30))
    );
    assert!(first["qr_svg"].as_str().unwrap().contains("<svg"));
    assert!(!s.logs().contains(secret), "the secret was logged");

    // A wrong code, and a code of the replaced secret, leave the factor off.
    let old = app(secret);
    let r = s.post(SETUP, &token, json!({"password": PASSWORD}));
    r.expect(200);
    let new = app(r.json()["secret"].as_str().unwrap());
    let t0 = fresh_step();
    for bad in [
        code(&old, t0),
        "000000".into(),
        "12345".into(),
        "12345a".into(),
    ] {
        if bad == code(&new, t0) {
            continue;
        }
        expect_code(
            &s.post(CONFIRM, &token, json!({"code": bad})),
            400,
            "mfa_code_invalid",
        );
        assert!(!enabled(&s, &token));
    }
    let r = s.post(CONFIRM, &token, json!({"code": code(&new, t0 - 30)}));
    r.expect(200);
    let codes = r.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.as_str().unwrap().len() == 11));
    let key = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    // Enabling signed the password-only token out; the new key passed both factors.
    s.assert_me_refused(&token, "Invalid token.");
    let status = s.get(STATUS, &key).json();
    assert_eq!(status["totp"]["enabled"], true);
    assert_eq!(status["recovery_codes"]["remaining"], 10);
    assert_eq!(status["session_mfa"], true);
    expect_code(
        &s.post(CONFIRM, &key, json!({"code": code(&new, t0)})),
        409,
        "mfa_already_enabled",
    );

    // Password login: 401 with a ticket, no cookies.
    let r = s.login("alice_totp", PASSWORD);
    expect_code(&r, 401, "mfa_required");
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Token"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    assert_eq!(r.json()["mfa_methods"], json!(["totp", "recovery_code"]));
    assert_eq!(r.json()["expires_in"], 300);
    let t = r.json()["mfa_token"].as_str().unwrap().to_string();
    assert_eq!(t.len(), 43);
    // A wrong password is still CVAT's answer, with no ticket.
    let r = s.login("alice_totp", "wrong-password");
    r.expect(400);
    assert!(r.json().get("mfa_token").is_none());

    // Step two: the replayed enrolment code, both factors at once, then the right code.
    expect_code(
        &step_two(&s, &t, "code", &code(&new, t0 - 30)),
        400,
        "mfa_code_invalid",
    );
    let both = json!({"mfa_token": t, "code": code(&new, t0), "recovery_code": codes[0]});
    expect_code(&s.post(STEP_TWO, &Auth::None, both), 400, "invalid_request");
    let r = step_two(&s, &t, "code", &code(&new, t0));
    r.expect(200);
    let session = r.session();
    let key2 = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    assert_eq!(s.me(&key2)["id"], id);
    assert_eq!(s.me(&session)["id"], id);
    assert!(s.fetch(&s.admin(), id)["last_login"].is_string());
    // The ticket is used up: a valid next code does not revive it, and stays unused.
    expect_code(
        &step_two(&s, &t, "code", &code(&new, t0 + 30)),
        401,
        "mfa_token_invalid",
    );

    // Basic: refused without X-CVAT-OTP (pointing to access tokens), then once with a code.
    let basic = Auth::basic("alice_totp", PASSWORD);
    let r = s.get("/api/users/self", &basic);
    expect_code(&r, 401, "mfa_required");
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .contains("access token"));
    assert_eq!(r.header("x-cvat-otp").as_deref(), Some("required; totp"));
    let with = |c: &str| s.get_with("/api/users/self", &basic, &[("X-CVAT-OTP", c)]);
    expect_code(&with("000000"), 401, "mfa_code_invalid");
    with(&code(&new, t0 + 30)).expect(200);
    expect_code(&with(&code(&new, t0 + 30)), 401, "mfa_code_invalid");

    // Access tokens keep working, but cannot manage the factor.
    let r = s.post("/api/auth/access_tokens", &key2, json!({"name": "ci"}));
    r.expect(201);
    let pat = Auth::Bearer(r.json()["value"].as_str().unwrap().to_string());
    assert_eq!(s.me(&pat)["id"], id);
    let r = s.post(
        DISABLE,
        &pat,
        json!({"password": PASSWORD, "recovery_code": codes[1]}),
    );
    expect_code(&r, 403, "access_token_not_allowed");
    assert!(enabled(&s, &key2));

    // A recovery code works once.
    let t = ticket(&s, "alice_totp");
    let typed = codes[2].as_str().unwrap().to_lowercase().replace('-', " ");
    let r = step_two(&s, &t, "recovery_code", &typed);
    r.expect(200);
    assert_eq!(r.json()["recovery_codes_remaining"], 9);
    let t = ticket(&s, "alice_totp");
    expect_code(
        &step_two(&s, &t, "recovery_code", codes[2].as_str().unwrap()),
        400,
        "mfa_code_invalid",
    );
    assert_eq!(admin_view(&s, id)["recovery_codes"]["remaining"], 9);
    let logs = s.logs();
    for c in &codes {
        assert!(
            !logs.contains(c.as_str().unwrap()),
            "a recovery code was logged"
        );
    }
}

#[test]
fn step_two_refusals_change_nothing_and_wrong_codes_lock_the_factor() {
    let s = TestServer::start_with(&["--mfa-failures", "8"]);
    let (bob_id, bob) = s.register("bob_totp");
    let (_, carol) = s.register("carol_totp");
    let t0 = fresh_step();
    let (bob_app, _, _) = enrol(&s, &bob, t0);
    let (carol_app, _, _) = enrol(&s, &carol, t0);

    // A code two steps away, carol's valid code on bob's ticket and malformed codes are
    // refused (5 wrong codes); the ticket then is used up, even for bob's right code.
    let t = ticket(&s, "bob_totp");
    expect_code(
        &step_two(&s, &t, "code", &code(&bob_app, t0 + 60)),
        400,
        "mfa_code_invalid",
    );
    let mut carols = code(&carol_app, t0);
    if carols == code(&bob_app, t0) {
        carols = "000000".into();
    }
    expect_code(&step_two(&s, &t, "code", &carols), 400, "mfa_code_invalid");
    for malformed in ["12345", "1234567", "12345a"] {
        expect_code(
            &step_two(&s, &t, "code", malformed),
            400,
            "mfa_code_invalid",
        );
    }
    expect_code(
        &step_two(&s, &t, "code", &code(&bob_app, t0)),
        401,
        "mfa_token_invalid",
    );
    // No ticket, an unknown one.
    expect_code(
        &s.post(STEP_TWO, &Auth::None, json!({"code": "123456"})),
        401,
        "mfa_token_invalid",
    );
    expect_code(
        &step_two(&s, &"x".repeat(43), "code", "123456"),
        401,
        "mfa_token_invalid",
    );
    // The refusals spent nothing: a new ticket and the same code log bob in.
    let t = ticket(&s, "bob_totp");
    step_two(&s, &t, "code", &code(&bob_app, t0)).expect(200);

    // Three more wrong codes make 8 (= --mfa-failures) within the window: bob's factor is
    // locked, even a right code gets 429, and his password alone still gets no session.
    let t = ticket(&s, "bob_totp");
    for wrong in ["000001", "000002", "000003"] {
        expect_code(&step_two(&s, &t, "code", wrong), 400, "mfa_code_invalid");
    }
    let t = ticket(&s, "bob_totp");
    let r = step_two(&s, &t, "code", &code(&bob_app, t0 + 30));
    expect_code(&r, 429, "mfa_locked");
    assert!(r.header("retry-after").unwrap().parse::<u64>().unwrap() > 800);
    expect_code(&s.login("bob_totp", PASSWORD), 401, "mfa_required");
    // Carol is not affected by bob's lock.
    let t = ticket(&s, "carol_totp");
    step_two(&s, &t, "code", &code(&carol_app, t0)).expect(200);

    // Disabling needs the password and a code: each refusal leaves the factor on.
    let (_, carol2) = {
        let t = ticket(&s, "carol_totp");
        let r = step_two(&s, &t, "code", &code(&carol_app, t0 + 30));
        r.expect(200);
        (
            0,
            Auth::Token(r.json()["key"].as_str().unwrap().to_string()),
        )
    };
    for (body, status, code_) in [
        (json!({"code": "123456"}), 400, "invalid_request"),
        (
            json!({"password": "wrong-password", "code": "123456"}),
            400,
            "password_invalid",
        ),
        (
            json!({"password": PASSWORD, "code": "000000"}),
            400,
            "mfa_code_invalid",
        ),
        (json!({"password": PASSWORD}), 400, "invalid_request"),
    ] {
        expect_code(&s.post(DISABLE, &carol2, body), status, code_);
        assert!(enabled(&s, &carol2));
    }

    // A non-admin cannot see or reset someone else's factor.
    let path = format!("/api/users/{bob_id}/mfa");
    s.get(&path, &carol2).expect(403);
    s.delete(&path, &carol2).expect(403);
    assert_eq!(admin_view(&s, bob_id)["totp"]["enabled"], true);
    s.delete("/api/users/999999/mfa", &s.admin()).expect(404);
}

#[test]
fn expired_tickets_and_replays_across_requests_are_refused() {
    let s = TestServer::start_with(&["--mfa-ticket-lifetime", "1"]);
    let (_, dave) = s.register("dave_totp");
    let t0 = fresh_step();
    let (app, _, _) = enrol(&s, &dave, t0);
    let t = ticket(&s, "dave_totp");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    expect_code(
        &step_two(&s, &t, "code", &code(&app, t0)),
        401,
        "mfa_token_invalid",
    );
    // The code was not spent by the refusal: the same code logs in at once in one call.
    let r = s.post(
        LOGIN,
        &Auth::None,
        json!({"username": "dave_totp", "password": PASSWORD, "code": code(&app, t0)}),
    );
    r.expect(200);
    r.session();
    // The same code again in the same step, and an older one after a newer: refused.
    let again = json!({"username": "dave_totp", "password": PASSWORD, "code": code(&app, t0)});
    expect_code(&s.post(LOGIN, &Auth::None, again), 400, "mfa_code_invalid");
    let newer = json!({"username": "dave_totp", "password": PASSWORD, "code": code(&app, t0 + 30)});
    s.post(LOGIN, &Auth::None, newer).expect(200);
    let older = json!({"username": "dave_totp", "password": PASSWORD, "code": code(&app, t0)});
    expect_code(&s.post(LOGIN, &Auth::None, older), 400, "mfa_code_invalid");
}

#[test]
fn recovery_codes_regenerate_and_disable_then_password_alone_works() {
    let s = TestServer::start();
    let (id, erin) = s.register("erin_totp");
    let t0 = fresh_step();
    let (app, old_codes, key) = enrol(&s, &erin, t0);
    let regen = |c: &str| s.post(RECOVERY, &key, json!({"password": PASSWORD, "code": c}));
    expect_code(&regen("000000"), 400, "mfa_code_invalid");
    let r = regen(&code(&app, t0));
    r.expect(200);
    let new_codes = r.json()["recovery_codes"].as_array().unwrap().clone();
    assert_eq!(new_codes.len(), 10);
    // The old set is void, the new one works.
    let t = ticket(&s, "erin_totp");
    expect_code(
        &step_two(&s, &t, "recovery_code", &old_codes[0]),
        400,
        "mfa_code_invalid",
    );
    let r = step_two(&s, &t, "recovery_code", new_codes[0].as_str().unwrap());
    r.expect(200);
    assert_eq!(r.json()["recovery_codes_remaining"], 9);
    // Disabling with the password and a recovery code; then the password alone logs in.
    let body = json!({"password": PASSWORD, "recovery_code": new_codes[1]});
    let r = s.post(DISABLE, &key, body.clone());
    r.expect(200);
    assert_eq!(
        r.json()["detail"],
        "Two-factor authentication has been disabled."
    );
    expect_code(&s.post(DISABLE, &key, body), 409, "mfa_not_enabled");
    let view = admin_view(&s, id);
    assert_eq!(view["totp"]["enabled"], false);
    assert_eq!(view["recovery_codes"]["total"], 0);
    s.login("erin_totp", PASSWORD).expect(200);
    s.get("/api/users/self", &Auth::basic("erin_totp", PASSWORD))
        .expect(200);
}

#[test]
fn an_admin_reset_signs_the_user_out_keeps_access_tokens_and_mails_them() {
    let smtp = SmtpReceiver::start();
    let s = TestServer::start_with(&["--smtp-url", &smtp.url(), "--mail-retry-delay", "0.2"]);
    let admin = s.admin();
    let (id, frank) = s.register("frank_totp");
    let t0 = fresh_step();
    let (app, _, key) = enrol(&s, &frank, t0);
    let r = s.post("/api/auth/access_tokens", &key, json!({"name": "bot"}));
    let pat = Auth::Bearer(r.json()["value"].as_str().unwrap().to_string());
    let t = ticket(&s, "frank_totp");
    let path = format!("/api/users/{id}/mfa");
    // A PAT of the admin cannot reset.
    let r = s.post(
        "/api/auth/access_tokens",
        &admin,
        json!({"name": "admin-pat"}),
    );
    let admin_pat = Auth::Bearer(r.json()["value"].as_str().unwrap().to_string());
    expect_code(
        &s.delete(&path, &admin_pat),
        403,
        "access_token_not_allowed",
    );
    assert_eq!(admin_view(&s, id)["totp"]["enabled"], true);

    let r = s.delete(&path, &admin);
    r.expect(204);
    assert!(r.text.is_empty());
    assert_eq!(admin_view(&s, id)["totp"]["enabled"], false);
    s.assert_me_refused(&key, "Invalid token.");
    assert_eq!(s.me(&pat)["id"], id);
    expect_code(
        &step_two(&s, &t, "code", &code(&app, t0)),
        401,
        "mfa_token_invalid",
    );
    expect_code(&s.delete(&path, &admin), 409, "mfa_not_enabled");
    s.login("frank_totp", PASSWORD).expect(200);

    let mail = smtp.wait_for(1).pop().unwrap();
    assert_eq!(mail.to, vec!["frank_totp@example.com".to_string()]);
    assert_eq!(
        mail.header("Subject").as_deref(),
        Some("Two-factor authentication was reset")
    );
    assert!(mail.data.contains("frank_totp"));
    assert_eq!(smtp.messages().len(), 1, "one mail per reset");
}

#[test]
fn the_enrolment_policy_holds_covered_users_to_their_deadline() {
    let s = TestServer::start_with(&[
        "--mfa-enforce",
        "all",
        "--mfa-grace-period-hours",
        "0",
        "--mfa-exempt-users",
        "robot_user",
    ]);
    let (_, token) = s.register("policy_user");
    // No grace: past the deadline at once. Only enrolment, oneself and logout pass.
    let refused = s.get("/api/users", &token);
    expect_code(&refused, 403, "mfa_enrollment_required");
    assert!(refused.json()["detail"]
        .as_str()
        .unwrap()
        .contains("/api/auth/mfa/totp/setup"));
    expect_code(
        &s.post("/api/auth/access_tokens", &token, json!({"name": "x"})),
        403,
        "mfa_enrollment_required",
    );
    s.get("/api/users/self", &token).expect(200);
    let status = s.get(STATUS, &token).json();
    assert_eq!(status["required"], true);
    assert_eq!(status["required_by"], json!(["global"]));
    assert!(status["enrollment_deadline"].is_string(), "{status}");
    // Exempt users are not covered.
    let (_, robot) = s.register("robot_user");
    s.get("/api/users", &robot).expect(200);
    assert_eq!(s.get(STATUS, &robot).json()["required"], false);

    let t0 = fresh_step();
    let (_app, _codes, key) = enrol(&s, &token, t0);
    s.get("/api/users", &key).expect(200);
    let status = s.get(STATUS, &key).json();
    assert_eq!(status["required"], true);
    assert_eq!(status["enrollment_deadline"], Value::Null);
    assert_eq!(
        s.get("/api/server/advanced-auth", &Auth::None).json()["mfa"]["enforce"],
        "all"
    );
}

#[test]
fn admins_mode_covers_admins_only_and_lets_them_work_through_the_grace_period() {
    let s = TestServer::start_with(&["--mfa-enforce", "admins"]);
    let admin = s.admin();
    s.get("/api/users", &admin).expect(200);
    let status = s.get(STATUS, &admin).json();
    assert_eq!(status["required"], true);
    let deadline = status["enrollment_deadline"].as_str().unwrap().to_string();
    // 48 hours from now, give or take the test's own time.
    let deadline = chrono::DateTime::parse_from_rfc3339(&deadline).unwrap();
    let hours = (deadline.timestamp() - now() as i64) / 3600;
    assert!((47..=48).contains(&hours), "{deadline}");
    // The login answer names the deadline while it runs; users it does not cover see nothing.
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    assert_eq!(
        login.json()["mfa_enrollment_deadline"].as_str(),
        Some(status["enrollment_deadline"].as_str().unwrap())
    );
    let (_, user) = s.register("plain_policy");
    let login = s.login("plain_policy", PASSWORD);
    assert!(
        login.json().get("mfa_enrollment_deadline").is_none(),
        "{}",
        login.text
    );
    s.get("/api/users", &user).expect(200);
    let status = s.get(STATUS, &user).json();
    assert_eq!(
        (
            status["required"].clone(),
            status["enrollment_deadline"].clone()
        ),
        (json!(false), Value::Null)
    );
}

#[test]
fn an_organization_requires_totp_of_its_members_in_its_context() {
    let s = TestServer::start();
    let admin = s.admin();
    let (_, owner) = s.register_as(&admin, "mfa_owner", &["business"], false, false);
    s.post("/api/organizations", &owner, json!({"slug": "strict"}))
        .expect(201);
    let org_id = s.get("/api/organizations", &owner).json()[0]["id"]
        .as_i64()
        .unwrap();
    let (_, member) = s.register("mfa_member");
    s.post(
        "/api/invitations?org=strict",
        &owner,
        json!({"email": "mfa_member@example.com", "role": "worker"}),
    )
    .expect(201);
    let (_, outsider) = s.register("mfa_outsider");
    let policy = format!("/api/organizations/{org_id}/mfa-policy");

    // Visible to members, not to outsiders; only the owner (or an admin) changes it.
    let r = s.get(&policy, &member);
    r.expect(200);
    assert_eq!(
        r.json(),
        json!({"require_mfa": false, "grace_period_hours": 48, "enabled_date": null})
    );
    s.get(&policy, &outsider).expect(404);
    s.patch(&policy, &member, json!({"require_mfa": true}))
        .expect(403);
    let bad = s.patch(&policy, &owner, json!({"grace_period_hours": 9000}));
    bad.expect(400);
    assert_eq!(
        bad.json(),
        json!({"grace_period_hours": ["Ensure this value is less than or equal to 8760."]})
    );
    let r = s.patch(
        &policy,
        &owner,
        json!({"require_mfa": true, "grace_period_hours": 0}),
    );
    r.expect(200);
    assert_eq!(r.json()["require_mfa"], true);
    assert!(r.json()["enabled_date"].is_string());

    // The member without TOTP: refused in the organization's context, free outside it.
    let in_org = s.get("/api/users?org=strict", &member);
    expect_code(&in_org, 403, "mfa_required_by_organization");
    s.get("/api/users", &member).expect(200);
    s.get("/api/organizations", &member).expect(200);
    let status = s.get(STATUS, &member).json();
    assert_eq!(status["required_by"], json!(["organization:strict"]));
    assert!(status["enrollment_deadline"].is_string());
    // The owner has no TOTP either: the policy binds every member.
    expect_code(
        &s.get("/api/memberships?org=strict", &owner),
        403,
        "mfa_required_by_organization",
    );

    // Enrolled, the member works in the organization again.
    let t0 = fresh_step();
    let (_app, _codes, key) = enrol(&s, &member, t0);
    s.get("/api/users?org=strict", &key).expect(200);
    assert_eq!(
        s.get(STATUS, &key).json()["enrollment_deadline"],
        Value::Null
    );
    // Lifting the policy frees the owner.
    s.patch(&policy, &admin, json!({"require_mfa": false}))
        .expect(200);
    s.get("/api/memberships?org=strict", &owner).expect(200);
}

#[test]
fn the_console_shows_the_factor_and_an_administrator_resets_it() {
    let s = TestServer::start();
    let (id, token) = s.register("console_mfa");
    let t0 = fresh_step();
    let (_app, _codes, key) = enrol(&s, &token, t0);
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("Second factor"), "{page}");
    assert!(page.contains("10 of 10 left"), "{page}");
    let csrf = b.csrf(&page);
    let (status, location, _) = b.post(
        &format!("/admin/users/{id}/mfa"),
        &[("csrfmiddlewaretoken", &csrf)],
    );
    assert_eq!(
        (status, location),
        (303, format!("/admin/users/{id}?done=mfa-reset"))
    );
    assert_eq!(admin_view(&s, id)["totp"]["enabled"], false);
    // The reset signs the user out.
    s.get("/api/users/self", &key).expect(401);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("id=\"totp-state\">off"), "{page}");
}

#[test]
fn the_console_sets_an_organizations_policy() {
    let s = TestServer::start();
    let admin = s.admin();
    s.post("/api/organizations", &admin, json!({"slug": "consorg"}))
        .expect(201);
    let org = s.get("/api/organizations", &admin).json()[0]["id"]
        .as_i64()
        .unwrap();
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get(&format!("/admin/organizations/{org}"));
    assert!(page.contains("Members need no second factor."), "{page}");
    let csrf = b.csrf(&page);
    let (status, location, _) = b.post(
        &format!("/admin/organizations/{org}/mfa-policy"),
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("require_mfa", "false"),
            ("require_mfa", "true"),
            ("grace_period_hours", "6"),
        ],
    );
    assert_eq!(
        (status, location),
        (303, format!("/admin/organizations/{org}?done=mfa"))
    );
    let policy = s
        .get(&format!("/api/organizations/{org}/mfa-policy"), &admin)
        .json();
    assert_eq!(
        (
            policy["require_mfa"].clone(),
            policy["grace_period_hours"].clone()
        ),
        (json!(true), json!(6))
    );
    let (status, _, page) = b.post(
        &format!("/admin/organizations/{org}/mfa-policy"),
        &[("csrfmiddlewaretoken", &csrf), ("grace_period_hours", "-1")],
    );
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("greater than or equal to 0"), "{page}");
}

/// Signs in on the console's form with `fields` (a `next`, a `code`) beside the credentials.
fn console_sign_in(b: &Browser, username: &str, extra: &[(&str, &str)]) -> (u16, String, String) {
    let (_, _, page) = b.get("/admin/login");
    let csrf = b.csrf(&page);
    let mut form = vec![
        ("csrfmiddlewaretoken", csrf.as_str()),
        ("username", username),
        ("password", PASSWORD),
    ];
    form.extend_from_slice(extra);
    b.post("/admin/login", &form)
}

fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let at = page
        .find(start)
        .unwrap_or_else(|| panic!("no {start} in {page}"))
        + start.len();
    &page[at..at + page[at..].find(end).unwrap()]
}

#[test]
fn a_user_enrols_on_their_own_security_page_then_needs_the_code_to_sign_in() {
    let s = TestServer::start();
    s.register("self_enrol");
    let b = Browser::new(&s);
    let (status, location, _) = b.get("/admin/security");
    assert_eq!(
        (status, location.as_str()),
        (303, "/admin/login?next=%2Fadmin%2Fsecurity")
    );
    // Not an administrator: the console refuses, the security page is open.
    let (status, location, _) = console_sign_in(&b, "self_enrol", &[("next", "/admin/security")]);
    assert_eq!((status, location.as_str()), (303, "/admin/security"));
    let (status, _, page) = b.get("/admin/users");
    assert_eq!(status, 403, "{page}");
    let (_, _, page) = b.get("/admin/security");
    assert!(page.contains("id=\"totp-state\">off"), "{page}");
    let csrf = b.csrf(&page);

    let (status, _, page) = b.post(
        "/admin/security/setup",
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("password", "wrong-password"),
        ],
    );
    assert_eq!(status, 400);
    assert!(page.contains("The password is incorrect."), "{page}");
    let (status, _, page) = b.post(
        "/admin/security/setup",
        &[("csrfmiddlewaretoken", &csrf), ("password", PASSWORD)],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<svg"), "no QR code: {page}");
    assert!(between(&page, "id=\"otpauth\">", "<").starts_with("otpauth://totp/"));
    let app = app(between(&page, "id=\"totp-secret\">", "<"));
    let t0 = fresh_step();
    let (status, _, page) = b.post(
        "/admin/security/setup",
        &[("csrfmiddlewaretoken", &csrf), ("password", PASSWORD)],
    );
    assert_eq!(
        status, 200,
        "a second setup replaces the pending secret: {page}"
    );
    let app = app_or(page.as_str(), app);
    let (status, _, page) = b.post(
        "/admin/security/confirm",
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("code", &code(&app, t0 - 30)),
        ],
    );
    assert_eq!(status, 200, "{page}");
    assert_eq!(
        between(&page, "id=\"recovery-codes\">", "</div>")
            .matches("<li>")
            .count(),
        10
    );
    assert!(page.contains("on since"), "{page}");
    // The password alone no longer signs in, on the API or the console.
    expect_code(&s.login("self_enrol", PASSWORD), 401, "mfa_required");
    let b2 = Browser::new(&s);
    let (status, _, page) = console_sign_in(&b2, "self_enrol", &[("next", "/admin/security")]);
    assert_eq!(status, 401, "{page}");
    assert!(page.contains("name=\"code\""), "{page}");
    let (status, _, _) = console_sign_in(
        &b2,
        "self_enrol",
        &[("next", "/admin/security"), ("code", "000000")],
    );
    assert_eq!(status, 400);
    let (status, location, _) = console_sign_in(
        &b2,
        "self_enrol",
        &[("next", "/admin/security"), ("code", &code(&app, t0))],
    );
    assert_eq!((status, location.as_str()), (303, "/admin/security"));
    // Turned off again with the password and a later code.
    let (_, _, page) = b2.get("/admin/security");
    let csrf = b2.csrf(&page);
    let (status, _, page) = b2.post(
        "/admin/security/disable",
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("password", PASSWORD),
            ("code", &code(&app, t0 + 30)),
        ],
    );
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("id=\"totp-state\">off"), "{page}");
    s.login("self_enrol", PASSWORD).expect(200);
}

/// The authenticator of the newest setup on `page`, else `fallback`.
fn app_or(page: &str, fallback: Totp) -> Totp {
    match page.find("id=\"totp-secret\">") {
        Some(_) => app(between(page, "id=\"totp-secret\">", "<")),
        None => fallback,
    }
}
