//! Administration (issue 8): `POST /api/users`, `POST /api/users/{id}/password`, the
//! `--registration-disabled` switch, and the console at `/admin/` over plain HTTP (log-in,
//! CSRF on forms, refusal of non-admins, the same validation and last-admin guard as the API).

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const REQUIRED: &str = "This field is required.";
const SHORT: &str = "This password is too short. It must contain at least 8 characters.";
const COMMON: &str = "This password is too common.";
const NUMERIC: &str = "This password is entirely numeric.";
const DISABLED: &str =
    "Self-registration is disabled on this server. Ask an administrator for an account.";
const PASSWORD_SET: &str =
    "The password has been set. The user's sessions and tokens have been revoked.";
const INVALID_TOKEN: &str = "Invalid token.";

fn create(s: &TestServer, auth: &Auth, body: Value) -> Resp {
    s.post("/api/users", auth, body)
}

// ---------------------------------------------------------------------------------------------
// POST /api/users

#[test]
fn create_returns_the_full_representation_and_the_user_can_log_in() {
    let s = TestServer::start();
    let admin = s.admin();
    let r = create(
        &s,
        &admin,
        json!({"username": "new_user1", "email": "new1@example.com", "password": PASSWORD,
               "first_name": "New", "last_name": "User"}),
    );
    r.expect(201);
    let u = r.json();
    assert_eq!(keys(&u), FULL_KEYS);
    assert_eq!(u["username"], "new_user1");
    assert_eq!(u["email"], "new1@example.com");
    assert_eq!(u["first_name"], "New");
    assert_eq!(u["last_name"], "User");
    assert_eq!(group_set(&u["groups"]), set(&["user"]));
    assert_eq!(u["is_staff"], false);
    assert_eq!(u["is_superuser"], false);
    assert_eq!(u["is_active"], true);
    assert_eq!(u["last_login"], Value::Null);
    let id = u["id"].as_i64().unwrap();
    assert_eq!(u["url"], s.url(&format!("/api/users/{id}")));
    assert!(u["date_joined"].as_str().unwrap().ends_with('Z'));
    // The same object through GET, and the password works.
    assert_eq!(s.get(&format!("/api/users/{id}"), &admin).json(), u);
    let own = s.token("new_user1", PASSWORD);
    assert_eq!(s.get("/api/users/self", &own).json()["id"], id);
    // Nobody was logged in by the creation: no cookies.
    assert!(r.cookie("sessionid").is_none());
}

#[test]
fn create_sets_groups_and_flags() {
    let s = TestServer::start();
    let admin = s.admin();
    let r = create(
        &s,
        &admin,
        json!({"username": "worker_b", "password": PASSWORD, "groups": ["worker", "business"],
               "is_staff": true, "is_active": false}),
    );
    r.expect(201);
    let u = r.json();
    assert_eq!(group_set(&u["groups"]), set(&["business", "worker"]));
    assert_eq!(
        (&u["is_staff"], &u["is_superuser"], &u["is_active"]),
        (&json!(true), &json!(false), &json!(false))
    );
    assert_eq!(u["email"], "");
    // An inactive account cannot log in.
    s.login("worker_b", PASSWORD).expect(400);

    // Superuser + staff ⇒ the admin group, as on every save; no group list ⇒ admin only.
    let r = create(
        &s,
        &admin,
        json!({"username": "second_admin", "password": PASSWORD, "is_staff": "true",
               "is_superuser": "true"}),
    );
    r.expect(201);
    assert_eq!(group_set(&r.json()["groups"]), set(&["admin"]));
    let r = create(
        &s,
        &admin,
        json!({"username": "third_admin", "password": PASSWORD, "is_staff": true,
               "is_superuser": true, "groups": ["worker"]}),
    );
    assert_eq!(group_set(&r.json()["groups"]), set(&["admin", "worker"]));
    // The new admin is an admin: it may create users itself.
    let other = s.token("third_admin", PASSWORD);
    create(
        &s,
        &other,
        json!({"username": "made_by_3", "password": PASSWORD}),
    )
    .expect(201);
    // An empty list is no group at all.
    let r = create(
        &s,
        &admin,
        json!({"username": "nobody_g", "password": PASSWORD, "groups": []}),
    );
    assert_eq!(group_set(&r.json()["groups"]), set(&[]));
}

