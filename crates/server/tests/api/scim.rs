//! SCIM 2.0 provisioning at `/scim/v2` (issue 17): SCIM tokens and who they let in, Users
//! through the real server (create, read, filter, replace, patch, deprovision), and every bad
//! input a SCIM error with nothing written.

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const CVAT: &str = "urn:cvat:params:scim:schemas:extension:cvat:2.0:User";
const PATCH: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ERROR: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// A SCIM token of the admin.
fn scim_token(s: &TestServer) -> Auth {
    let r = s.post(
        "/api/auth/access_tokens",
        &s.admin(),
        json!({"name": "idp", "scim": true}),
    );
    r.expect(201);
    assert_eq!(r.json()["scim"], true);
    Auth::Bearer(r.json()["value"].as_str().unwrap().to_string())
}

fn scim(s: &TestServer, method: Method, path: &str, auth: &Auth, body: Value) -> Resp {
    let mut rb = s.request(method, &format!("/scim/v2{path}"), auth);
    if !body.is_null() {
        rb = rb
            .header("Content-Type", "application/scim+json")
            .body(body.to_string());
    }
    s.send(rb)
}

/// A SCIM error with this status and `scimType`.
#[track_caller]
fn assert_error(r: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "{}", r.text);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/scim+json")
    );
    let body = r.json();
    assert_eq!(body["schemas"], json!([ERROR]), "{body}");
    assert_eq!(body["status"], status.to_string(), "{body}");
    match scim_type {
        Some(t) => assert_eq!(body["scimType"], t, "{body}"),
        None => assert!(body.get("scimType").is_none(), "{body}"),
    }
}

fn new_user(name: &str) -> Value {
    json!({
        "schemas": [USER],
        "userName": name,
        "externalId": format!("ext-{name}"),
        "name": {"givenName": "Given", "familyName": "Family"},
        "emails": [{"value": format!("{name}@example.com"), "type": "work", "primary": true}],
        "active": true,
        "password": PASSWORD,
    })
}

fn create(s: &TestServer, auth: &Auth, name: &str) -> Value {
    let r = scim(s, Method::POST, "/Users", auth, new_user(name));
    r.expect(201);
    r.json()
}

#[test]
fn scim_tokens_work_under_scim_v2_only_and_only_they_do() {
    let s = TestServer::start();
    let admin = s.admin();
    let token = scim_token(&s);
    scim(&s, Method::GET, "/Users", &token, Value::Null).expect(200);
    // Outside /scim/v2 a SCIM token is no credential at all.
    let r = s.get("/api/users/self", &token);
    r.expect(401);
    assert!(r.json()["detail"].as_str().unwrap().contains("SCIM"));
    s.get("/api/auth/access_tokens", &token).expect(401);
    // Inside, nothing else is.
    let (_, user) = s.register("plain_user");
    let pat = s.post("/api/auth/access_tokens", &admin, json!({"name": "pat"}));
    let pat = Auth::Bearer(pat.json()["value"].as_str().unwrap().to_string());
    let login = s.login(ADMIN, ADMIN_PASSWORD);
    let session = login.session();
    for other in [
        Auth::None,
        admin.clone(),
        user,
        pat,
        session,
        Auth::basic(ADMIN, ADMIN_PASSWORD),
        Auth::Bearer("not-a-token".into()),
    ] {
        let r = scim(&s, Method::GET, "/Users", &other, Value::Null);
        assert_error(&r, 401, None);
        assert!(r.header("www-authenticate").is_some());
    }
    // Only administrators make them, and only on creation.
    let (_, user) = s.register("not_admin");
    s.post(
        "/api/auth/access_tokens",
        &user,
        json!({"name": "x", "scim": true}),
    )
    .expect(403);
    let own = s.post("/api/auth/access_tokens", &user, json!({"name": "x"}));
    own.expect(201);
    assert!(own.json().get("scim").is_none());
    s.patch(
        &format!("/api/auth/access_tokens/{}", own.json()["id"]),
        &user,
        json!({"scim": true}),
    )
    .expect(400);
    // A token outlives its owner's privilege but not its power.
    let (id, helper) = s.register_as(&admin, "helper_admin", &["admin"], false, false);
    let helper_token = s.post(
        "/api/auth/access_tokens",
        &helper,
        json!({"name": "idp", "scim": true}),
    );
    helper_token.expect(201);
    let helper_token = Auth::Bearer(helper_token.json()["value"].as_str().unwrap().into());
    scim(&s, Method::GET, "/Users", &helper_token, Value::Null).expect(200);
    s.admin_patch(id, json!({"groups": ["user"]})).expect(200);
    assert_error(
        &scim(&s, Method::GET, "/Users", &helper_token, Value::Null),
        403,
        None,
    );
}

