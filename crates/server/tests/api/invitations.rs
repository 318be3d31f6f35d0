//! Invitations people accept, decline and resend (spec account-lifecycle §4), through the real
//! server and a real SMTP receiver: the invitation mail is read as received and its key used.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;
use cvat_testkit::smtp::SmtpReceiver;

const NOT_FOUND: &str = "No Invitation matches the given query.";
const SDK23: &str = "OpenAPI-Generator/2.0-alpha/python";

/// A server mailing to `smtp`, links to `https://cvat.example.org`, plus `extra` flags.
fn start(smtp: &SmtpReceiver, extra: &[&str]) -> TestServer {
    let url = smtp.url();
    let mut flags = vec![
        "--smtp-url",
        url.as_str(),
        "--mail-retry-delay",
        "0.2",
        "--smtp-timeout",
        "2",
        "--public-url",
        "https://cvat.example.org",
    ];
    flags.extend_from_slice(extra);
    TestServer::start_with(&flags)
}

/// An admin, a business user `owner1` owning `org1`, and the server.
fn org_world(s: &TestServer) -> (Auth, (i64, Auth)) {
    let admin = s.admin();
    let owner = s.register_as(&admin, "owner1", &["business"], false, false);
    s.post(
        "/api/organizations",
        &owner.1,
        json!({"slug": "org1", "name": "Org One"}),
    )
    .expect(201);
    (admin, owner)
}

fn invite(s: &TestServer, by: &Auth, email: &str, role: &str) -> Resp {
    s.post(
        "/api/invitations?org=org1",
        by,
        json!({"role": role, "email": email}),
    )
}

fn key_of(inv: &Value) -> String {
    inv["key"].as_str().unwrap().to_string()
}

fn action(s: &TestServer, key: &str, verb: &str, who: &Auth) -> Resp {
    s.send_with(
        Method::POST,
        &format!("/api/invitations/{key}/{verb}"),
        who,
        &[],
        Value::Null,
    )
}

/// The active flag of `user`'s membership in org1 as the admin sees it (`None`: none).
fn membership(s: &TestServer, admin: &Auth, user: i64) -> Option<bool> {
    let ms = s
        .get("/api/memberships?org=org1&page_size=all", admin)
        .json();
    ms["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == user)
        .map(|m| m["is_active"].as_bool().unwrap())
}

/// Moves the invitation's last send `days` into the past, in the server's database.
fn age_invitation(s: &TestServer, key: &str, days: i64) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let sql = "UPDATE invitations SET sent_date = sent_date - $1 WHERE key = $2";
    let micros = days * 86_400_000_000;
    rt.block_on(async {
        if s.db.url.starts_with("sqlite:") {
            let pool = sqlx::SqlitePool::connect(&s.db.url).await.unwrap();
            sqlx::query(sql)
                .bind(micros)
                .bind(key)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        } else {
            let pool = sqlx::PgPool::connect(&s.db.url).await.unwrap();
            sqlx::query(sql)
                .bind(micros)
                .bind(key)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    });
}

#[test]
fn an_unknown_address_gets_a_placeholder_a_mail_and_registration_takes_it_over() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &[]);
    let (admin, owner) = org_world(&s);
    let r = invite(&s, &owner.1, "New.User+tag@Example.com", "supervisor");
    r.expect(201);
    let inv = r.json();
    let key = key_of(&inv);
    assert_eq!(key.len(), 64);
    assert_eq!(inv["accepted"], false);
    assert_eq!(inv["expired"], false);
    assert_eq!(inv["organization_info"]["slug"], "org1");
    assert_eq!(inv["organization_info"]["id"], inv["organization"]);
    assert_eq!(inv["owner"]["username"], "owner1");
    assert_eq!(inv["user"]["username"], "new.user+tag@example.com");
    let placeholder = inv["user"]["id"].as_i64().unwrap();
    let user = s.fetch(&admin, placeholder);
    assert_eq!(user["email"], "new.user+tag@example.com");
    assert_eq!(user["created_via"], "invitation");
    assert_eq!(user["groups"], json!(["user"]));
    assert_eq!(user["is_active"], true);
    assert_eq!(membership(&s, &admin, placeholder), Some(false));

    // The mail, as the SMTP server got it.
    let m = smtp.wait_for(1).pop().unwrap();
    assert_eq!(m.to, vec!["new.user+tag@example.com".to_string()]);
    assert_eq!(
        m.header("Subject").as_deref(),
        Some("[cvat.example.org] You're invited to join the org1 organization in CVAT!")
    );
    let body = m.decoded();
    assert!(body.contains("owner1"), "{body}");
    let link = format!(
        "https://cvat.example.org/auth/login?email=new.user%2Btag%40example.com&invitation={key}"
    );
    assert!(body.contains(&link), "{body}");

    // The placeholder cannot log in, whatever the password.
    s.login("new.user+tag@example.com", "!").expect(400);
    s.login("new.user+tag@example.com", PASSWORD).expect(400);

    // Registering the address takes the placeholder over: same id, invitation waiting.
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "newuser", "email": "new.user+tag@example.com",
               "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(201);
    let auth = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    let me = s.me(&auth);
    assert_eq!(me["id"], placeholder);
    assert_eq!(me["username"], "newuser");
    assert_eq!(me["created_via"], "registration");
    let mine = s.get("/api/invitations", &auth).json();
    assert_eq!(mine["count"], 1);
    assert_eq!(mine["results"][0]["key"], key.as_str());
    // Pending: no membership for permission checks yet.
    s.get("/api/users?org=org1", &auth).expect(403);

    let r = action(&s, &key, "accept", &auth);
    assert_json(&r, 200, json!({"organization_slug": "org1"}));
    assert_eq!(membership(&s, &admin, placeholder), Some(true));
    s.get("/api/users?org=org1", &auth).expect(200);
    let r = action(&s, &key, "accept", &auth);
    assert_json(&r, 400, json!("Your invitation is already accepted."));
    // A second registration with the address is an ordinary duplicate.
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "another", "email": "NEW.user+tag@example.com",
               "password1": PASSWORD, "password2": PASSWORD}),
    );
    assert_json(
        &r,
        400,
        json!({"email": ["A user is already registered with this e-mail address."]}),
    );
}

