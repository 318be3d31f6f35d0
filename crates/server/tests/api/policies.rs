//! Registration and password policies (issue 15): registration limited to listed e-mail
//! domains (an invited address may register whatever its domain), a longer minimum password
//! length everywhere, and `advanced-auth` saying so.

use serde_json::json;

use crate::common::*;

fn register(s: &TestServer, username: &str, email: &str, password: &str) -> Resp {
    s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": username, "email": email, "password1": password, "password2": password}),
    )
}

#[test]
fn registration_is_limited_to_the_listed_domains_but_invitations_pass() {
    let s = TestServer::start_with(&[
        "--registration-domains",
        "example.com,.corp.example",
        "--org-invitation-confirm=true",
    ]);
    let refusal = "Registration is limited to addresses at example.com, .corp.example.";
    let r = register(&s, "outsider", "someone@elsewhere.org", PASSWORD);
    r.expect(400);
    assert_eq!(r.json(), json!({"email": [refusal]}));
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "noaddress", "password1": PASSWORD, "password2": PASSWORD}),
    );
    assert_eq!(r.json(), json!({"email": ["This field is required."]}));
    register(&s, "insider", "insider@example.com", PASSWORD).expect(201);
    register(&s, "subsider", "someone@eu.corp.example", PASSWORD).expect(201);
    let r = register(&s, "lookalike", "x@evilcorp.example", PASSWORD);
    assert_eq!(r.json(), json!({"email": [refusal]}));
    assert_eq!(
        s.get("/api/users?search=outsider", &s.admin()).json()["count"],
        0,
        "a refused registration leaves nothing behind"
    );

    // An organization invites an outside address: that address may register.
    let admin = s.admin();
    let (_, owner) = s.register_as(&admin, "owner_pol", &["business"], false, false);
    s.post("/api/organizations", &owner, json!({"slug": "polorg"}))
        .expect(201);
    s.post(
        "/api/invitations?org=polorg",
        &owner,
        json!({"email": "guest@partner.org", "role": "worker"}),
    )
    .expect(201);
    register(&s, "guest_pol", "guest@partner.org", PASSWORD).expect(201);

    let about = s.get("/api/server/advanced-auth", &Auth::None).json();
    assert_eq!(
        about["password"]["registration_domains"],
        json!(["example.com", ".corp.example"])
    );
}

#[test]
fn a_longer_minimum_password_length_holds_everywhere() {
    let s = TestServer::start_with(&["--password-min-length", "14"]);
    let short = "Tr1cky-Pass-9"; // 13 characters: fine by default, short here
    let message = "This password is too short. It must contain at least 14 characters.";
    let r = register(&s, "shorty", "shorty@example.com", short);
    r.expect(400);
    assert_eq!(r.json(), json!({"password1": [message]}));
    let long = "Tr1cky-Pass-99";
    let (id, token) = {
        register(&s, "longer", "longer@example.com", long).expect(201);
        let token = s.token("longer", long);
        (s.me(&token)["id"].as_i64().unwrap(), token)
    };
    let r = s.post(
        "/api/auth/password/change",
        &token,
        json!({"old_password": long, "new_password1": short, "new_password2": short}),
    );
    assert_eq!(r.json(), json!({"new_password2": [message]}));
    let r = s.post(
        &format!("/api/users/{id}/password"),
        &s.admin(),
        json!({ "password": short }),
    );
    assert_eq!(r.json(), json!({"password": [message]}));
    assert_eq!(
        s.get("/api/server/advanced-auth", &Auth::None).json()["password"]["min_length"],
        14
    );
    // `cvat-server config` prints it; below Django's 8 is not a setting.
    let config = |n: &str| {
        std::process::Command::new(server_bin())
            .args(["config", "--password-min-length", n])
            .output()
            .unwrap()
    };
    let out = config("9");
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("password_min_length = 9"));
    assert!(!config("6").status.success());
}
