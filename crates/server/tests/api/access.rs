//! Blocked accounts and login locks (issue 15): an administrator blocks an account, every
//! credential of it stops working and comes back on unblock; only administrators, never
//! themselves; a blocked admin does not count as an active one; clearing a lock lets a user
//! locked out by failed passwords in again at once.

use serde_json::json;

use crate::common::*;

const BLOCKED: &str = "This account is blocked. Ask an administrator to unblock it.";

fn access_path(id: i64, what: &str) -> String {
    format!("/api/users/{id}/{what}")
}

#[test]
fn blocking_refuses_every_credential_and_unblocking_restores_them() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, token) = s.register("blocked_one");
    let login = s.login("blocked_one", PASSWORD);
    let session = Auth::Session(
        login.cookie("sessionid").unwrap(),
        login.cookie("csrftoken").unwrap(),
    );
    let pat = s.post("/api/auth/access_tokens", &token, json!({"name": "ci"}));
    let pat = Auth::Bearer(pat.json()["value"].as_str().unwrap().to_string());
    let basic = Auth::basic("blocked_one", PASSWORD);
    let every = [&token, &session, &pat, &basic];
    for auth in every {
        s.get("/api/users/self", auth).expect(200);
    }

    let r = s.post(&access_path(id, "block"), &admin, json!({}));
    r.expect(200);
    assert_eq!(r.json()["blocked"], true);
    assert!(r.json()["blocked_date"].is_string());
    for auth in every {
        assert_detail(&s.get("/api/users/self", auth), 401, BLOCKED);
    }
    // The right password learns why; a wrong one learns nothing.
    assert_detail(&s.login("blocked_one", PASSWORD), 403, BLOCKED);
    let wrong = s.login("blocked_one", "not-the-password");
    assert_eq!(
        wrong.json(),
        json!({"non_field_errors": ["Unable to log in with provided credentials."]})
    );
    // The data stays: the admin still sees the account, active.
    let seen = s.get(&user_path(id), &admin).json();
    assert_eq!(
        (seen["username"].as_str(), seen["is_active"].as_bool()),
        (Some("blocked_one"), Some(true))
    );

    let r = s.post(&access_path(id, "unblock"), &admin, json!({}));
    assert_eq!(r.json()["blocked"], false);
    assert_eq!(r.json()["blocked_date"], serde_json::Value::Null);
    for auth in every {
        s.get("/api/users/self", auth).expect(200);
    }
    s.login("blocked_one", PASSWORD).expect(200);
}

#[test]
fn only_admins_block_never_themselves_and_a_blocked_admin_is_not_an_active_one() {
    let s = TestServer::start();
    let admin = s.admin();
    let (other, other_token) = s.register("plain_user");
    let admin_id = s.me(&admin)["id"].as_i64().unwrap();
    for what in ["block", "unblock"] {
        s.post(&access_path(other, what), &other_token, json!({}))
            .expect(403);
    }
    s.get(&access_path(admin_id, "access"), &other_token)
        .expect(403);
    s.delete(&access_path(other, "login-lock"), &other_token)
        .expect(403);
    s.post(&access_path(999_999, "block"), &admin, json!({}))
        .expect(404);
    let own = s.post(&access_path(admin_id, "block"), &admin, json!({}));
    own.expect(400);
    assert_eq!(
        own.json(),
        json!({"non_field_errors": ["You cannot block your own account."]})
    );

    // A second admin blocks the first; the second is then the last active admin.
    let (second, _) = s.register_as(&admin, "second_admin", &["admin"], true, true);
    let second_auth = s.token("second_admin", PASSWORD);
    s.post(&access_path(admin_id, "block"), &second_auth, json!({}))
        .expect(200);
    let r = s.patch(
        &user_path(second),
        &second_auth,
        json!({"is_active": false}),
    );
    r.expect(409);
    s.post(&access_path(admin_id, "unblock"), &second_auth, json!({}))
        .expect(200);
    s.get("/api/users/self", &admin).expect(200);
}

#[test]
fn an_administrator_clears_a_login_lock() {
    let s = TestServer::start_with(&["--login-failures-per-account", "3"]);
    let admin = s.admin();
    let (id, _) = s.register("locked_out");
    for _ in 0..3 {
        s.login("locked_out", "wrong-password").expect(400);
    }
    s.login("locked_out", PASSWORD).expect(429);
    let r = s.get(&access_path(id, "access"), &admin);
    r.expect(200);
    assert_eq!(r.json()["login_locked"], true);
    assert!(r.json()["login_retry_after"].as_u64().unwrap() > 0);

    let r = s.delete(&access_path(id, "login-lock"), &admin);
    r.expect(200);
    assert_eq!(
        r.json(),
        json!({"blocked": false, "blocked_date": null, "login_locked": false, "login_retry_after": null,
               "must_change_password": false})
    );
    s.login("locked_out", PASSWORD).expect(200);
}