#[test]
fn provisions_changes_and_deprovisions_a_user() {
    let s = TestServer::start();
    let token = scim_token(&s);
    let created = scim(&s, Method::POST, "/Users", &token, new_user("jdoe_scim"));
    created.expect(201);
    let u = created.json();
    let id = u["id"].as_str().unwrap().to_string();
    assert_eq!(
        created.header("location").unwrap(),
        u["meta"]["location"].as_str().unwrap()
    );
    assert!(u["meta"]["location"]
        .as_str()
        .unwrap()
        .ends_with(&format!("/scim/v2/Users/{id}")));
    assert_eq!(created.header("etag").unwrap(), u["meta"]["version"]);
    assert_eq!(u["userName"], "jdoe_scim");
    assert_eq!(u["externalId"], "ext-jdoe_scim");
    assert_eq!(u["name"]["givenName"], "Given");
    assert_eq!(u["emails"][0]["value"], "jdoe_scim@example.com");
    assert_eq!(u[CVAT]["privilege"], "user");
    assert_eq!(
        u["emails"],
        json!([{"value": "jdoe_scim@example.com", "type": "work"}])
    );
    assert!(u.get("password").is_none());
    // The same user through the CVAT API, and it signs in with the password given.
    let admin = s.admin();
    let cvat = s.get(&format!("/api/users/{id}"), &admin).json();
    assert_eq!(cvat["username"], "jdoe_scim");
    assert_eq!(cvat["first_name"], "Given");
    let user_token = s.token("jdoe_scim", PASSWORD);
    s.me(&user_token);

    // Read back, and found by a filter on userName that ignores case.
    let one = scim(
        &s,
        Method::GET,
        &format!("/Users/{id}"),
        &token,
        Value::Null,
    );
    one.expect(200);
    assert_eq!(one.json(), u);
    let found = scim(
        &s,
        Method::GET,
        "/Users?filter=userName%20eq%20%22JDOE_SCIM%22",
        &token,
        Value::Null,
    )
    .json();
    assert_eq!(found["totalResults"], 1);
    assert_eq!(found["Resources"][0]["id"], id);

    // PUT replaces: names cleared, a new external id.
    let mut put = new_user("jdoe_scim");
    put["name"] = json!({"givenName": "Jane"});
    put["externalId"] = json!("ext-2");
    put.as_object_mut().unwrap().remove("password");
    let replaced = scim(&s, Method::PUT, &format!("/Users/{id}"), &token, put);
    replaced.expect(200);
    let r = replaced.json();
    assert_eq!(r["name"], json!({"givenName": "Jane"}));
    assert_eq!(r["externalId"], "ext-2");
    assert_ne!(r["meta"]["version"], u["meta"]["version"]);

    // PATCH as Entra ID sends it: op names capitalised, values as strings, no path.
    let patched = scim(
        &s,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        json!({"schemas": [PATCH], "Operations": [
            {"op": "Replace", "path": "name.familyName", "value": "Doe"},
            {"op": "Add", "value": {"emails[type eq \"work\"].value": "jane@example.com"}},
            {"op": "replace", "path": format!("{CVAT}:privilege"), "value": "worker"},
        ]}),
    );
    patched.expect(200);
    let p = patched.json();
    assert_eq!(p["name"]["familyName"], "Doe");
    assert_eq!(p["emails"][0]["value"], "jane@example.com");
    assert_eq!(p[CVAT]["privilege"], "worker");
    assert_eq!(
        s.get(&format!("/api/users/{id}"), &admin).json()["groups"],
        json!(["worker"])
    );

    // Turning the user off ends its sessions and tokens at once.
    s.me(&user_token);
    let off = scim(
        &s,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "value": {"active": "False"}}]}),
    );
    off.expect(200);
    assert_eq!(off.json()["active"], false);
    s.get("/api/users/self", &user_token).expect(401);
    let creds = s.get(&format!("/api/users/{id}/sessions"), &admin);
    creds.expect(200);
    let creds = creds.json();
    let listed = creds.as_array().or(creds["results"].as_array()).unwrap();
    assert!(listed.is_empty(), "{creds}");
    assert_ne!(s.login("jdoe_scim", PASSWORD).status, 200);

    // DELETE deactivates by default: the account stays, turned off.
    let on = scim(
        &s,
        Method::PATCH,
        &format!("/Users/{id}"),
        &token,
        json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": true}]}),
    );
    on.expect(200);
    let user_token = s.token("jdoe_scim", PASSWORD);
    scim(
        &s,
        Method::DELETE,
        &format!("/Users/{id}"),
        &token,
        Value::Null,
    )
    .expect(204);
    s.get("/api/users/self", &user_token).expect(401);
    let gone = scim(
        &s,
        Method::GET,
        &format!("/Users/{id}"),
        &token,
        Value::Null,
    );
    gone.expect(200);
    assert_eq!(gone.json()["active"], false);
}

