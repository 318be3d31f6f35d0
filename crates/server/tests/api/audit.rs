//! The audit log (issue 16): real actions through the API leave events with their actor,
//! target, origin and changed fields; reading writes nothing; who may read which events; the
//! filters, the keyset cursor and bad input.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// The events `query` selects, as `who` reads them (must be 200).
#[track_caller]
fn events(s: &TestServer, who: &Auth, query: &str) -> Vec<Value> {
    let r = s.get(&format!("/api/audit-events?{query}"), who);
    r.expect(200);
    r.json()["results"].as_array().unwrap().clone()
}

/// The newest event with `action` about target `name`.
#[track_caller]
fn newest(s: &TestServer, admin: &Auth, action: &str, name: &str) -> Value {
    events(s, admin, &format!("action={action}"))
        .into_iter()
        .find(|e| e["target_name"] == name)
        .unwrap_or_else(|| panic!("no {action} of {name}"))
}

#[test]
fn account_changes_and_logins_are_recorded_with_who_what_and_where() {
    let s = TestServer::start();
    let admin = s.admin();
    let (bob_id, bob) = s.register("bobby_audit");

    let reg = newest(&s, &admin, "register:user", "bobby_audit");
    assert_eq!(reg["actor_id"], bob_id);
    assert_eq!(reg["actor_username"], "bobby_audit");
    assert_eq!(reg["target_type"], "user");
    assert_eq!(reg["target_id"], bob_id);
    assert_eq!(reg["client_address"], "127.0.0.1");
    assert_eq!(reg["changes"]["email"]["new"], "bobby_audit@example.com");
    let text = reg.to_string();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "{text}"
    );

    let login = newest(&s, &admin, "login:user", ADMIN);
    assert_eq!(login["auth_method"], "password");
    assert_eq!(login["actor_username"], ADMIN);

    // An administrator's PATCH: the fields that changed, old → new, with the request's origin.
    let r = s.send(
        s.request(Method::PATCH, &user_path(bob_id), &admin)
            .header("User-Agent", "audit-test/1.0")
            .header("X-Request-Id", "req-audit-1")
            .json(&json!({"first_name": "Bob", "is_active": false, "last_name": ""})),
    );
    r.expect(200);
    let upd = newest(&s, &admin, "update:user", "bobby_audit");
    assert_eq!(upd["actor_username"], ADMIN);
    assert_eq!(upd["auth_method"], "token");
    assert_eq!(upd["user_agent"], "audit-test/1.0");
    assert_eq!(upd["request_id"], "req-audit-1");
    assert_eq!(
        upd["changes"]["first_name"],
        json!({"old": "", "new": "Bob"})
    );
    assert_eq!(
        upd["changes"]["is_active"],
        json!({"old": true, "new": false})
    );
    assert!(
        upd["changes"].get("last_name").is_none(),
        "unchanged: {upd}"
    );
    s.set_active(&admin, bob_id, true);

    // Failed logins: one event per account and address per minute, counted.
    let before = events(&s, &admin, "action=login_failed:user").len();
    for _ in 0..3 {
        s.login("bobby_audit", "wrong-password").expect(400);
    }
    let failed = events(&s, &admin, "action=login_failed:user");
    assert!(failed.len() <= before + 2, "aggregated: {failed:?}");
    let last = &failed[0];
    assert_eq!(last["target_name"], "bobby_audit");
    assert_eq!(last["target_id"], bob_id);
    assert!(last["count"].as_i64().unwrap() >= 2, "{last}");

    // Reads write nothing.
    let head = events(&s, &admin, "page_size=1")[0]["seq"]
        .as_i64()
        .unwrap();
    s.get("/api/users", &admin).expect(200);
    s.get("/api/users/self", &bob).expect(200);
    events(&s, &admin, "action=update:user");
    assert_eq!(events(&s, &admin, "page_size=1")[0]["seq"], head);

    // Password change, logout, Basic's first use.
    s.post(
        "/api/auth/password/change",
        &bob,
        json!({"old_password": PASSWORD, "new_password1": "N3w-passw0rd-x", "new_password2": "N3w-passw0rd-x"}),
    )
    .expect(200);
    let change = newest(&s, &admin, "change:password", "bobby_audit");
    assert!(!change.to_string().contains("N3w-passw0rd-x"));
    s.post("/api/auth/logout", &bob, Value::Null).expect(200);
    assert_eq!(
        newest(&s, &admin, "logout:user", "bobby_audit")["actor_id"],
        bob_id
    );
    let basic = Auth::basic("bobby_audit", "N3w-passw0rd-x");
    s.get("/api/users/self", &basic).expect(200);
    s.get("/api/users/self", &basic).expect(200);
    let basics: Vec<Value> = events(&s, &admin, "action=login:user&actor=bobby_audit")
        .into_iter()
        .filter(|e| e["auth_method"] == "basic")
        .collect();
    assert_eq!(basics.len(), 1, "{basics:?}");

    // Access tokens and blocking.
    let (_, carol) = s.register("carol_audit");
    let pat = s.post(
        "/api/auth/access_tokens",
        &carol,
        json!({"name": "ci-token"}),
    );
    pat.expect(201);
    let value = pat.json()["value"].as_str().unwrap().to_string();
    let created = newest(&s, &admin, "create:access_token", "ci-token");
    assert_eq!(created["actor_username"], "carol_audit");
    assert!(!created.to_string().contains(&value));
    let id = pat.json()["id"].as_i64().unwrap();
    s.delete(&format!("/api/auth/access_tokens/{id}"), &carol)
        .expect(204);
    newest(&s, &admin, "delete:access_token", "ci-token");
    s.post(&format!("{}/block", user_path(bob_id)), &admin, Value::Null)
        .expect(200);
    newest(&s, &admin, "block:user", "bobby_audit");

    // The actor's name outlives the actor.
    let (carol_id, _) = (s.me(&carol)["id"].as_i64().unwrap(), ());
    s.delete(&user_path(carol_id), &admin).expect(204);
    let deleted = newest(&s, &admin, "delete:user", "carol_audit");
    assert_eq!(deleted["target_id"], carol_id);
    let by_carol = events(&s, &admin, &format!("actor_id={carol_id}"));
    assert!(by_carol
        .iter()
        .any(|e| e["actor_username"] == "carol_audit"));
}

