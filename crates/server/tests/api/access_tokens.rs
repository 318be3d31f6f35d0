//! Personal access tokens (`/api/auth/access_tokens`, `Authorization: Bearer`).

use serde_json::{json, Value};

use crate::common::*;

fn bearer(v: &Value) -> Auth {
    Auth::Bearer(v["value"].as_str().unwrap().to_string())
}

#[test]
fn a_token_acts_as_its_owner_and_only_its_owner() {
    let s = TestServer::start();
    let admin = s.admin();
    // Several tokens first, so token ids and user ids differ.
    for i in 0..3 {
        s.post(
            "/api/auth/access_tokens",
            &admin,
            json!({"name": format!("a{i}")}),
        )
        .expect(201);
    }
    let (uid, user) = s.register("pat_owner");
    let created = s.post("/api/auth/access_tokens", &user, json!({"name": "cli"}));
    created.expect(201);
    let t = created.json();
    assert_eq!(t["owner"]["id"], uid);
    assert_eq!(t["read_only"], false);
    assert!(t["value"].as_str().unwrap().len() >= 40);
    let token = bearer(&t);
    let me = s.get("/api/users/self", &token);
    me.expect(200);
    assert_eq!(me.json()["id"], uid);
    // Not the admin, whatever the token's id is.
    s.patch("/api/users/1", &token, json!({"first_name": "Pwned"}))
        .expect(403);
    s.patch(
        &format!("/api/users/{uid}"),
        &token,
        json!({"first_name": "Own"}),
    )
    .expect(200);
    // The value is shown once: never in lists or reads.
    let listed = s.get("/api/auth/access_tokens", &user).json();
    assert_eq!(listed["count"], 1);
    assert!(listed["results"][0].get("value").is_none());
    let this = s.get("/api/auth/access_tokens/self", &token);
    this.expect(200);
    assert_eq!(this.json()["id"], t["id"]);
    assert!(this.json().get("value").is_none());
    s.get("/api/auth/access_tokens/self", &user).expect(404);
    // Another user's token is not found.
    s.get(&format!("/api/auth/access_tokens/{}", t["id"]), &admin)
        .expect(404);
    // Use is recorded.
    let read = s
        .get(&format!("/api/auth/access_tokens/{}", t["id"]), &user)
        .json();
    assert!(read["last_used_date"].is_string(), "{read}");
    // Revoked: 401.
    s.delete(&format!("/api/auth/access_tokens/{}", t["id"]), &token)
        .expect(204);
    s.assert_me_refused(&token, "Invalid token.");
}

#[test]
fn read_only_and_expired_tokens() {
    let s = TestServer::start();
    let admin = s.admin();
    let ro = s.post(
        "/api/auth/access_tokens",
        &admin,
        json!({"name": "ro", "read_only": true}),
    );
    ro.expect(201);
    let ro = bearer(&ro.json());
    s.get("/api/users", &ro).expect(200);
    for r in [
        s.patch("/api/users/1", &ro, json!({"first_name": "x"})),
        s.delete("/api/users/1", &ro),
        s.post("/api/auth/access_tokens", &ro, json!({"name": "more"})),
    ] {
        r.expect(403);
        assert_eq!(r.json()["detail"], "This access token is read-only.");
    }
    assert_eq!(s.get("/api/users/1", &admin).json()["first_name"], "");
    // Expiry in the past is refused; a short one expires.
    let r = s.post(
        "/api/auth/access_tokens",
        &admin,
        json!({"name": "old", "expiry_date": "2020-01-01T00:00:00Z"}),
    );
    r.expect(400);
    assert_eq!(
        r.json(),
        json!({"expiry_date": ["The expiry date must be in the future."]})
    );
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
    let t = s.post(
        "/api/auth/access_tokens",
        &admin,
        json!({"name": "soon", "expiry_date": soon}),
    );
    t.expect(201);
    let t = bearer(&t.json());
    s.get("/api/users/self", &t).expect(200);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    s.assert_me_refused(&t, "Token has expired.");
    // Validation messages.
    let r = s.post(
        "/api/auth/access_tokens",
        &admin,
        json!({"name": "x".repeat(51)}),
    );
    assert_eq!(
        r.json(),
        json!({"name": ["Ensure this field has no more than 50 characters."]})
    );
    let r = s.post("/api/auth/access_tokens", &admin, json!({}));
    assert_eq!(r.json(), json!({"name": ["This field is required."]}));
}

#[test]
fn deactivated_or_deleted_owners_lose_their_tokens() {
    let s = TestServer::start();
    let admin = s.admin();
    let (uid, user) = s.register("pat_gone");
    let t = bearer(
        &s.post("/api/auth/access_tokens", &user, json!({"name": "t"}))
            .json(),
    );
    s.set_active(&admin, uid, false);
    s.assert_me_refused(&t, "User inactive or deleted.");
    s.delete(&format!("/api/users/{uid}"), &admin).expect(204);
    assert_eq!(
        s.get("/api/users/self", &t).json()["detail"],
        "Invalid token."
    );
}