#[test]
fn creating_follows_the_confirm_setting_and_leaves_nothing_behind_on_refusal() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &[]);
    let (admin, owner) = org_world(&s);
    let (bob, _) = s.register("bob01");
    // Confirmation off: an account with a password joins at once, without mail.
    let r = invite(&s, &owner.1, "BOB01@example.com", "worker");
    r.expect(201);
    let inv = r.json();
    assert_eq!(inv["accepted"], true);
    assert_eq!(inv["expired"], Value::Null);
    assert_eq!(membership(&s, &admin, bob), Some(true));
    // Already a member: 400, and no second invitation or mail.
    let r = invite(&s, &owner.1, "bob01@example.com", "worker");
    assert_json(
        &r,
        400,
        json!(["The user is a member of the organization already."]),
    );
    assert_eq!(
        s.get("/api/invitations?org=org1", &owner.1).json()["count"],
        1
    );
    // Bad bodies.
    let r = invite(&s, &owner.1, "not-an-address", "worker");
    assert_json(&r, 400, json!({"email": ["Enter a valid email address."]}));
    let r = s.post("/api/invitations?org=org1", &owner.1, json!({}));
    assert_json(
        &r,
        400,
        json!({"role": ["This field is required."], "email": ["This field is required."]}),
    );
    // An unknown address too long to be the placeholder's username (150): 400, nothing created.
    let long = format!("{}@example.com", "a".repeat(140));
    let r = invite(&s, &owner.1, &long, "worker");
    assert_json(
        &r,
        400,
        json!({"email": [cvat_server::service::invitations::LONG_PLACEHOLDER]}),
    );
    assert_eq!(
        s.get("/api/users?search=aaaaaaaaaa", &admin).json()["count"],
        0
    );
    // The placeholder's invitation is the only mail.
    invite(&s, &owner.1, "carol@example.com", "worker").expect(201);
    let mails = smtp.wait_for(1);
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert_eq!(smtp.messages().len(), 1, "{mails:?}");
    assert_eq!(mails[0].to, vec!["carol@example.com".to_string()]);

    // With confirmation on, an existing account's invitation waits and is mailed.
    let smtp2 = SmtpReceiver::start();
    let s2 = start(&smtp2, &["--org-invitation-confirm=yes"]);
    let (admin2, owner2) = org_world(&s2);
    let (dave, _) = s2.register("dave01");
    let r = invite(&s2, &owner2.1, "dave01@example.com", "worker");
    r.expect(201);
    assert_eq!(r.json()["accepted"], false);
    assert_eq!(membership(&s2, &admin2, dave), Some(false));
    let m = smtp2.wait_for(1).pop().unwrap();
    assert!(m.decoded().contains(&key_of(&r.json())));
}