#[test]
fn the_console_blocks_unblocks_and_clears_locks() {
    let s = TestServer::start_with(&["--login-failures-per-account", "2"]);
    let (id, token) = s.register("console_block");
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    let csrf = b.csrf(&page);
    let post = |what: &str| {
        b.post(
            &format!("/admin/users/{id}/access"),
            &[("csrfmiddlewaretoken", &csrf), ("access", what)],
        )
    };
    let (status, location, _) = post("block");
    assert_eq!(
        (status, location),
        (303, format!("/admin/users/{id}?done=block"))
    );
    let (_, _, page) = b.get(&format!("/admin/users/{id}?done=block"));
    assert!(page.contains("The account is blocked"), "{page}");
    assert!(page.contains("id=\"unblock\""), "{page}");
    assert_detail(&s.get("/api/users/self", &token), 401, BLOCKED);
    post("unblock");
    s.get("/api/users/self", &token).expect(200);

    for _ in 0..2 {
        s.login("console_block", "wrong-password").expect(400);
    }
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("locked for"), "{page}");
    post("unlock");
    s.login("console_block", PASSWORD).expect(200);
}

const MUST_CHANGE: &str = "You must choose a new password first: POST /api/auth/password/change.";

#[test]
fn a_user_who_must_change_the_password_can_do_nothing_else_until_then() {
    let s = TestServer::start();
    let admin = s.admin();
    // Created so by an administrator: logs in, reads itself, and is refused anything else.
    let r = s.post(
        "/api/users",
        &admin,
        json!({"username": "first_timer", "password": "Temporary-Pass-91", "must_change_password": true}),
    );
    r.expect(201);
    let id = r.json()["id"].as_i64().unwrap();
    assert_eq!(
        s.get(&access_path(id, "access"), &admin).json()["must_change_password"],
        true
    );
    let token = s.token("first_timer", "Temporary-Pass-91");
    s.get("/api/users/self", &token).expect(200);
    for path in [
        "/api/users",
        "/api/organizations",
        "/api/auth/access_tokens",
    ] {
        assert_detail(&s.get(path, &token), 403, MUST_CHANGE);
    }
    let change = |old: &str, new: &str| {
        s.post(
            "/api/auth/password/change",
            &token,
            json!({"old_password": old, "new_password1": new, "new_password2": new}),
        )
    };
    change("wrong-old-password", "Chosen-By-Me-2026").expect(400);
    assert_detail(&s.get("/api/users", &token), 403, MUST_CHANGE);
    change("Temporary-Pass-91", "Chosen-By-Me-2026").expect(200);
    s.get("/api/users", &token).expect(200);
    assert_eq!(
        s.get(&access_path(id, "access"), &admin).json()["must_change_password"],
        false
    );

    // With a new password set by an administrator, and by PATCH (admins only).
    let r = s.post(
        &format!("/api/users/{id}/password"),
        &admin,
        json!({"password": "Admin-Chosen-77x", "must_change_password": true}),
    );
    r.expect(200);
    let token = s.token("first_timer", "Admin-Chosen-77x");
    assert_detail(&s.get("/api/users", &token), 403, MUST_CHANGE);
    s.patch(
        &user_path(id),
        &admin,
        json!({"must_change_password": false}),
    )
    .expect(200);
    s.get("/api/users", &token).expect(200);
    let own = s.patch(
        &user_path(id),
        &token,
        json!({"must_change_password": true}),
    );
    own.expect(400);
    let bad = s.post(
        &format!("/api/users/{id}/password"),
        &admin,
        json!({"password": "Admin-Chosen-78x", "must_change_password": "maybe"}),
    );
    bad.expect(400);
    assert_eq!(
        bad.json(),
        json!({"must_change_password": ["Must be a valid boolean."]})
    );
    // Nothing was changed by the refused request.
    s.token("first_timer", "Admin-Chosen-77x");
}

#[test]
fn the_console_requires_a_new_password_with_the_one_it_sets() {
    let s = TestServer::start();
    let (id, _) = s.register("console_must");
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    let csrf = b.csrf(&page);
    let (status, _, _) = b.post(
        &format!("/admin/users/{id}/password"),
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("password", "Console-Set-4242"),
            ("password2", "Console-Set-4242"),
            ("must_change_password", "true"),
        ],
    );
    assert_eq!(status, 303);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("must be changed at the next login"), "{page}");
    let token = s.token("console_must", "Console-Set-4242");
    assert_detail(&s.get("/api/users", &token), 403, MUST_CHANGE);
}