#[test]
fn create_validates_like_registration() {
    let s = TestServer::start();
    let admin = s.admin();
    let refused = |body: Value, errors: Value| assert_json(&create(&s, &admin, body), 400, errors);
    refused(
        json!({}),
        json!({"username": [REQUIRED], "password": [REQUIRED]}),
    );
    // Field order: username, email, password, then the others.
    let r = create(
        &s,
        &admin,
        json!({"username": "bob", "email": "nope", "password": "1234567",
               "first_name": null, "groups": ["nope"], "is_active": "maybe"}),
    );
    assert_json(
        &r,
        400,
        json!({
            "username": ["Ensure this field has at least 5 characters."],
            "email": ["Enter a valid email address."],
            "password": [SHORT, COMMON, NUMERIC],
            "first_name": ["This field may not be null."],
            "groups": ["Object with name=nope does not exist."],
            "is_active": ["Must be a valid boolean."],
        }),
    );
    assert_eq!(
        keys(&r.json()),
        [
            "username",
            "email",
            "password",
            "first_name",
            "groups",
            "is_active"
        ]
    );
    refused(
        json!({"username": "bad name!", "password": PASSWORD}),
        json!({"username": ["Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters."]}),
    );
    // Similarity to the new user's own attributes.
    refused(
        json!({"username": "johndoe", "first_name": "John", "password": "johndoe1"}),
        json!({"password": ["The password is too similar to the username."]}),
    );
    refused(
        json!({"username": "carol_x", "email": "someone.special@example.com", "password": "someone.special"}),
        json!({"password": ["The password is too similar to the email address."]}),
    );
    // Uniqueness: the username and the e-mail, case-insensitively, as registration.
    create(
        &s,
        &admin,
        json!({"username": "Taken_1", "email": "taken@example.com", "password": PASSWORD}),
    )
    .expect(201);
    refused(
        json!({"username": "taken_1", "email": "TAKEN@example.com", "password": PASSWORD}),
        json!({"username": ["A user with that username already exists."],
               "email": ["A user is already registered with this e-mail address."]}),
    );
    refused(
        json!({"username": "ADMIN", "password": PASSWORD}),
        json!({"username": ["A user with that username already exists."]}),
    );
    // Names may be blank (unlike registration's), unknown keys are ignored.
    let r = create(
        &s,
        &admin,
        json!({"username": "blank_names", "password": PASSWORD, "first_name": "", "last_name": " ",
               "bogus": 1, "id": 999, "last_login": "2020-01-01T00:00:00Z"}),
    );
    r.expect(201);
    assert_ne!(r.json()["id"], 999);
    assert_eq!(r.json()["last_login"], Value::Null);
    // Bodies: form and multipart work as for PATCH; a list is not an object.
    let r = s.send(s.request(Method::POST, "/api/users", &admin).form(&[
        ("username", "form_user"),
        ("password", PASSWORD),
        ("groups", "worker"),
        ("groups", "user"),
    ]));
    r.expect(201);
    assert_eq!(group_set(&r.json()["groups"]), set(&["user", "worker"]));
    let r = s.send(
        s.request(Method::POST, "/api/users", &admin)
            .json(&json!([1])),
    );
    assert_json(
        &r,
        400,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    );
}

#[test]
fn create_is_for_admins_only() {
    let s = TestServer::start();
    let admin = s.admin();
    let (uid, user) = s.register("plain_user");
    let body = json!({"username": "sneaky_1", "password": PASSWORD});
    assert_json(
        &create(&s, &user, body.clone()),
        403,
        json!({"detail": NO_PERMISSION}),
    );
    // Staff without the admin group: still 403 (decision 5), even with a bad body (policy first).
    s.admin_patch(uid, json!({"is_staff": true})).expect(200);
    assert_json(
        &create(&s, &user, body.clone()),
        403,
        json!({"detail": NO_PERMISSION}),
    );
    assert_json(
        &create(&s, &user, json!([])),
        403,
        json!({"detail": NO_PERMISSION}),
    );
    // Anonymous: 401.
    create(&s, &Auth::None, body.clone()).expect(401);
    // An admin group member who is neither staff nor superuser may create (the privilege rules).
    s.admin_patch(uid, json!({"groups": ["admin"], "is_staff": false}))
        .expect(200);
    create(&s, &user, body).expect(201);
    // The other unmapped methods keep CVAT's answers; Allow now names POST.
    let r = s.send(
        s.request(Method::PUT, "/api/users", &admin)
            .json(&json!({})),
    );
    assert_json(&r, 405, json!({"detail": "Method \"PUT\" not allowed."}));
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, POST, HEAD, OPTIONS")
    );
    // Session authentication needs the CSRF header, as every unsafe request.
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    let session = login.session();
    let r = create(
        &s,
        &session,
        json!({"username": "csrf_user", "password": PASSWORD}),
    );
    assert_json(
        &r,
        403,
        json!({"detail": "CSRF Failed: CSRF token missing or incorrect."}),
    );
    let Auth::Session(_, csrf) = &session else {
        unreachable!()
    };
    let r = s.send(
        s.request(Method::POST, "/api/users", &session)
            .header("X-CSRFToken", csrf)
            .json(&json!({"username": "csrf_user", "password": PASSWORD})),
    );
    r.expect(201);
}