#[test]
fn organization_events_are_recorded_and_shown_to_its_owners_and_maintainers_only() {
    let s = TestServer::start();
    let admin = s.admin();
    let (_, owner) = s.register_as(&admin, "owner_audit", &["business"], false, false);
    let (worker_id, worker) = s.register("worker_audit");
    let (_, maint) = s.register("maint_audit");
    let (_, other) = s.register_as(&admin, "other_audit", &["business"], false, false);
    let org = s.post(
        "/api/organizations",
        &owner,
        json!({"slug": "audorg", "name": "Audit Org"}),
    );
    org.expect(201);
    let org_id = org.json()["id"].as_i64().unwrap();
    s.post("/api/organizations", &other, json!({"slug": "elsewhere"}))
        .expect(201);
    for (email, role) in [
        ("worker_audit@example.com", "worker"),
        ("maint_audit@example.com", "maintainer"),
    ] {
        s.post(
            "/api/invitations?org=audorg",
            &owner,
            json!({"role": role, "email": email}),
        )
        .expect(201);
    }
    let created = newest(&s, &admin, "create:organization", "audorg");
    assert_eq!(created["org_id"], org_id);
    assert_eq!(created["changes"]["name"]["new"], "Audit Org");
    let invited = newest(&s, &admin, "create:invitation", "worker_audit@example.com");
    assert_eq!(invited["org_id"], org_id);
    assert_eq!(invited["changes"]["role"], "worker");
    assert!(invited["target_id"].is_i64());

    // Accept if the server waits for the invitee (confirmation on), so both are members.
    for (who, name) in [(&worker, "worker_audit"), (&maint, "maint_audit")] {
        let list = s.get("/api/invitations", who).json();
        for inv in list["results"].as_array().unwrap() {
            if inv["accepted"] == false {
                let key = inv["key"].as_str().unwrap();
                s.send_with(
                    Method::POST,
                    &format!("/api/invitations/{key}/accept"),
                    who,
                    &[],
                    Value::Null,
                )
                .expect(200);
                newest(&s, &admin, "accept:invitation", name);
            }
        }
    }
    let memberships = s.get("/api/memberships?org=audorg", &owner).json();
    let worker_m = memberships["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["user"]["id"] == worker_id)
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    s.patch(
        &format!("/api/memberships/{worker_m}?org=audorg"),
        &owner,
        json!({"role": "supervisor"}),
    )
    .expect(200);
    let role = newest(&s, &admin, "update:membership", "worker_audit");
    assert_eq!(
        role["changes"]["role"],
        json!({"old": "worker", "new": "supervisor"})
    );
    assert_eq!(role["org_id"], org_id);
    s.patch(
        &format!("/api/organizations/{org_id}"),
        &owner,
        json!({"name": "Audit Org 2"}),
    )
    .expect(200);
    let renamed = newest(&s, &admin, "update:organization", "audorg");
    assert_eq!(
        renamed["changes"]["name"],
        json!({"old": "Audit Org", "new": "Audit Org 2"})
    );

    // Owners and maintainers read their organization's events, and only those.
    for who in [&owner, &maint] {
        let seen = events(&s, who, "org=audorg&page_size=1000");
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|e| e["org_id"] == org_id), "{seen:?}");
    }
    assert_detail(
        &s.get("/api/audit-events?org=audorg", &worker),
        403,
        "You do not have permission to perform this action.",
    );
    s.get("/api/audit-events", &owner).expect(403);
    s.get("/api/audit-events?org=audorg", &other).expect(403);
    // The administrator with an organization selected: that organization's.
    let admins = events(&s, &admin, "org=elsewhere");
    assert!(
        admins.iter().all(|e| e["target_name"] == "elsewhere"),
        "{admins:?}"
    );

    s.delete(&format!("/api/memberships/{worker_m}?org=audorg"), &owner)
        .expect(204);
    newest(&s, &admin, "delete:membership", "worker_audit");
    s.delete(&format!("/api/organizations/{org_id}"), &owner)
        .expect(204);
    newest(&s, &admin, "delete:organization", "audorg");
}