#[test]
fn delete_can_remove_the_account() {
    let s = TestServer::start_with(&["--scim-delete", "delete"]);
    let token = scim_token(&s);
    let id = create(&s, &token, "leaver_scim")["id"]
        .as_str()
        .unwrap()
        .to_string();
    scim(
        &s,
        Method::DELETE,
        &format!("/Users/{id}"),
        &token,
        Value::Null,
    )
    .expect(204);
    assert_error(
        &scim(
            &s,
            Method::GET,
            &format!("/Users/{id}"),
            &token,
            Value::Null,
        ),
        404,
        None,
    );
    s.get(&format!("/api/users/{id}"), &s.admin()).expect(404);
}

#[test]
fn lists_filter_sort_page_and_project() {
    let s = TestServer::start();
    let token = scim_token(&s);
    for name in ["alpha_one", "alpha_two", "bravo_one", "charlie_x"] {
        create(&s, &token, name);
    }
    let list = |query: &str| -> Value {
        let r = scim(
            &s,
            Method::GET,
            &format!("/Users?{query}"),
            &token,
            Value::Null,
        );
        r.expect(200);
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/scim+json")
        );
        r.json()
    };
    let names = |v: &Value| -> Vec<String> {
        v["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["userName"].as_str().unwrap().to_string())
            .collect()
    };
    let q = |f: &str| format!("filter={}", urlencode(f));
    assert_eq!(
        names(&list(&q(r#"userName sw "ALPHA""#))),
        ["alpha_one", "alpha_two"]
    );
    assert_eq!(
        names(&list(&q(
            r#"userName ew "_one" and not (userName co "alpha")"#
        ))),
        ["bravo_one"]
    );
    assert_eq!(
        names(&list(&q(
            r#"(userName eq "charlie_x" or emails[value co "bravo"]) and externalId pr"#
        ))),
        ["bravo_one", "charlie_x"]
    );
    assert_eq!(list(&q(r#"userName gt "bravo_one""#))["totalResults"], 1);
    assert_eq!(list(&q("active eq false"))["totalResults"], 0);
    assert_eq!(
        list(&q(r#"meta.created gt "2000-01-01T00:00:00Z""#))["totalResults"],
        5
    );
    // Sorting and pages (the admin is user 1).
    let page = list("sortBy=userName&sortOrder=descending&startIndex=2&count=2");
    assert_eq!(page["totalResults"], 5);
    assert_eq!(page["startIndex"], 2);
    assert_eq!(page["itemsPerPage"], 2);
    assert_eq!(names(&page), ["bravo_one", "alpha_two"]);
    assert_eq!(list("count=0")["Resources"], json!([]));
    assert_eq!(list("count=100000")["itemsPerPage"], 5);
    // attributes and excludedAttributes.
    let some = list(&format!(
        "{}&attributes=userName,name.givenName",
        q(r#"userName eq "alpha_one""#)
    ));
    let r = &some["Resources"][0];
    let mut keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort();
    assert_eq!(keys, ["id", "name", "schemas", "userName"]);
    assert_eq!(r["name"], json!({"givenName": "Given"}));
    let fewer = list(&format!(
        "{}&excludedAttributes=meta,emails,{CVAT}:privilege",
        q(r#"userName eq "alpha_one""#)
    ));
    let r = &fewer["Resources"][0];
    assert!(r.get("meta").is_none() && r.get("emails").is_none());
    assert_eq!(r[CVAT], json!({}));
    let one = scim(
        &s,
        Method::GET,
        &format!("/Users/{}?attributes=externalId", r["id"].as_str().unwrap()),
        &token,
        Value::Null,
    );
    assert_eq!(one.json()["externalId"], "ext-alpha_one");
    assert!(one.json().get("userName").is_none());
    // The same query as a POST search, at /Users/.search and at the root.
    for at in ["/Users/.search", "/.search"] {
        let found = scim(
            &s,
            Method::POST,
            at,
            &token,
            json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                   "filter": "userName sw \"alpha\"", "sortBy": "userName", "sortOrder": "descending",
                   "count": 1, "attributes": ["userName"]}),
        );
        found.expect(200);
        let found = found.json();
        assert_eq!(found["totalResults"], 2);
        assert_eq!(names(&found), ["alpha_two"]);
        assert!(found["Resources"][0].get("emails").is_none());
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn bad_input_gets_scim_errors_and_writes_nothing() {
    let s = TestServer::start();
    let token = scim_token(&s);
    let u = create(&s, &token, "steady_user");
    let id = u["id"].as_str().unwrap().to_string();
    let path = format!("/Users/{id}");
    let count = || {
        scim(&s, Method::GET, "/Users?count=0", &token, Value::Null).json()["totalResults"]
            .as_i64()
            .unwrap()
    };
    let unchanged = || {
        let now = scim(&s, Method::GET, &path, &token, Value::Null).json();
        assert_eq!(now["meta"]["version"], u["meta"]["version"], "{now}");
    };
    assert_eq!(count(), 2);

    // Unknown attributes and schemas.
    let mut body = new_user("another_one");
    body["favouriteColour"] = json!("red");
    assert_error(
        &scim(&s, Method::POST, "/Users", &token, body),
        400,
        Some("invalidSyntax"),
    );
    let mut body = new_user("another_one");
    body["schemas"] = json!([USER, "urn:example:params:scim:schemas:Other"]);
    assert_error(
        &scim(&s, Method::POST, "/Users", &token, body),
        400,
        Some("invalidValue"),
    );
    let mut body = new_user("another_one");
    body["schemas"] = json!([]);
    assert_error(
        &scim(&s, Method::POST, "/Users", &token, body),
        400,
        Some("invalidSyntax"),
    );
    // Values the REST API refuses too.
    for (key, value) in [
        ("userName", json!("ab")),
        ("userName", json!("bad name!")),
        ("active", json!("maybe")),
        ("emails", json!([{"value": "not-an-address"}])),
        ("password", json!("123")),
    ] {
        let mut body = new_user("another_one");
        body[key] = value;
        assert_error(
            &scim(&s, Method::POST, "/Users", &token, body),
            400,
            Some("invalidValue"),
        );
    }
    let mut body = new_user("another_one");
    body[CVAT] = json!({"privilege": "emperor"});
    assert_error(
        &scim(&s, Method::POST, "/Users", &token, body),
        400,
        Some("invalidValue"),
    );
    // Uniqueness, ignoring case.
    assert_error(
        &scim(&s, Method::POST, "/Users", &token, new_user("STEADY_user")),
        409,
        Some("uniqueness"),
    );
    create(&s, &token, "other_user");
    let mut taken = u.clone();
    taken["userName"] = json!("other_user");
    assert_error(
        &scim(&s, Method::PUT, &path, &token, taken),
        409,
        Some("uniqueness"),
    );
    unchanged();
    assert_eq!(count(), 3);

    // Invalid filters and list parameters.
    for f in [
        "userName%20eq",
        "userName%20xx%20%22a%22",
        "title%20eq%20%22a%22",
        "(userName%20pr",
        "active%20gt%20true",
        "userName%20eq%20%22a%22%20and",
    ] {
        assert_error(
            &scim(
                &s,
                Method::GET,
                &format!("/Users?filter={f}"),
                &token,
                Value::Null,
            ),
            400,
            Some("invalidFilter"),
        );
    }
    for q in [
        "sortBy=favouriteColour",
        "sortOrder=sideways",
        "startIndex=x",
        "count=lots",
    ] {
        assert_error(
            &scim(&s, Method::GET, &format!("/Users?{q}"), &token, Value::Null),
            400,
            Some("invalidValue"),
        );
    }

    // A stale If-Match.
    let stale = s.send(
        s.request(Method::PUT, &format!("/scim/v2{path}"), &token)
            .header("Content-Type", "application/scim+json")
            .header("If-Match", "W/\"0000\"")
            .body(new_user("steady_renamed").to_string()),
    );
    assert_error(&stale, 412, None);
    let stale = s.send(
        s.request(Method::DELETE, &format!("/scim/v2{path}"), &token)
            .header("If-Match", "W/\"0000\""),
    );
    assert_error(&stale, 412, None);
    unchanged();
    // The current version passes.
    let fresh = s.send(
        s.request(Method::PATCH, &format!("/scim/v2{path}"), &token)
            .header("Content-Type", "application/scim+json")
            .header("If-Match", u["meta"]["version"].as_str().unwrap())
            .body(json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": true}]}).to_string()),
    );
    fresh.expect(200);

    // PATCH paths that match nothing, and broken operations: nothing of the PATCH is written.
    for (ops, status, kind) in [
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "remove", "path": "emails[value eq \"nobody@example.com\"]"}]),
            400,
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "remove"}]),
            400,
            "noTarget",
        ),
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "replace", "path": "id", "value": "7"}]),
            400,
            "mutability",
        ),
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "replace", "path": "emails[value eq", "value": "x"}]),
            400,
            "invalidPath",
        ),
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "add", "path": "nickname2", "value": "x"}]),
            400,
            "invalidSyntax",
        ),
        (
            json!([{"op": "replace", "path": "name.givenName", "value": "Changed"},
                {"op": "replace", "path": "userName", "value": "other_user"}]),
            409,
            "uniqueness",
        ),
        (
            json!([{"op": "jump", "path": "active"}]),
            400,
            "invalidSyntax",
        ),
    ] {
        let r = scim(
            &s,
            Method::PATCH,
            &path,
            &token,
            json!({"schemas": [PATCH], "Operations": ops}),
        );
        assert_error(&r, status, Some(kind));
        assert_eq!(
            scim(&s, Method::GET, &path, &token, Value::Null).json()["name"]["givenName"],
            "Given"
        );
    }

    // Huge bodies, wrong media types, broken JSON.
    // Just over the limit, as users_write's 413 test: far larger bodies race the server's early
    // answer and the client can see a reset instead of the 413.
    let huge =
        json!({"schemas": [USER], "userName": "huge_user", "title": "x".repeat(1024 * 1024 + 10)});
    assert_error(
        &scim(&s, Method::POST, "/Users", &token, huge),
        413,
        Some("tooLarge"),
    );
    let form = s.send_raw(
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some("text/plain"),
        new_user("typed_user").to_string(),
    );
    assert_error(&form, 415, Some("invalidSyntax"));
    let plain_json = s.send_raw(
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some("application/json"),
        new_user("json_user").to_string(),
    );
    plain_json.expect(201);
    let broken = s.send_raw(
        Method::POST,
        "/scim/v2/Users",
        &token,
        Some("application/scim+json"),
        "{\"userName\": ",
    );
    assert_error(&broken, 400, Some("invalidSyntax"));
    assert_eq!(count(), 4);

    // Unknown ids and paths, and /Me.
    assert_error(
        &scim(&s, Method::GET, "/Users/999999", &token, Value::Null),
        404,
        None,
    );
    assert_error(
        &scim(&s, Method::GET, "/Users/abc", &token, Value::Null),
        404,
        None,
    );
    assert_error(
        &scim(&s, Method::GET, "/NoSuchThing", &token, Value::Null),
        404,
        None,
    );
    assert_error(
        &scim(&s, Method::GET, "/Me", &token, Value::Null),
        501,
        None,
    );
    assert_error(
        &scim(
            &s,
            Method::POST,
            "/ServiceProviderConfig",
            &token,
            json!({}),
        ),
        405,
        None,
    );

    // The last active admin cannot be deprovisioned, by PATCH or DELETE.
    let off = json!({"schemas": [PATCH], "Operations": [{"op": "replace", "path": "active", "value": false}]});
    assert_error(&scim(&s, Method::PATCH, "/Users/1", &token, off), 409, None);
    assert_error(
        &scim(&s, Method::DELETE, "/Users/1", &token, Value::Null),
        409,
        None,
    );
    assert_eq!(
        scim(&s, Method::GET, "/Users/1", &token, Value::Null).json()["active"],
        true
    );
}