#[test]
fn accept_decline_resend_and_delete_follow_the_newest_rules() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &["--org-invitation-confirm=on"]);
    let (admin, owner) = org_world(&s);
    let (bob, bob_auth) = s.register("bob01");
    let (_, outsider) = s.register("outsider1");
    let key = key_of(&invite(&s, &owner.1, "bob01@example.com", "worker").json());
    let path = format!("/api/invitations/{key}");

    // Detail: 404 with CVAT's text, 403 for outsiders; the org comes from the invitation.
    assert_detail(&s.get("/api/invitations/nope", &bob_auth), 404, NOT_FOUND);
    assert_detail(&s.get(&path, &outsider), 403, NO_PERMISSION);
    s.get(&path, &bob_auth).expect(200);
    s.get(&path, &owner.1).expect(200);
    s.get(&format!("{path}?org="), &owner.1).expect(200);
    // Pending counts as no membership.
    s.get("/api/users?org=org1", &bob_auth).expect(403);

    // Only the invitee answers; only the inviter or the org's staff resend and delete.
    assert_detail(&action(&s, "nope", "accept", &bob_auth), 404, NOT_FOUND);
    assert_detail(&action(&s, &key, "accept", &owner.1), 403, NO_PERMISSION);
    assert_detail(&action(&s, &key, "decline", &outsider), 403, NO_PERMISSION);
    assert_detail(&action(&s, &key, "resend", &bob_auth), 403, NO_PERMISSION);
    assert_detail(&s.delete(&path, &bob_auth), 403, NO_PERMISSION);
    assert_detail(&s.delete("/api/invitations/nope", &owner.1), 404, NOT_FOUND);

    // Resend: same key, a second mail.
    smtp.wait_for(1);
    let r = action(&s, &key, "resend", &owner.1);
    r.expect(204);
    assert!(r.text.is_empty());
    let mails = smtp.wait_for(2);
    assert!(mails[1].decoded().contains(&key));

    // Decline deletes the membership and the invitation.
    action(&s, &key, "decline", &bob_auth).expect(204);
    assert_eq!(membership(&s, &admin, bob), None);
    assert_detail(&s.get(&path, &bob_auth), 404, NOT_FOUND);

    // Invited again: accept, then resend is refused, decline means leaving.
    let key = key_of(&invite(&s, &owner.1, "bob01@example.com", "worker").json());
    let path = format!("/api/invitations/{key}");
    assert_json(
        &action(&s, &key, "accept", &bob_auth),
        200,
        json!({"organization_slug": "org1"}),
    );
    let inv = s.get(&path, &bob_auth).json();
    assert_eq!(
        (inv["accepted"].clone(), inv["expired"].clone()),
        (json!(true), json!(false))
    );
    s.get("/api/users?org=org1", &bob_auth).expect(200);
    assert_json(
        &action(&s, &key, "resend", &owner.1),
        400,
        json!("This invitation is already accepted."),
    );
    // DELETE removes the invitation only: bob stays a member.
    s.delete(&path, &owner.1).expect(204);
    assert_eq!(membership(&s, &admin, bob), Some(true));
    assert_detail(&s.get(&path, &owner.1), 404, NOT_FOUND);
    // PUT is not served.
    let r = s.send_with(Method::PUT, &path, &owner.1, &[], json!({}));
    assert_eq!(r.status.as_u16(), 405);
}

#[test]
fn expiry_counts_from_the_last_send_and_resends_are_limited() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &["--org-invitation-expiry-days", "3"]);
    let (_, owner) = org_world(&s);
    let key = key_of(&invite(&s, &owner.1, "late@example.com", "worker").json());
    let path = format!("/api/invitations/{key}");
    age_invitation(&s, &key, 3);
    assert_eq!(s.get(&path, &owner.1).json()["expired"], true);
    // The placeholder registers, then cannot accept the expired invitation.
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "late01", "email": "late@example.com",
               "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(201);
    let late = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    assert_json(
        &action(&s, &key, "accept", &late),
        400,
        json!("Your invitation is expired. Please contact organization owner to renew it."),
    );
    // A resend renews it.
    action(&s, &key, "resend", &owner.1).expect(204);
    assert_eq!(s.get(&path, &owner.1).json()["expired"], false);
    action(&s, &key, "accept", &late).expect(200);

    // Five resends per hour per user, counted before anything else.
    let key2 = key_of(&invite(&s, &owner.1, "other@example.com", "worker").json());
    for _ in 0..4 {
        action(&s, &key2, "resend", &owner.1).expect(204);
    }
    let r = action(&s, &key2, "resend", &owner.1);
    r.expect(429);
    assert!(r.header("retry-after").is_some());
    let detail = r.json()["detail"].as_str().unwrap().to_string();
    assert!(
        detail.starts_with("Request was throttled. Expected available in "),
        "{detail}"
    );
    action(&s, "nope", "resend", &owner.1).expect(429);
    // Another user has its own budget.
    action(&s, "nope", "resend", &late).expect(404);
}