#[test]
fn filters_and_the_cursor_walk_every_event_once_and_bad_input_gets_400() {
    let s = TestServer::start();
    let admin = s.admin();
    let names: Vec<String> = (0..7).map(|i| format!("walker_{i:02}")).collect();
    s.register_all(&names);

    // A walk with pages of 3: every event once, newest first, while new ones arrive.
    let all: Vec<i64> = events(&s, &admin, "page_size=1000")
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    let mut seen = Vec::new();
    let mut path = "/api/audit-events?page_size=3".to_string();
    for page_no in 0.. {
        let page = s.get(&path, &admin);
        page.expect(200);
        let page = page.json();
        seen.extend(
            page["results"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["seq"].as_i64().unwrap()),
        );
        s.register(&format!("late_{page_no:02}"));
        match page["next"].as_str() {
            Some(next) => path = next.trim_start_matches(&s.url("")).to_string(),
            None => break,
        }
    }
    assert_eq!(seen, all);
    let mut sorted = all.clone();
    sorted.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(all, sorted);

    // Filters.
    let regs = events(&s, &admin, "action=register:user&actor=walker_03");
    assert_eq!(regs.len(), 1);
    assert_eq!(events(&s, &admin, "client_address=10.9.9.9").len(), 0);
    assert_eq!(
        events(&s, &admin, "target_type=user&to=2000-01-01").len(),
        0
    );
    assert!(!events(&s, &admin, "from=2000-01-01T00:00:00Z&target_type=user").is_empty());

    // Bad input: 400 naming the parameter; a plain user: 403.
    for (query, field) in [
        ("actor_id=abc", "actor_id"),
        ("from=yesterday", "from"),
        ("cursor=not-a-cursor", "cursor"),
        ("page_size=0", "page_size"),
        ("page_size=5000", "page_size"),
        ("from=2026-12-05&to=2026-12-01", "to"),
    ] {
        let r = s.get(&format!("/api/audit-events?{query}"), &admin);
        r.expect(400);
        assert!(r.json()[field].is_array(), "{query}: {}", r.json());
    }
    let (_, user) = s.register("plain_reader");
    s.get("/api/audit-events", &user).expect(403);
    s.get("/api/audit-events", &Auth::None).expect(401);
}