#[test]
fn discovery_describes_what_is_served() {
    let s = TestServer::start();
    let token = scim_token(&s);
    let spc = scim(
        &s,
        Method::GET,
        "/ServiceProviderConfig",
        &token,
        Value::Null,
    );
    spc.expect(200);
    let spc = spc.json();
    assert_eq!(spc["patch"]["supported"], true);
    assert_eq!(spc["filter"]["supported"], true);
    assert_eq!(spc["etag"]["supported"], true);
    assert_eq!(spc["bulk"]["supported"], false);
    let types = scim(&s, Method::GET, "/ResourceTypes", &token, Value::Null).json();
    assert_eq!(types["Resources"][0]["endpoint"], "/Users");
    scim(&s, Method::GET, "/ResourceTypes/User", &token, Value::Null).expect(200);
    let schemas = scim(&s, Method::GET, "/Schemas", &token, Value::Null).json();
    let ids: Vec<&str> = schemas["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [USER, CVAT]);
    let one = scim(
        &s,
        Method::GET,
        &format!("/Schemas/{CVAT}"),
        &token,
        Value::Null,
    );
    one.expect(200);
    assert_eq!(one.json()["attributes"][0]["name"], "privilege");
    assert_error(
        &scim(&s, Method::GET, "/Schemas/urn:x", &token, Value::Null),
        404,
        None,
    );
}