#[test]
fn cvat_sdk_2_3_gets_answers_it_parses_and_its_patch() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &["--org-invitation-confirm=true"]);
    let (_, owner) = org_world(&s);
    let (bob, bob_auth) = s.register("bob01");
    let (_, outsider) = s.register("outsider1");
    let ua = [("User-Agent", SDK23)];
    let r = s.send_with(
        Method::POST,
        "/api/invitations?org=org1",
        &owner.1,
        &ua,
        json!({"role": "worker", "email": "bob01@example.com"}),
    );
    r.expect(201);
    let inv = r.json();
    assert_eq!(inv["email"], "bob01@example.com");
    assert_eq!(inv["owner"], owner.0);
    assert_eq!(inv["user"]["id"], bob);
    let key = key_of(&inv);
    let path = format!("/api/invitations/{key}");
    // Other clients get the newest shape.
    let plain = s.get(&path, &owner.1).json();
    assert_eq!(plain["owner"]["id"], owner.0);
    assert!(plain.get("email").is_none());

    // PATCH: the list's visibility first (404 "Not found."), then the body, then the rules.
    assert_detail(&s.patch(&path, &outsider, json!({})), 404, "Not found.");
    assert_json(
        &s.patch(&path, &owner.1, json!({"role": "boss"})),
        400,
        json!({"role": ["\"boss\" is not a valid choice."]}),
    );
    // Without ?accepted: resend (confirmation on: the mail again).
    smtp.wait_for(1);
    let r = s.send_with(Method::PATCH, &path, &owner.1, &ua, json!({}));
    r.expect(200);
    assert_eq!(r.json()["accepted"], false);
    assert_eq!(r.json()["email"], "bob01@example.com");
    smtp.wait_for(2);
    // ?accepted: the invitee only.
    assert_detail(
        &s.patch(&format!("{path}?accepted"), &owner.1, json!({})),
        403,
        NO_PERMISSION,
    );
    let r = s.send_with(
        Method::PATCH,
        &format!("{path}?accepted="),
        &bob_auth,
        &ua,
        json!({}),
    );
    r.expect(200);
    assert_eq!(r.json()["accepted"], true);
    s.get("/api/users?org=org1", &bob_auth).expect(200);
}

#[test]
fn lists_search_sort_and_filter_in_both_generations() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &[]);
    let (admin, owner) = org_world(&s);
    let (bob, _) = s.register("bob01");
    let (maint, maint_auth) = s.register("maint01");
    invite(&s, &owner.1, "bob01@example.com", "worker").expect(201);
    invite(&s, &owner.1, "maint01@example.com", "maintainer").expect(201);
    invite(&s, &maint_auth, "pending@example.com", "worker").expect(201);
    let count = |path: &str| {
        let r = s.get(path, &admin);
        r.expect(200);
        r.json()["count"].as_i64().unwrap()
    };
    assert_eq!(count("/api/invitations?org=org1"), 3);
    assert_eq!(count("/api/invitations?org=org1&accepted=false"), 1);
    assert_eq!(count("/api/invitations?org=org1&owner=maint01"), 1);
    assert_eq!(
        count(&format!("/api/invitations?org=org1&user_id={bob}")),
        1
    );
    assert_eq!(count("/api/invitations?org=org1&search=MAINT"), 1);
    let f = r#"{"and":[{"==":[{"var":"owner"},"owner1"]},{"==":[{"var":"accepted"},true]}]}"#;
    assert_eq!(
        count(&format!(
            "/api/invitations?org=org1&filter={}",
            urlencode(f)
        )),
        2
    );
    let r = s.get(
        &format!(
            "/api/invitations?filter={}",
            urlencode(r#"{"==":[{"var":"id"},1]}"#)
        ),
        &admin,
    );
    assert_json(&r, 400, json!(["filter: 'id' term is not supported"]));
    let sorted = s
        .get("/api/invitations?org=org1&sort=-owner,user_id", &admin)
        .json();
    let owners: Vec<&str> = sorted["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["owner"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(owners, ["owner1", "owner1", "maint01"]);

    // Memberships: the newest `user` (a username) and 2.3.0's (an id) and `user_name`.
    assert_eq!(count("/api/memberships?org=org1&role=maintainer"), 1);
    assert_eq!(count("/api/memberships?org=org1&user=bob01"), 1);
    let by_id = format!(r#"{{"==":[{{"var":"user"}},{maint}]}}"#);
    assert_eq!(
        count(&format!(
            "/api/memberships?org=org1&filter={}",
            urlencode(&by_id)
        )),
        1
    );
    let by_name = r#"{"in":["bob",{"var":"user_name"}]}"#;
    assert_eq!(
        count(&format!(
            "/api/memberships?org=org1&filter={}",
            urlencode(by_name)
        )),
        1
    );
    assert_eq!(count("/api/memberships?org=org1&search=work"), 2);
    let r = s
        .get("/api/memberships?org=org1&sort=user_name", &admin)
        .json();
    let names: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["bob01", "maint01", "owner1", "pending@example.com"]);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