/// Runs `statement` on the test database directly (SQLite file or PostgreSQL schema), as
/// someone with access to the database but not to the server would.
fn tamper(url: &str, statement: &str) {
    if url.starts_with("postgres") {
        let ok = std::process::Command::new("psql")
            .args([url, "-q", "-v", "ON_ERROR_STOP=1", "-c", statement])
            .status()
            .unwrap()
            .success();
        assert!(ok, "psql: {statement}");
    } else {
        let conn = rusqlite::Connection::open(url.trim_start_matches("sqlite://")).unwrap();
        conn.execute_batch(statement).unwrap();
    }
}

/// `cvat-server audit verify` on `url`: (success, stdout + stderr).
fn verify(url: &str) -> (bool, String) {
    let out = std::process::Command::new(server_bin())
        .args(["audit", "--database-url", url, "verify"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn verify_names_the_event_changed_or_removed_in_the_database() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, _) = s.register("tamper_me");
    s.patch(&user_path(id), &admin, json!({"first_name": "T"}))
        .expect(200);
    s.register("tamper_two");
    let db = s.stop();

    let (ok, out) = verify(&db.url);
    assert!(ok, "{out}");
    assert!(
        out.contains("audit chain intact: 5 events verified"),
        "{out}"
    );

    // A changed field (say, hiding who did it) breaks that event's hash.
    tamper(
        &db.url,
        "UPDATE audit_events SET actor_username = 'nobody' WHERE seq = 3",
    );
    let (ok, out) = verify(&db.url);
    assert!(!ok);
    assert!(out.contains("event 3 was changed"), "{out}");

    // A removed event leaves a gap.
    tamper(&db.url, "DELETE FROM audit_events WHERE seq = 3");
    let (ok, out) = verify(&db.url);
    assert!(!ok);
    assert!(out.contains("event 3 was removed"), "{out}");

    // The newest removed: the head still names it.
    tamper(&db.url, "DELETE FROM audit_events WHERE seq >= 3");
    let (ok, out) = verify(&db.url);
    assert!(!ok);
    assert!(out.contains("(the newest) were removed"), "{out}");
}

#[test]
fn retention_prunes_old_events_and_the_rest_still_verifies() {
    let s = TestServer::start();
    let admin = s.admin();
    s.register_all(&["keep_one", "keep_two", "keep_three"]);
    drop(admin);
    let db = s.stop();
    // The first three events are three days old.
    tamper(
        &db.url,
        "UPDATE audit_events SET at = at - 259200000000 WHERE seq <= 3",
    );
    let s = TestServer::serve(db, &["--audit-retention-days", "1"]);
    let admin = s.admin();
    let oldest = || {
        let all = events(&s, &admin, "page_size=1000");
        all.last().unwrap()["seq"].as_i64().unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while oldest() != 4 {
        assert!(
            std::time::Instant::now() < deadline,
            "not pruned: {}",
            s.logs()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    s.register("after_prune");
    let db = s.stop();
    let (ok, out) = verify(&db.url);
    assert!(ok, "{out}");
    assert!(out.contains("signed checkpoint of event 3"), "{out}");

    // A checkpoint moved forward by hand (hiding events 4 and 5) has no valid signature.
    tamper(
        &db.url,
        "UPDATE audit_chain SET checkpoint_seq = 5, \
         checkpoint_hash = (SELECT hash FROM audit_events WHERE seq = 5); \
         DELETE FROM audit_events WHERE seq <= 5",
    );
    let (ok, out) = verify(&db.url);
    assert!(!ok);
    assert!(out.contains("checkpoint"), "{out}");
}
