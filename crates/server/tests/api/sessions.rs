//! The sessions list (issue 15): every credential of a user with when and where it was made,
//! revoking one, signing out everywhere; administrators for anybody, users for themselves only.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

fn ids_by_kind(list: &Value, kind: &str) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == kind)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

fn login_from(s: &TestServer, agent: &str) -> (Auth, Auth) {
    let r = s.send(
        s.request(Method::POST, "/api/auth/login", &Auth::None)
            .header("User-Agent", agent)
            .json(&json!({"username": "many_logins", "password": PASSWORD})),
    );
    r.expect(200);
    let token = Auth::Token(r.json()["key"].as_str().unwrap().to_string());
    let session = Auth::Session(
        r.cookie("sessionid").unwrap(),
        r.cookie("csrftoken").unwrap(),
    );
    (token, session)
}

#[test]
fn a_user_lists_revokes_one_and_signs_out_everywhere_else() {
    let s = TestServer::start();
    s.register("many_logins");
    let (laptop, laptop_session) = login_from(&s, "laptop-browser/1.0");
    let (phone, _) = login_from(&s, "phone-app/2.0");
    let pat = s.post("/api/auth/access_tokens", &laptop, json!({"name": "ci"}));
    let pat = Auth::Bearer(pat.json()["value"].as_str().unwrap().to_string());

    let list = s.get("/api/auth/sessions", &laptop);
    list.expect(200);
    let list = list.json();
    // The registration's token and session, two logins' worth, and the access token.
    assert_eq!(ids_by_kind(&list, "token").len(), 3, "{list}");
    assert_eq!(ids_by_kind(&list, "session").len(), 3, "{list}");
    assert_eq!(ids_by_kind(&list, "access_token").len(), 1, "{list}");
    let items = list.as_array().unwrap();
    let current: Vec<&Value> = items.iter().filter(|c| c["current"] == true).collect();
    assert_eq!(current.len(), 1, "{list}");
    assert_eq!(current[0]["kind"], "token");
    assert_eq!(current[0]["user_agent"], "laptop-browser/1.0");
    assert_eq!(current[0]["client_address"], "127.0.0.1");
    assert!(current[0]["created_date"].is_string());
    let named = items.iter().find(|c| c["kind"] == "access_token").unwrap();
    assert_eq!(named["name"], "ci");
    // No secret in the list: ids are digest prefixes, nothing else looks like a key.
    let text = list.to_string();
    if let Auth::Token(key) = &laptop {
        assert!(!text.contains(key.as_str()));
    }

    // Revoke the phone's token by its id: the phone is out, the laptop stays.
    let phone_id = s
        .get("/api/auth/sessions", &phone)
        .json()
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["current"] == true)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s.delete(&format!("/api/auth/sessions/{phone_id}"), &laptop);
    r.expect(204);
    s.get("/api/users/self", &phone).expect(401);
    s.get("/api/users/self", &laptop).expect(200);
    s.delete(&format!("/api/auth/sessions/{phone_id}"), &laptop)
        .expect(404);
    for bad in ["token:nothex", "session:0123", "nonsense"] {
        s.delete(&format!("/api/auth/sessions/{bad}"), &laptop)
            .expect(404);
    }

    // Everywhere else: only the laptop's token is left.
    let r = s.post("/api/auth/sessions/revoke-all", &laptop, json!({}));
    r.expect(200);
    assert!(r.json()["detail"]
        .as_str()
        .unwrap()
        .starts_with("Signed out everywhere"));
    for gone in [&laptop_session, &pat] {
        s.get("/api/users/self", gone).expect(401);
    }
    let left = s.get("/api/auth/sessions", &laptop).json();
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
}

#[test]
fn administrators_manage_anybodys_sessions_and_users_only_their_own() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, token) = s.register("watched_user");
    let (other_id, other) = s.register("other_user");
    s.get(&format!("/api/users/{other_id}/sessions"), &token)
        .expect(403);
    s.post(
        &format!("/api/users/{other_id}/sessions/revoke-all"),
        &token,
        json!({}),
    )
    .expect(403);
    s.get("/api/users/999999/sessions", &admin).expect(404);

    let list = s.get(&format!("/api/users/{id}/sessions"), &admin).json();
    let token_ids = ids_by_kind(&list, "token");
    assert_eq!(token_ids.len(), 1, "{list}");
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["current"] == false));
    s.delete(
        &format!("/api/users/{id}/sessions/{}", token_ids[0]),
        &admin,
    )
    .expect(204);
    s.get("/api/users/self", &token).expect(401);

    // Revoking everything of another user keeps nothing; the admin's own credential is not theirs.
    s.post(
        &format!("/api/users/{other_id}/sessions/revoke-all"),
        &admin,
        json!({}),
    )
    .expect(200);
    s.get("/api/users/self", &other).expect(401);
    s.get("/api/users/self", &admin).expect(200);
}

#[test]
fn the_console_lists_and_revokes_a_users_credentials() {
    let s = TestServer::start();
    let (id, token) = s.register("console_sessions");
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("Sessions and tokens"), "{page}");
    let list = s.get("/api/auth/sessions", &token).json();
    let token_id = ids_by_kind(&list, "token").pop().unwrap();
    assert!(page.contains(&format!("data-id=\"{token_id}\"")), "{page}");
    let csrf = b.csrf(&page);
    let (status, location, _) = b.post(
        &format!("/admin/users/{id}/sessions"),
        &[("csrfmiddlewaretoken", &csrf), ("revoke", &token_id)],
    );
    assert_eq!(
        (status, location),
        (303, format!("/admin/users/{id}?done=revoked"))
    );
    s.get("/api/users/self", &token).expect(401);
    let session = s.login("console_sessions", PASSWORD);
    let session = Auth::Session(
        session.cookie("sessionid").unwrap(),
        session.cookie("csrftoken").unwrap(),
    );
    b.post(
        &format!("/admin/users/{id}/sessions"),
        &[("csrfmiddlewaretoken", &csrf), ("revoke", "all")],
    );
    s.get("/api/users/self", &session).expect(401);
    let (_, _, page) = b.get(&format!("/admin/users/{id}"));
    assert!(page.contains("signed out everywhere"), "{page}");
}