// ---------------------------------------------------------------------------------------------
// POST /api/users/{id}/password

fn set_password(s: &TestServer, auth: &Auth, id: i64, password: Value) -> Resp {
    s.post(
        &format!("/api/users/{id}/password"),
        auth,
        json!({ "password": password }),
    )
}

#[test]
fn set_password_revokes_every_credential() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, token) = s.register("victim_1");
    // A session and a personal access token as well.
    let login = s.login("victim_1", PASSWORD);
    let session = login.session();
    s.get("/api/users/self", &session).expect(200);
    let pat = s.post("/api/auth/access_tokens", &token, json!({"name": "laptop"}));
    pat.expect(201);
    let bearer = pat.json()["value"].as_str().unwrap().to_string();
    let with_bearer = || {
        s.send(
            s.request(Method::GET, "/api/users/self", &Auth::None)
                .header("Authorization", format!("Bearer {bearer}")),
        )
    };
    with_bearer().expect(200);

    let r = set_password(&s, &admin, id, json!("Brand-New-Secret-7"));
    assert_json(&r, 200, json!({"detail": PASSWORD_SET}));
    // Token, session and access token are gone.
    assert_json(
        &s.get("/api/users/self", &token),
        401,
        json!({"detail": INVALID_TOKEN}),
    );
    s.get("/api/users/self", &session).expect(401);
    assert_json(&with_bearer(), 401, json!({"detail": INVALID_TOKEN}));
    // The old password no longer works, the new one does.
    s.login("victim_1", PASSWORD).expect(400);
    let fresh = s.token("victim_1", "Brand-New-Secret-7");
    assert_eq!(s.get("/api/users/self", &fresh).json()["id"], id);
    // Other users' credentials are untouched.
    s.get("/api/users/self", &admin).expect(200);
}

#[test]
fn set_password_validates_with_the_target_attributes() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, token) = s.register("marguerite");
    for (password, errors) in [
        (json!("short"), json!([SHORT])),
        (json!("12345678"), json!([COMMON, NUMERIC])),
        (
            json!("marguerite1"),
            json!(["The password is too similar to the username."]),
        ),
        (json!(""), json!(["This field may not be blank."])),
        (json!(null), json!(["This field may not be null."])),
        (json!(["x"]), json!(["Not a valid string."])),
        (
            json!("x".repeat(129)),
            json!(["Ensure this field has no more than 128 characters."]),
        ),
    ] {
        assert_json(
            &set_password(&s, &admin, id, password.clone()),
            400,
            json!({ "password": errors }),
        );
    }
    assert_json(
        &s.post(&format!("/api/users/{id}/password"), &admin, json!({})),
        400,
        json!({"password": [REQUIRED]}),
    );
    // Nothing was revoked by the failures.
    s.get("/api/users/self", &token).expect(200);
}

#[test]
fn set_password_is_for_admins_only() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, me) = s.register("selfish_1");
    let (other, _) = s.register("someone_2");
    // Not even for oneself (that is /api/auth/password/change, with the old password).
    for target in [id, other, 99_999] {
        assert_json(
            &set_password(&s, &me, target, json!("Whatever-Pass-1")),
            403,
            json!({"detail": NO_PERMISSION}),
        );
    }
    set_password(&s, &Auth::None, id, json!("Whatever-Pass-1")).expect(401);
    // Admins: 404 for unknown and non-integer ids.
    assert_json(
        &set_password(&s, &admin, 99_999, json!("Whatever-Pass-1")),
        404,
        json!({"detail": "Not found."}),
    );
    let r = s.post(
        "/api/users/abc/password",
        &admin,
        json!({"password": "Whatever-Pass-1"}),
    );
    assert_json(&r, 404, json!({"detail": "Not found."}));
    // Other methods: 405.
    let r = s.get(&format!("/api/users/{id}/password"), &admin);
    assert_json(&r, 405, json!({"detail": "Method \"GET\" not allowed."}));
    // Still usable by the user, since nothing changed.
    s.get("/api/users/self", &me).expect(200);
}

#[test]
fn an_admin_resetting_its_own_password_logs_itself_out() {
    let s = TestServer::start();
    let admin = s.admin();
    let me = s.get("/api/users/self", &admin).json()["id"]
        .as_i64()
        .unwrap();
    set_password(&s, &admin, me, json!("Another-Adm1n-Pass")).expect(200);
    s.get("/api/users/self", &admin).expect(401);
    s.token(ADMIN, "Another-Adm1n-Pass");
}

// ---------------------------------------------------------------------------------------------
// --registration-disabled

fn register_body(name: &str) -> Value {
    json!({"username": name, "email": format!("{name}@example.com"), "password1": PASSWORD, "password2": PASSWORD})
}

#[test]
fn registration_can_be_disabled() {
    let s = TestServer::start_with(&["--registration-disabled"]);
    let r = s.post(
        "/api/auth/register",
        &Auth::None,
        register_body("hopeful_1"),
    );
    assert_json(&r, 403, json!({"detail": DISABLED}));
    assert!(r.cookie("sessionid").is_none());
    // Whatever the body, and for authenticated requesters too.
    let admin = s.admin();
    assert_json(
        &s.post("/api/auth/register", &Auth::None, json!({})),
        403,
        json!({"detail": DISABLED}),
    );
    assert_json(
        &s.post("/api/auth/register", &admin, register_body("hopeful_2")),
        403,
        json!({"detail": DISABLED}),
    );
    // Bad credentials are still 401 first; GET is still 405.
    let r = s.post(
        "/api/auth/register",
        &Auth::Token("0".repeat(40)),
        register_body("x"),
    );
    r.expect(401);
    s.get("/api/auth/register", &Auth::None).expect(405);
    // Administrators create the accounts instead.
    create(
        &s,
        &admin,
        json!({"username": "hopeful_1", "password": PASSWORD}),
    )
    .expect(201);
    s.token("hopeful_1", PASSWORD);
}

#[test]
fn registration_is_on_by_default_and_with_an_explicit_false() {
    for flags in [&[][..], &["--registration-disabled=false"][..]] {
        let s = TestServer::start_with(flags);
        s.post(
            "/api/auth/register",
            &Auth::None,
            register_body("welcome_1"),
        )
        .expect(201);
    }
}

// ---------------------------------------------------------------------------------------------
// The console over HTTP (the browser tests drive the real pages)

#[test]
fn console_login_csrf_and_refusal() {
    let s = TestServer::start();
    let b = Browser::new(&s);
    // Without a session: to the log-in page, remembering where to go.
    let (status, location, _) = b.get("/admin/users?search=x");
    assert_eq!(
        (status, location.as_str()),
        (303, "/admin/login?next=%2Fadmin%2Fusers%3Fsearch%3Dx")
    );
    // A form without the token, or with a wrong one, is refused.
    let (status, _, page) = b.post(
        "/admin/login",
        &[("username", ADMIN), ("password", ADMIN_PASSWORD)],
    );
    assert_eq!(status, 403);
    assert!(page.contains("CSRF Failed: CSRF"), "{page}");
    let (_, _, page) = b.get("/admin/login");
    let csrf = b.csrf(&page);
    let wrong: String = csrf.chars().rev().collect();
    let (status, _, _) = b.post(
        "/admin/login",
        &[
            ("csrfmiddlewaretoken", &wrong),
            ("username", ADMIN),
            ("password", ADMIN_PASSWORD),
        ],
    );
    assert_eq!(status, 403);
    // Wrong password: the form again, with the message.
    let (status, _, page) = b.login(ADMIN, "wrong-password");
    assert_eq!(status, 400);
    assert!(
        page.contains("Please enter the correct username and password"),
        "{page}"
    );
    // A non-admin: refused, and no session is started.
    s.register("normal_joe");
    let (status, _, page) = b.login("normal_joe", PASSWORD);
    assert_eq!(status, 403);
    assert!(page.contains("does not have the admin privilege"), "{page}");
    assert_eq!(b.get("/admin/users").0, 303);
    // The admin gets in; the session is the API's session.
    let (status, location, _) = b.login(ADMIN, ADMIN_PASSWORD);
    assert_eq!((status, location.as_str()), (303, "/admin/users"));
    let (status, _, page) = b.get("/admin/users");
    assert_eq!(status, 200);
    assert!(
        page.contains("normal_joe") && page.contains("Signed in as"),
        "{page}"
    );
    // Logging out needs the token too.
    let csrf = b.csrf(&page);
    assert_eq!(b.post("/admin/logout", &[]).0, 403);
    assert_eq!(
        b.post("/admin/logout", &[("csrfmiddlewaretoken", &csrf)]).0,
        303
    );
    assert_eq!(b.get("/admin/users").0, 303);
    // An API session of a non-admin reaching the console: 403 page.
    let login = s.login("normal_joe", PASSWORD);
    let r = s.send(s.request(Method::GET, "/admin/users", &login.session()));
    r.expect(403);
    assert!(r.text.contains("does not have the admin privilege"));
}

#[test]
fn console_actions_share_the_api_rules() {
    let s = TestServer::start();
    let b = Browser::new(&s);
    b.login(ADMIN, ADMIN_PASSWORD);
    let (_, _, page) = b.get("/admin/users/new");
    let csrf = b.csrf(&page);
    // Validation errors are the API's, shown next to their fields.
    let (status, _, page) = b.post(
        "/admin/users/new",
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("username", "bob"),
            ("password", "123"),
            ("email", "x"),
            ("groups_shown", "1"),
            ("is_active", "false"),
            ("is_active", "true"),
        ],
    );
    assert_eq!(status, 400);
    for msg in [
        "Ensure this field has at least 5 characters.",
        "Enter a valid email address.",
        SHORT,
    ] {
        assert!(page.contains(msg), "{msg} missing: {page}");
    }
    let field = page.find("data-field=\"password\"").unwrap();
    assert!(
        page[field..].find(SHORT).unwrap() < page[field..].find("data-field=\"email\"").unwrap()
    );
    // A good form creates the user exactly as the API would.
    let (status, location, _) = b.post(
        "/admin/users/new",
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("username", "console_made"),
            ("password", PASSWORD),
            ("email", "cm@example.com"),
            ("groups_shown", "1"),
            ("groups", "worker"),
            ("is_active", "false"),
            ("is_active", "true"),
            ("is_staff", "false"),
            ("is_superuser", "false"),
        ],
    );
    assert_eq!(status, 303, "{location}");
    let id: i64 = location
        .trim_start_matches("/admin/users/")
        .split('?')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let admin = s.admin();
    let u = s.get(&format!("/api/users/{id}"), &admin).json();
    assert_eq!(
        (u["username"].as_str(), group_set(&u["groups"])),
        (Some("console_made"), set(&["worker"]))
    );
    assert_eq!(u["is_active"], true);
    // The last admin cannot be deactivated here either: the API's 409 message.
    let me = s.get("/api/users/self", &admin).json()["id"]
        .as_i64()
        .unwrap();
    let (status, _, page) = b.post(
        &format!("/admin/users/{me}/active"),
        &[("csrfmiddlewaretoken", &csrf), ("is_active", "false")],
    );
    assert_eq!(status, 409);
    assert!(page.contains("This is the last active admin"), "{page}");
    let (status, _, page) = b.post(
        &format!("/admin/users/{me}/delete"),
        &[("csrfmiddlewaretoken", &csrf)],
    );
    assert_eq!(status, 409);
    assert!(page.contains("This is the last active admin"), "{page}");
    // Password: the API's rules, with the target's attributes.
    let (status, _, page) = b.post(
        &format!("/admin/users/{id}/password"),
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("password", "console_made1"),
            ("password2", "console_made1"),
        ],
    );
    assert_eq!(status, 400);
    assert!(
        page.contains("The password is too similar to the username."),
        "{page}"
    );
    let (status, location, _) = b.post(
        &format!("/admin/users/{id}/password"),
        &[
            ("csrfmiddlewaretoken", &csrf),
            ("password", "Fresh-Secret-31"),
            ("password2", "Fresh-Secret-31"),
        ],
    );
    assert_eq!(
        (status, location),
        (303, format!("/admin/users/{id}?done=password"))
    );
    s.token("console_made", "Fresh-Secret-31");
    // Delete, after the confirmation page that names the user.
    let (status, _, page) = b.get(&format!("/admin/users/{id}/delete"));
    assert_eq!(status, 200);
    assert!(page.contains("Delete user console_made?"));
    let (status, location, _) = b.post(
        &format!("/admin/users/{id}/delete"),
        &[("csrfmiddlewaretoken", &csrf)],
    );
    assert_eq!(
        (status, location.as_str()),
        (303, "/admin/users?done=deleted&name=console_made")
    );
    s.get(&format!("/api/users/{id}"), &admin).expect(404);
}
