//! `PATCH` and `DELETE /api/users/{id}` and the unmapped methods: serializers, validation
//! messages, permissions, check order, bodies, cascades (spec §1.1, §1.4, §4, §5.3, §6–§7, §9.3,
//! decisions 5 and 6).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

const BAD_USERNAME: &str =
    "Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.";
const USERNAME_TAKEN: &str = "A user with that username already exists.";
const NOT_NULL: &str = "This field may not be null.";
const NOT_STRING: &str = "Not a valid string.";
const MAX_150: &str = "Ensure this field has no more than 150 characters.";
const MAX_254: &str = "Ensure this field has no more than 254 characters.";
const BAD_EMAIL: &str = "Enter a valid email address.";
const NUL: &str = "Null characters are not allowed.";
const BAD_BOOL: &str = "Must be a valid boolean.";
const PERMS_PREFIX: &str = "You do not have permissions to access some of these fields: ";
const UNKNOWN_PREFIX: &str = "Got unknown fields: ";

// ---------------------------------------------------------------------------------------------
// helpers

/// A 400 `{"non_field_errors": ["<prefix>{'a', 'b'}"]}`; returns the names in the set, whose
/// order Python does not define.
#[track_caller]
fn non_field_set(r: &Resp, prefix: &str) -> BTreeSet<String> {
    r.expect(400);
    let j = r.json();
    assert_eq!(keys(&j), ["non_field_errors"], "body: {}", r.text);
    let errs = j["non_field_errors"].as_array().unwrap();
    assert_eq!(errs.len(), 1, "body: {}", r.text);
    let msg = errs[0].as_str().unwrap();
    let rest = msg
        .strip_prefix(prefix)
        .unwrap_or_else(|| panic!("expected {prefix:?}..., got {msg:?}"));
    let inner = rest
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a set: {msg}"));
    inner
        .split(", ")
        .map(|item| {
            item.strip_prefix('\'')
                .and_then(|i| i.strip_suffix('\''))
                .unwrap_or_else(|| panic!("not a quoted name: {item} in {msg}"))
                .to_string()
        })
        .collect()
}

fn multipart(boundary: &str, fields: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (k, v) in fields {
        out.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
        ));
    }
    out.push_str(&format!("--{boundary}--\r\n"));
    out
}

// ---------------------------------------------------------------------------------------------
// staff requester: the full serializer (§7.1)

#[test]
fn staff_patch_sets_every_writable_field() {
    let (s, admin, u) = TestServer::with_users(&["alice_a"]);
    let id = u[0].0;
    let r = s.patch(
        &user_path(id),
        &admin,
        json!({"username": "alice_new", "first_name": "Alice", "last_name": "Liddell",
               "email": "alice@wonder.land", "groups": ["business", "worker"],
               "is_staff": true, "is_superuser": false, "is_active": true}),
    );
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.cvat+json")
    );
    let j = r.json();
    assert_eq!(keys(&j), FULL_KEYS);
    assert_eq!(j["url"], format!("{}/api/users/{id}", s.base));
    assert_eq!(j["id"], id);
    assert_eq!(j["username"], "alice_new");
    assert_eq!(j["first_name"], "Alice");
    assert_eq!(j["last_name"], "Liddell");
    assert_eq!(j["email"], "alice@wonder.land");
    assert_eq!(group_set(&j["groups"]), set(&["business", "worker"]));
    assert_eq!(
        fields(&j, &["is_staff", "is_superuser", "is_active"]),
        [json!(true), json!(false), json!(true)]
    );
    // The response is what a re-GET shows.
    let mut again = s.fetch(&admin, id);
    again["groups"] = json!(group_set(&again["groups"]));
    let mut resp = j.clone();
    resp["groups"] = json!(group_set(&resp["groups"]));
    assert_eq!(again, resp);
    // The rename is real: the new name logs in with the old password.
    s.login("alice_new", PASSWORD).expect(200);

    // Read-only and unknown keys (password included) are ignored.
    let before = s.fetch(&admin, id);
    let r = s.patch(
        &user_path(id),
        &admin,
        json!({"id": 999, "url": "http://evil/api/users/999", "last_login": "2000-01-01T00:00:00Z",
               "date_joined": "2000-01-01T00:00:00Z", "password": "x", "bogus": 1}),
    );
    r.expect(200);
    assert_eq!(r.json(), before);
    assert_eq!(s.fetch(&admin, id), before);
    s.login("alice_new", PASSWORD).expect(200);
    assert_eq!(s.get("/api/users/99999", &admin).status.as_u16(), 404);

    // Setting flags back off, blank names and e-mail.
    let r = s.patch(
        &user_path(id),
        &admin,
        json!({"first_name": "", "last_name": "", "email": "", "is_staff": false, "is_active": false}),
    );
    r.expect(200);
    let j = r.json();
    assert_eq!(
        fields(&j, &["first_name", "last_name", "email"]),
        [json!(""), json!(""), json!("")]
    );
    assert_eq!(
        fields(&j, &["is_staff", "is_active"]),
        [json!(false), json!(false)]
    );
}

#[test]
fn groups_replace_clear_and_collapse_duplicates() {
    let (s, admin, u) = TestServer::with_users(&["alice_a"]);
    let p = user_path(u[0].0);
    let groups = |r: Resp| {
        r.expect(200);
        group_set(&r.json()["groups"])
    };
    assert_eq!(
        groups(s.patch(&p, &admin, json!({"groups": ["worker", "business"]}))),
        set(&["business", "worker"])
    );
    assert_eq!(
        group_set(&s.fetch(&admin, u[0].0)["groups"]),
        set(&["business", "worker"])
    );
    let r = s.patch(&p, &admin, json!({"groups": []}));
    r.expect(200);
    assert_eq!(r.json()["groups"], json!([]));
    assert_eq!(s.fetch(&admin, u[0].0)["groups"], json!([]));
    let r = s.patch(&p, &admin, json!({"groups": ["user", "user", "user"]}));
    r.expect(200);
    assert_eq!(r.json()["groups"], json!(["user"]));
    assert_eq!(
        groups(s.patch(
            &p,
            &admin,
            json!({"groups": ["admin", "business", "user", "worker", "worker"]})
        )),
        set(&["admin", "business", "user", "worker"])
    );
    assert_eq!(
        groups(s.patch(&p, &admin, json!({"groups": ["user"]}))),
        set(&["user"])
    );
    // Not mentioning groups keeps them.
    assert_eq!(
        groups(s.patch(&p, &admin, json!({"first_name": "x"}))),
        set(&["user"])
    );

    // Errors (§7.3), and nothing changes.
    let cases = [
        (
            json!("user"),
            "Expected a list of items but got type \"str\".",
        ),
        (json!(5), "Expected a list of items but got type \"int\"."),
        (
            json!(true),
            "Expected a list of items but got type \"bool\".",
        ),
        (json!(["nope"]), "Object with name=nope does not exist."),
        (
            json!(["user", "nope"]),
            "Object with name=nope does not exist.",
        ),
        (json!([1]), "Object with name=1 does not exist."),
        (json!([null]), "Object with name=None does not exist."),
        (json!([""]), "Object with name= does not exist."),
        (json!(["Admin"]), "Object with name=Admin does not exist."),
        (json!(null), NOT_NULL),
    ];
    for (value, msg) in cases {
        let r = s.patch(
            &p,
            &admin,
            json!({"groups": value, "first_name": "changed"}),
        );
        assert_json(&r, 400, json!({"groups": [msg]}));
    }
    let after = s.fetch(&admin, u[0].0);
    assert_eq!(after["groups"], json!(["user"]));
    assert_eq!(after["first_name"], "x");
}

#[test]
fn superuser_and_staff_readds_the_admin_group() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let p = user_path(u[0].0);
    let groups = |body: Value| {
        let r = s.patch(&p, &admin, body);
        r.expect(200);
        group_set(&r.json()["groups"])
    };
    assert_eq!(
        groups(json!({"groups": ["business", "worker"]})),
        set(&["business", "worker"])
    );
    assert_eq!(
        groups(json!({"is_staff": true, "is_superuser": true})),
        set(&["admin", "business", "worker"])
    );
    // `groups` in the same request wins (applied after the save).
    assert_eq!(
        groups(json!({"is_staff": true, "is_superuser": true, "groups": ["user"]})),
        set(&["user"])
    );
    assert_eq!(groups(json!({"groups": ["worker"]})), set(&["worker"]));
    // Any later save of a superuser+staff user re-adds admin, even an empty PATCH.
    assert_eq!(groups(json!({})), set(&["admin", "worker"]));
    assert_eq!(groups(json!({"groups": []})), set(&[]));
    assert_eq!(groups(json!({"first_name": "Alice"})), set(&["admin"]));
    // Dropping a flag does not remove admin.
    let r = s.patch(&p, &admin, json!({"is_superuser": false}));
    r.expect(200);
    assert_eq!(r.json()["groups"], json!(["admin"]));
    assert_eq!(r.json()["is_superuser"], false);
    assert_eq!(groups(json!({"groups": ["user"]})), set(&["user"]));
    assert_eq!(groups(json!({})), set(&["user"])); // no longer superuser: nothing added
                                                   // Only one of the two flags is not enough.
    let q = user_path(u[1].0);
    let r = s.patch(&q, &admin, json!({"is_superuser": true}));
    assert_eq!(r.json()["groups"], json!(["user"]));
    let r = s.patch(&q, &admin, json!({"is_superuser": false, "is_staff": true}));
    assert_eq!(r.json()["groups"], json!(["user"]));
    // The re-added admin group is a real privilege: the user now sees everyone.
    assert_eq!(
        groups(json!({"is_superuser": true})),
        set(&["admin", "user"])
    );
    let list = s.get("/api/users", &u[0].1);
    assert_eq!(list.json()["count"], 3);
}

#[test]
fn username_validation() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let p = user_path(u[0].0);
    let err = |v: Value, msgs: &[&str]| {
        let r = s.patch(&p, &admin, json!({"username": v}));
        assert_json(&r, 400, json!({"username": msgs}));
    };
    err(json!("bad name!"), &[BAD_USERNAME]);
    err(json!("tab\tname"), &[BAD_USERNAME]);
    err(json!("slash/name"), &[BAD_USERNAME]);
    err(json!("bob_b"), &[USERNAME_TAKEN]);
    err(json!("admin"), &[USERNAME_TAKEN]);
    err(json!("  bob_b  "), &[USERNAME_TAKEN]); // trimmed before the uniqueness check
    err(json!("x".repeat(151)), &[MAX_150]);
    err(
        json!(format!("{}!", "x".repeat(150))),
        &[BAD_USERNAME, MAX_150],
    );
    err(json!(""), &["This field may not be blank."]);
    err(json!("   "), &["This field may not be blank."]);
    err(json!(null), &[NOT_NULL]);
    err(json!([]), &[NOT_STRING]);
    err(json!(["a"]), &[NOT_STRING]);
    err(json!({"a": 1}), &[NOT_STRING]);
    err(json!(true), &[NOT_STRING]);
    assert_eq!(s.fetch(&admin, u[0].0)["username"], "alice_a");

    let ok = |v: Value, want: &str| {
        let r = s.patch(&p, &admin, json!({"username": v}));
        r.expect(200);
        assert_eq!(r.json()["username"], want);
        assert_eq!(s.fetch(&admin, u[0].0)["username"], want);
    };
    ok(json!("alice_a"), "alice_a"); // unchanged own name
    ok(json!("BOB_B"), "BOB_B"); // case-sensitive uniqueness
    ok(json!("  spaced  "), "spaced");
    ok(json!(12345), "12345");
    ok(json!("x".repeat(150)), &"x".repeat(150));
    ok(json!("a.b@c+d-e_f"), "a.b@c+d-e_f");
    ok(json!("ünïcode_名前"), "ünïcode_名前");
    // The renamed user keeps working under the new name.
    s.login("ünïcode_名前", PASSWORD).expect(200);
    // And the old name is free again.
    let r = s.patch(&user_path(u[1].0), &admin, json!({"username": "alice_a"}));
    r.expect(200);
}

#[test]
fn renamed_users_still_log_in_as_themselves() {
    // PATCH allows usernames that differ only in case, and usernames that look like another
    // user's e-mail. Django's backends try the exact username first, then case-insensitive
    // usernames, then e-mails; the same password must not land in someone else's account.
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b", "carol_c"]);
    let (alice, bob, carol) = (u[0].0, u[1].0, u[2].0);
    s.patch(&user_path(alice), &admin, json!({"username": "BOB_B"}))
        .expect(200);
    s.patch(
        &user_path(carol),
        &admin,
        json!({"username": "bob_b@example.com"}),
    )
    .expect(200);
    let via_login = |name: &str| {
        let r = s.login(name, PASSWORD);
        r.expect(200);
        let key = r.json()["key"].as_str().unwrap().to_string();
        s.get("/api/users/self", &Auth::Token(key)).json()["id"]
            .as_i64()
            .unwrap()
    };
    let via_basic = |name: &str| {
        let r = s.get("/api/users/self", &Auth::basic(name, PASSWORD));
        r.expect(200);
        r.json()["id"].as_i64().unwrap()
    };
    for who in [&via_login as &dyn Fn(&str) -> i64, &via_basic] {
        assert_eq!(who("bob_b"), bob);
        assert_eq!(who("BOB_B"), alice);
        assert_eq!(who("bob_b@example.com"), carol); // a username beats bob's e-mail
        let either = who("Bob_B"); // no exact match: either case-insensitive match
        assert!(either == alice || either == bob, "{either}");
    }
}

#[test]
fn name_and_email_validation() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let id = u[0].0;
    let p = user_path(id);
    for field in ["first_name", "last_name", "email"] {
        for (v, msg) in [
            (json!(null), NOT_NULL),
            (json!([]), NOT_STRING),
            (json!({}), NOT_STRING),
            (json!(false), NOT_STRING),
        ] {
            let r = s.patch(&p, &admin, json!({ field: v }));
            assert_json(&r, 400, json!({ field: [msg] }));
        }
    }
    // Both names too long: both reported, together with other fields' errors.
    let r = s.patch(
        &p,
        &admin,
        json!({"first_name": "f".repeat(151), "last_name": "l".repeat(151), "email": "nope", "is_active": "maybe", "username": null}),
    );
    assert_json(
        &r,
        400,
        json!({"username": [NOT_NULL], "first_name": [MAX_150], "last_name": [MAX_150], "email": [BAD_EMAIL], "is_active": [BAD_BOOL]}),
    );
    let r = s.patch(&p, &admin, json!({"first_name": "a\u{0}b"}));
    assert_json(&r, 400, json!({"first_name": [NUL]}));
    // All of a field's validators report, in DRF's order (length, then NUL, then e-mail).
    let r = s.patch(
        &p,
        &admin,
        json!({"last_name": format!("{}\u{0}", "l".repeat(151))}),
    );
    assert_json(&r, 400, json!({"last_name": [MAX_150, NUL]}));
    let r = s.patch(
        &p,
        &admin,
        json!({"email": "a\u{0}b@example.com", "username": "a\u{0}b"}),
    );
    assert_json(
        &r,
        400,
        json!({"username": [BAD_USERNAME, NUL], "email": [NUL, BAD_EMAIL]}),
    );
    // Numbers are stringified, whitespace trimmed, 150 characters fit.
    let r = s.patch(&p, &admin, json!({"first_name": 5, "last_name": 2.5}));
    r.expect(200);
    assert_eq!(
        (
            r.json()["first_name"].clone(),
            r.json()["last_name"].clone()
        ),
        (json!("5"), json!("2.5"))
    );
    let r = s.patch(
        &p,
        &admin,
        json!({"first_name": "  Alice \t", "last_name": "é".repeat(150)}),
    );
    r.expect(200);
    assert_eq!(r.json()["first_name"], "Alice");
    assert_eq!(r.json()["last_name"], "é".repeat(150));

    // E-mail.
    for bad in [
        "nope",
        "a@",
        "@example.com",
        "a b@example.com",
        "a@b",
        "a@@example.com",
        "ü@example.de",
        "a..b@example.com",
    ] {
        let r = s.patch(&p, &admin, json!({"email": bad}));
        assert_json(&r, 400, json!({"email": [BAD_EMAIL]}));
    }
    let long_ok = format!("{}@example.com", "a".repeat(254 - 12));
    assert_eq!(long_ok.len(), 254);
    let r = s.patch(&p, &admin, json!({"email": long_ok}));
    r.expect(200);
    assert_eq!(r.json()["email"], long_ok);
    let too_long = format!("{}@example.com", "a".repeat(255 - 12));
    let r = s.patch(&p, &admin, json!({"email": too_long}));
    assert_json(&r, 400, json!({"email": [MAX_254]}));
    // DRF runs the length check before the e-mail check and reports both.
    let r = s.patch(&p, &admin, json!({"email": "b".repeat(300)}));
    assert_json(&r, 400, json!({"email": [MAX_254, BAD_EMAIL]}));
    // Blank is allowed; duplicates of other users' addresses are allowed; trimmed.
    let r = s.patch(&p, &admin, json!({"email": ""}));
    r.expect(200);
    assert_eq!(r.json()["email"], "");
    let r = s.patch(&p, &admin, json!({"email": " bob_b@example.com "}));
    r.expect(200);
    assert_eq!(r.json()["email"], "bob_b@example.com");
    let r = s.patch(&p, &admin, json!({"email": "u@exämple.de"}));
    r.expect(200);
    assert_eq!(r.json()["email"], "u@exämple.de");
    let r = s.patch(
        &p,
        &admin,
        json!({"email": "First.Last+tag@Sub.Example.org"}),
    );
    r.expect(200);
    assert_eq!(r.json()["email"], "First.Last+tag@Sub.Example.org");
    let last = s.fetch(&admin, id);
    assert_eq!(last["email"], "First.Last+tag@Sub.Example.org");
    assert_eq!(last["first_name"], "Alice");
}

#[test]
fn boolean_spellings() {
    let (s, admin, u) = TestServer::with_users(&["alice_a"]);
    let p = user_path(u[0].0);
    let truthy = [
        json!(true),
        json!("true"),
        json!("True"),
        json!("TRUE"),
        json!("t"),
        json!("T"),
        json!("yes"),
        json!("Yes"),
        json!("YES"),
        json!("y"),
        json!("Y"),
        json!("on"),
        json!("On"),
        json!("ON"),
        json!("1"),
        json!(1),
        json!(1.0),
    ];
    let falsy = [
        json!(false),
        json!("false"),
        json!("False"),
        json!("FALSE"),
        json!("f"),
        json!("F"),
        json!("no"),
        json!("No"),
        json!("NO"),
        json!("n"),
        json!("N"),
        json!("off"),
        json!("Off"),
        json!("OFF"),
        json!("0"),
        json!(0),
        json!(0.0),
    ];
    for field in ["is_staff", "is_active", "is_superuser"] {
        for v in &truthy {
            let r = s.patch(&p, &admin, json!({ field: v }));
            r.expect(200);
            assert_eq!(r.json()[field], true, "{field}={v}");
        }
        for v in &falsy {
            let r = s.patch(&p, &admin, json!({ field: v }));
            r.expect(200);
            assert_eq!(r.json()[field], false, "{field}={v}");
        }
        for v in [
            json!("maybe"),
            json!(2),
            json!(""),
            json!("tRuE"),
            json!([]),
            json!({}),
            json!(0.5),
        ] {
            let r = s.patch(&p, &admin, json!({ field: v }));
            assert_json(&r, 400, json!({ field: [BAD_BOOL] }));
        }
        let r = s.patch(&p, &admin, json!({ field: null }));
        assert_json(&r, 400, json!({ field: [NOT_NULL] }));
    }
    let j = s.fetch(&admin, u[0].0);
    assert_eq!(
        fields(&j, &["is_staff", "is_active", "is_superuser"]),
        [json!(false), json!(false), json!(false)]
    );
}

// ---------------------------------------------------------------------------------------------
// non-staff requester: the basic serializer (§7.2)

#[test]
fn non_staff_patch_uses_the_basic_serializer() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let (id, me) = (u[0].0, &u[0].1);
    let p = user_path(id);
    let refused = |body: Value, errors: Value| assert_json(&s.patch(&p, me, body), 400, errors);
    let r = s.patch(&p, me, json!({"first_name": "Alice", "last_name": "A", "username": "alice_x", "id": 999, "url": "x"}));
    r.expect(200);
    assert_eq!(
        r.json(),
        json!({"url": format!("{}/api/users/{id}", s.base), "id": id, "username": "alice_x", "first_name": "Alice", "last_name": "A"})
    );
    assert_eq!(keys(&r.json()), BASIC_KEYS);
    // `self` still shows all 12 fields.
    let me_full = s.get("/api/users/self", me).json();
    assert_eq!(keys(&me_full), FULL_KEYS);
    assert_eq!(me_full["username"], "alice_x");
    // An empty PATCH is fine too.
    let r = s.patch(&p, me, json!({}));
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS);

    let snapshot = s.fetch(&admin, id);
    // email / is_active / anything unknown: "Got unknown fields".
    refused(
        json!({"email": "new@example.com"}),
        json!({"non_field_errors": ["Got unknown fields: {'email'}"]}),
    );
    refused(
        json!({"email": "not an email"}),
        json!({"non_field_errors": ["Got unknown fields: {'email'}"]}),
    );
    refused(
        json!({"is_active": false}),
        json!({"non_field_errors": ["Got unknown fields: {'is_active'}"]}),
    );
    refused(
        json!({"password": "x"}),
        json!({"non_field_errors": ["Got unknown fields: {'password'}"]}),
    );
    let r = s.patch(
        &p,
        me,
        json!({"email": "a@b.co", "bogus": 1, "first_name": "Changed"}),
    );
    assert_eq!(non_field_set(&r, UNKNOWN_PREFIX), set(&["bogus", "email"]));
    // groups / is_staff / is_superuser among them: the permissions message, listing all unknown keys.
    for key in ["is_staff", "is_superuser", "groups"] {
        refused(
            json!({ key: true }),
            json!({"non_field_errors": [format!("{PERMS_PREFIX}{{'{key}'}}")]}),
        );
    }
    let r = s.patch(
        &p,
        me,
        json!({"groups": ["admin"], "foo": 1, "is_staff": true, "first_name": "Changed"}),
    );
    assert_eq!(
        non_field_set(&r, PERMS_PREFIX),
        set(&["foo", "groups", "is_staff"])
    );
    let r = s.patch(&p, me, json!({"is_superuser": true, "email": "x@y.zz"}));
    assert_eq!(
        non_field_set(&r, PERMS_PREFIX),
        set(&["email", "is_superuser"])
    );
    // Field errors come first; the unknown-key check is not reached.
    refused(
        json!({"username": "bad name!", "is_staff": true, "email": "x"}),
        json!({"username": [BAD_USERNAME]}),
    );
    refused(
        json!({"username": "bob_b", "groups": ["admin"]}),
        json!({"username": [USERNAME_TAKEN]}),
    );
    refused(
        json!({"first_name": null, "last_name": "l".repeat(151), "is_active": true}),
        json!({"first_name": [NOT_NULL], "last_name": [MAX_150]}),
    );
    // Nothing of the above changed anything.
    assert_eq!(s.fetch(&admin, id), snapshot);
    assert_eq!(
        s.get("/api/users/self", me).json()["groups"],
        json!(["user"])
    );
    // Case-variant of someone else's name is fine for a normal user as well.
    let r = s.patch(&p, me, json!({"username": "Bob_B"}));
    r.expect(200);
    assert_eq!(r.json()["username"], "Bob_B");
}

#[test]
fn staff_without_admin_group_cannot_touch_privileged_fields() {
    // Decision 5: is_staff alone gives the full serializer but no privilege.
    let (s, admin, u) = TestServer::with_users(&["staffer", "bob_b"]);
    let (id, me) = (u[0].0, &u[0].1);
    s.patch(&user_path(id), &admin, json!({"is_staff": true}))
        .expect(200);
    let p = user_path(id);
    let snapshot = s.fetch(&admin, id);
    let cases = [
        ("email", json!("new@example.com")),
        ("groups", json!(["admin"])),
        ("groups", json!(["user"])),
        ("is_staff", json!(true)),
        ("is_staff", json!(false)),
        ("is_superuser", json!(true)),
        ("is_active", json!(true)),
    ];
    for (key, value) in cases {
        let r = s.patch(&p, me, json!({ key: value, "first_name": "Changed" }));
        assert_json(
            &r,
            400,
            json!({"non_field_errors": [format!("{PERMS_PREFIX}{{'{key}'}}")]}),
        );
    }
    let r = s.patch(&p, me, json!({"groups": ["admin"], "is_superuser": true, "is_staff": true, "email": "e@x.io", "is_active": true}));
    assert_eq!(
        non_field_set(&r, PERMS_PREFIX),
        set(&["email", "groups", "is_active", "is_staff", "is_superuser"])
    );
    // No escalation happened.
    assert_eq!(s.fetch(&admin, id), snapshot);
    assert_eq!(s.get("/api/users", me).json()["count"], 1);
    // Own names and username are fine, and the answer is the full object (staff).
    let r = s.patch(
        &p,
        me,
        json!({"first_name": "Stef", "last_name": "Staff", "username": "staffer2"}),
    );
    r.expect(200);
    let j = r.json();
    assert_eq!(keys(&j), FULL_KEYS);
    assert_eq!(
        fields(&j, &["first_name", "last_name", "username"]),
        [json!("Stef"), json!("Staff"), json!("staffer2")]
    );
    assert_eq!(j["groups"], json!(["user"]));
    assert_eq!(j["is_staff"], true);
    assert_eq!(j["email"], "staffer@example.com");
    // Unknown keys are still ignored for the full serializer.
    s.patch(&p, me, json!({"bogus": 1})).expect(200);
    // Others are still out of reach.
    assert_detail(
        &s.patch(&user_path(u[1].0), me, json!({"first_name": "x"})),
        403,
        NO_PERMISSION,
    );
}

// ---------------------------------------------------------------------------------------------
// decision 6: the last active admin

#[test]
fn the_last_active_admin_cannot_be_removed() {
    let (s, admin, u) = TestServer::with_users(&["bob_b"]);
    let snapshot = s.fetch(&admin, 1);
    let conflict = |r: Resp| {
        r.expect(409);
        let j = r.json();
        assert_eq!(keys(&j), ["detail"], "{}", r.text);
        assert!(!j["detail"].as_str().unwrap().is_empty());
    };
    conflict(s.delete("/api/users/1", &admin));
    conflict(s.patch("/api/users/1", &admin, json!({"is_active": false})));
    conflict(s.patch(
        "/api/users/1",
        &admin,
        json!({"is_active": "0", "first_name": "Changed"}),
    ));
    conflict(s.patch("/api/users/1", &admin, json!({"groups": ["user"]})));
    conflict(s.patch("/api/users/1", &admin, json!({"groups": []})));
    conflict(s.patch(
        "/api/users/1",
        &admin,
        json!({"groups": ["business", "worker"], "username": "renamed"}),
    ));
    // Nothing changed, and the admin still works.
    assert_eq!(s.fetch(&admin, 1), snapshot);
    assert_eq!(s.get("/api/users", &admin).json()["count"], 2);
    // Harmless changes to the last admin are fine.
    let r = s.patch(
        "/api/users/1",
        &admin,
        json!({"first_name": "Root", "groups": ["admin", "user"], "is_active": true}),
    );
    r.expect(200);
    assert_eq!(group_set(&r.json()["groups"]), set(&["admin", "user"]));
    // Flags are not the privilege: dropping is_superuser keeps the admin group.
    let r = s.patch("/api/users/1", &admin, json!({"is_superuser": false}));
    r.expect(200);
    assert_eq!(group_set(&r.json()["groups"]), set(&["admin", "user"]));

    // An inactive second admin does not count.
    let bob = u[0].0;
    s.patch(
        &user_path(bob),
        &admin,
        json!({"groups": ["admin"], "is_staff": true, "is_active": false}),
    )
    .expect(200);
    conflict(s.delete("/api/users/1", &admin));
    conflict(s.patch("/api/users/1", &admin, json!({"is_active": false})));
    // Once bob is active, the first admin may step down ...
    s.set_active(&admin, bob, true);
    let r = s.patch("/api/users/1", &admin, json!({"groups": ["user"]}));
    r.expect(200);
    assert_eq!(r.json()["groups"], json!(["user"]));
    // ... and now bob is the last one.
    let bob_auth = &u[0].1;
    conflict(s.delete(&user_path(bob), bob_auth));
    conflict(s.patch(&user_path(bob), bob_auth, json!({"is_active": false})));
    conflict(s.patch(&user_path(bob), bob_auth, json!({"groups": ["worker"]})));
    assert_eq!(s.fetch(bob_auth, bob)["groups"], json!(["admin"]));
    // The former admin is a normal user now.
    assert_detail(&s.delete(&user_path(bob), &admin), 403, NO_PERMISSION);
}

#[test]
fn the_last_active_admin_cannot_drop_the_staff_flag_it_could_never_set_again() {
    let (s, admin, u) = TestServer::with_users(&["bob_b"]);
    let conflict = |r: Resp| {
        r.expect(409);
        let j = r.json();
        assert_eq!(keys(&j), ["detail"], "{}", r.text);
        assert!(
            j["detail"].as_str().unwrap().contains("last active admin"),
            "{}",
            r.text
        );
    };
    // Without is_staff the admin would get the basic serializer, which refuses is_staff.
    conflict(s.patch(
        "/api/users/1",
        &admin,
        json!({"is_superuser": false, "is_staff": false}),
    ));
    conflict(s.patch("/api/users/1", &admin, json!({"is_staff": "false"})));
    let me = s.fetch(&admin, 1);
    assert_eq!(
        (me["is_staff"].clone(), me["is_superuser"].clone()),
        (json!(true), json!(true))
    );
    // Dropping is_superuser alone can be undone: the admin is still staff.
    s.patch("/api/users/1", &admin, json!({"is_superuser": false}))
        .expect(200);
    let r = s.patch("/api/users/1", &admin, json!({"is_superuser": true}));
    r.expect(200);
    assert_eq!(r.json()["is_superuser"], json!(true));
    // A second active admin without the staff flag does not help: nobody could set it again.
    let bob = u[0].0;
    s.patch(&user_path(bob), &admin, json!({"groups": ["admin"]}))
        .expect(200);
    conflict(s.patch("/api/users/1", &admin, json!({"is_staff": false})));
    // Once bob is staff too, the first admin may drop both flags.
    s.patch(&user_path(bob), &admin, json!({"is_staff": true}))
        .expect(200);
    let r = s.patch(
        "/api/users/1",
        &admin,
        json!({"is_superuser": false, "is_staff": false}),
    );
    r.expect(200);
    assert_eq!(r.json()["groups"], json!(["admin"]));
    // ... and bob, the last staff admin now, gives the flag back.
    let r = s.patch("/api/users/1", &u[0].1, json!({"is_staff": true}));
    r.expect(200);
    assert_eq!(r.json()["is_staff"], json!(true));
}

#[test]
fn two_admins_removing_each_other_concurrently_leave_one() {
    let (s, admin, u) = TestServer::with_users(&["bob_b"]);
    let (bob, bob_auth) = (u[0].0, u[0].1.clone());
    for round in 0..8 {
        // Both active admins again.
        s.patch(
            &user_path(bob),
            &admin,
            json!({"groups": ["admin"], "is_staff": true, "is_active": true}),
        )
        .expect(200);
        s.patch(
            "/api/users/1",
            &bob_auth,
            json!({"groups": ["admin"], "is_active": true}),
        )
        .expect(200);
        let (a, b) = std::thread::scope(|scope| {
            let a = scope.spawn(|| {
                if round % 2 == 0 {
                    s.patch(&user_path(bob), &admin, json!({"is_active": false}))
                } else {
                    s.patch(&user_path(bob), &admin, json!({"groups": ["user"]}))
                }
            });
            let b = scope.spawn(|| s.patch("/api/users/1", &bob_auth, json!({"is_active": false})));
            (a.join().unwrap(), b.join().unwrap())
        });
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        // One wins; the other is refused (409), or — if its requester was already disabled or
        // demoted when it authenticated — cannot authenticate (401) or may not (403). Never both.
        assert!(
            statuses == [200, 409] || statuses == [200, 401] || statuses == [200, 403],
            "round {round}: {statuses:?} {} {}",
            a.text,
            b.text
        );
        // Exactly one active admin remains, and it still works.
        let (survivor, auth) = if a.status.as_u16() == 200 {
            (1, &admin)
        } else {
            (bob, &bob_auth)
        };
        let me = s.get("/api/users/self", auth);
        me.expect(200);
        assert_eq!(me.json()["id"], survivor);
        assert_eq!(me.json()["groups"], json!(["admin"]));
        // Reactivate the loser for the next round.
        let loser = if survivor == 1 { bob } else { 1 };
        s.patch(
            &user_path(loser),
            auth,
            json!({"is_active": true, "groups": ["admin"]}),
        )
        .expect(200);
    }
    // Concurrent deletes: exactly one account survives.
    let (a, b) = std::thread::scope(|scope| {
        let a = scope.spawn(|| s.delete(&user_path(bob), &admin));
        let b = scope.spawn(|| s.delete("/api/users/1", &bob_auth));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut statuses = [a.status.as_u16(), b.status.as_u16()];
    statuses.sort();
    assert!(
        statuses == [204, 409] || statuses == [204, 401],
        "{statuses:?} {} {}",
        a.text,
        b.text
    );
    let survivor = if a.status.as_u16() == 204 {
        &admin
    } else {
        &bob_auth
    };
    let r = s.get("/api/users", survivor);
    r.expect(200);
    assert_eq!(r.json()["count"], 1);
}

#[test]
fn with_a_second_admin_deactivation_and_deletion_work() {
    let (s, admin, u) = TestServer::with_users(&["bob_b"]);
    let (bob, bob_auth) = (u[0].0, &u[0].1);
    s.patch(
        &user_path(bob),
        &admin,
        json!({"groups": ["admin"], "is_staff": true}),
    )
    .expect(200);
    let r = s.patch("/api/users/1", bob_auth, json!({"is_active": false}));
    r.expect(200);
    assert_eq!(r.json()["is_active"], false);
    assert_detail(
        &s.get("/api/users/self", &admin),
        401,
        "User inactive or deleted.",
    );
    s.patch("/api/users/1", bob_auth, json!({"is_active": true}))
        .expect(200);
    // The admin deletes itself.
    s.delete("/api/users/1", &admin).expect(204);
    assert_detail(&s.get("/api/users/self", &admin), 401, "Invalid token.");
    assert_eq!(s.get("/api/users", bob_auth).json()["count"], 1);
}

// ---------------------------------------------------------------------------------------------
// permissions and check order (§1.1, §4.3)

#[test]
fn permission_table_without_organizations() {
    let (s, admin, u) =
        TestServer::with_users(&["alice_a", "bob_b", "carol_c", "dave_d", "erin_e"]);
    let (alice, alice_auth) = (u[0].0, &u[0].1);
    let (bob, carol, dave, erin) = (u[1].0, u[2].0, u[3].0, u[4].0);

    // Admin: any target, 200/200/204.
    s.get(&user_path(bob), &admin).expect(200);
    let r = s.patch(&user_path(bob), &admin, json!({"first_name": "z"}));
    r.expect(200);
    assert_eq!(keys(&r.json()), FULL_KEYS);
    s.delete(&user_path(bob), &admin).expect(204);
    let r = s.patch("/api/users/1", &admin, json!({"first_name": "z"}));
    r.expect(200);
    assert_eq!(keys(&r.json()), FULL_KEYS);

    // Non-admin: others 403/403/403, nothing changes.
    for target in [1, carol] {
        assert_detail(&s.get(&user_path(target), alice_auth), 403, NO_PERMISSION);
        assert_detail(
            &s.patch(&user_path(target), alice_auth, json!({"first_name": "z"})),
            403,
            NO_PERMISSION,
        );
        assert_detail(
            &s.delete(&user_path(target), alice_auth),
            403,
            NO_PERMISSION,
        );
    }
    assert_eq!(s.fetch(&admin, carol)["first_name"], "");
    // Non-admin: self 200/200/204.
    s.get(&user_path(alice), alice_auth).expect(200);
    s.patch(&user_path(alice), alice_auth, json!({"first_name": "z"}))
        .expect(200);

    // Admin group without is_staff: every target, basic serializer for input and output.
    let (dave_auth, erin_auth) = (&u[3].1, &u[4].1);
    s.patch(&user_path(dave), &admin, json!({"groups": ["admin"]}))
        .expect(200);
    let r = s.get(&user_path(carol), dave_auth);
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS);
    let r = s.patch(
        &user_path(carol),
        dave_auth,
        json!({"first_name": "Renamed"}),
    );
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS);
    assert_eq!(r.json()["first_name"], "Renamed");
    let r = s.patch(
        &user_path(carol),
        dave_auth,
        json!({"email": "x@example.com"}),
    );
    assert_json(
        &r,
        400,
        json!({"non_field_errors": ["Got unknown fields: {'email'}"]}),
    );
    let r = s.patch(&user_path(carol), dave_auth, json!({"groups": ["admin"]}));
    assert_json(
        &r,
        400,
        json!({"non_field_errors": [format!("{PERMS_PREFIX}{{'groups'}}")]}),
    );
    let r = s.patch(&user_path(dave), dave_auth, json!({"first_name": "Dave"}));
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS, "basic even for self");
    s.delete(&user_path(carol), dave_auth).expect(204);
    // Any user can delete their own account.
    s.delete(&user_path(erin), erin_auth).expect(204);
    s.delete(&user_path(alice), alice_auth).expect(204);
    let r = s.get("/api/users?page_size=all", &admin);
    let left: BTreeSet<i64> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(left, [1, dave].into_iter().collect());
}

#[test]
fn check_order_404_then_403_then_400() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let (me, bob) = (&u[0].1, u[1].0);
    // 404 before 403 (and before any body problem).
    assert_detail(&s.get("/api/users/99999", me), 404, "Not found.");
    assert_detail(
        &s.patch("/api/users/99999", me, json!({"username": null})),
        404,
        "Not found.",
    );
    assert_detail(&s.delete("/api/users/99999", me), 404, "Not found.");
    assert_detail(
        &s.send_raw(
            Method::PATCH,
            "/api/users/99999",
            me,
            Some("application/json"),
            "{bad",
        ),
        404,
        "Not found.",
    );
    assert_detail(
        &s.send_raw(
            Method::PATCH,
            "/api/users/99999",
            &admin,
            Some("text/plain"),
            "x",
        ),
        404,
        "Not found.",
    );
    assert_detail(
        &s.send_raw(
            Method::PATCH,
            "/api/users/abc",
            me,
            Some("application/json"),
            "[1]",
        ),
        404,
        "Not found.",
    );
    // 403 before 400/415.
    let other = user_path(bob);
    assert_detail(
        &s.patch(&other, me, json!({"username": null, "groups": "x"})),
        403,
        NO_PERMISSION,
    );
    assert_detail(
        &s.patch(&other, me, json!({"is_staff": true})),
        403,
        NO_PERMISSION,
    );
    assert_detail(
        &s.send_raw(Method::PATCH, &other, me, Some("application/json"), "{bad"),
        403,
        NO_PERMISSION,
    );
    assert_detail(
        &s.send_raw(Method::PATCH, &other, me, Some("application/json"), "null"),
        403,
        NO_PERMISSION,
    );
    assert_detail(
        &s.send_raw(Method::PATCH, &other, me, Some("text/plain"), "x"),
        403,
        NO_PERMISSION,
    );
    // 401 before everything but negotiation.
    assert_detail(
        &s.send_raw(
            Method::PATCH,
            "/api/users/99999",
            &Auth::None,
            Some("text/plain"),
            "x",
        ),
        401,
        NOT_AUTHENTICATED,
    );
    assert_detail(&s.delete(&other, &Auth::None), 401, NOT_AUTHENTICATED);
    let r = s.send(
        s.request(Method::PATCH, &other, &Auth::None)
            .header("Accept", "text/plain")
            .json(&json!({})),
    );
    assert_detail(&r, 406, "Could not satisfy the request Accept header.");
}

#[test]
fn unmapped_methods() {
    let (s, admin, u) = TestServer::with_users(&["alice_a"]);
    let (alice, me) = (u[0].0, &u[0].1);
    let not_allowed = |m: &str| format!("Method \"{m}\" not allowed.");
    // POST /api/users: admins create users (issue 8, see admin_api.rs), non-admins get 403.
    s.post("/api/users", &admin, json!({"username": "x"}))
        .expect(400);
    assert_detail(
        &s.post("/api/users", me, json!({"username": "x"})),
        403,
        NO_PERMISSION,
    );
    for m in [Method::PUT, Method::PATCH, Method::DELETE] {
        let r = s.send(s.request(m.clone(), "/api/users", &admin).json(&json!({})));
        assert_detail(&r, 405, &not_allowed(m.as_str()));
        let r = s.send(s.request(m.clone(), "/api/users", me).json(&json!({})));
        assert_detail(&r, 403, NO_PERMISSION);
    }
    // PUT on the detail route: 405 for everyone, any id.
    for path in [
        user_path(alice),
        "/api/users/1".into(),
        "/api/users/99999".into(),
    ] {
        for auth in [&admin, me] {
            let r = s.send(
                s.request(Method::PUT, &path, auth)
                    .json(&json!({"first_name": "x"})),
            );
            assert_detail(&r, 405, &not_allowed("PUT"));
        }
    }
    let r = s.send(
        s.request(Method::POST, &user_path(alice), me)
            .json(&json!({})),
    );
    assert_detail(&r, 405, &not_allowed("POST"));
    // PATCH / DELETE / POST / PUT on /api/users/self: admin 405, non-admin 403.
    for m in [Method::PATCH, Method::DELETE, Method::POST, Method::PUT] {
        let r = s.send(
            s.request(m.clone(), "/api/users/self", &admin)
                .json(&json!({"first_name": "x"})),
        );
        assert_detail(&r, 405, &not_allowed(m.as_str()));
        let r = s.send(
            s.request(m.clone(), "/api/users/self", me)
                .json(&json!({"first_name": "x"})),
        );
        assert_detail(&r, 403, NO_PERMISSION);
    }
    // Nothing was changed or deleted by any of it.
    assert_eq!(s.fetch(&admin, alice)["first_name"], "");
    assert_eq!(s.fetch(&admin, 1)["first_name"], "");
    assert_eq!(s.get("/api/users", &admin).json()["count"], 2);
}

// ---------------------------------------------------------------------------------------------
// request bodies (§1.4)

#[test]
fn form_and_multipart_bodies() {
    let (s, admin, u) = TestServer::with_users(&["alice_a"]);
    let (id, me) = (u[0].0, &u[0].1);
    let p = user_path(id);
    let r = s.send_raw(Method::PATCH, &p,
        &admin,
        Some("application/x-www-form-urlencoded"),
        "first_name=Form+Name&last_name=%C3%9Cml&groups=business&groups=worker&is_staff=True&email=f%40example.com",
    );
    r.expect(200);
    let j = r.json();
    assert_eq!(
        fields(&j, &["first_name", "last_name", "email"]),
        [json!("Form Name"), json!("Üml"), json!("f@example.com")]
    );
    assert_eq!(group_set(&j["groups"]), set(&["business", "worker"]));
    assert_eq!(j["is_staff"], true);
    // A single form value is a one-element list for groups.
    let r = s.send_raw(
        Method::PATCH,
        &p,
        &admin,
        Some("application/x-www-form-urlencoded; charset=utf-8"),
        "groups=user&is_staff=off",
    );
    r.expect(200);
    assert_eq!(r.json()["groups"], json!(["user"]));
    assert_eq!(r.json()["is_staff"], false);
    let r = s.send_raw(
        Method::PATCH,
        &p,
        &admin,
        Some("application/x-www-form-urlencoded"),
        "groups=nope",
    );
    assert_json(
        &r,
        400,
        json!({"groups": ["Object with name=nope does not exist."]}),
    );
    let r = s.send_raw(
        Method::PATCH,
        &p,
        &admin,
        Some("application/x-www-form-urlencoded"),
        "is_active=maybe",
    );
    assert_json(&r, 400, json!({"is_active": [BAD_BOOL]}));

    // Multipart.
    let body = multipart(
        "XyZ123",
        &[
            ("first_name", "Multi"),
            ("groups", "worker"),
            ("groups", "user"),
            ("is_active", "true"),
        ],
    );
    let r = s.send_raw(
        Method::PATCH,
        &p,
        &admin,
        Some("multipart/form-data; boundary=XyZ123"),
        body,
    );
    r.expect(200);
    assert_eq!(r.json()["first_name"], "Multi");
    assert_eq!(group_set(&r.json()["groups"]), set(&["user", "worker"]));
    // A normal user over a form: the basic serializer's rules apply.
    let r = s.send_raw(
        Method::PATCH,
        &p,
        me,
        Some("application/x-www-form-urlencoded"),
        "last_name=Own",
    );
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS);
    assert_eq!(r.json()["last_name"], "Own");
    let r = s.send_raw(
        Method::PATCH,
        &p,
        me,
        Some("application/x-www-form-urlencoded"),
        "email=x%40y.zz",
    );
    assert_json(
        &r,
        400,
        json!({"non_field_errors": ["Got unknown fields: {'email'}"]}),
    );
    let body = multipart("b0undary", &[("is_staff", "true")]);
    let r = s.send_raw(
        Method::PATCH,
        &p,
        me,
        Some("multipart/form-data; boundary=b0undary"),
        body,
    );
    assert_json(
        &r,
        400,
        json!({"non_field_errors": [format!("{PERMS_PREFIX}{{'is_staff'}}")]}),
    );
    assert_eq!(s.fetch(&admin, id)["is_staff"], false);
}

#[test]
fn json_body_edge_cases() {
    let (s, admin, u) = TestServer::with_users(&["alice_a"]);
    let (id, me) = (u[0].0, &u[0].1);
    let p = user_path(id);
    s.patch(&p, &admin, json!({"first_name": "Keep"}))
        .expect(200);
    let snapshot = s.fetch(&admin, id);

    // Empty body: a no-op 200 (with or without a content type).
    for ct in [Some("application/json"), None, Some("text/plain")] {
        let r = s.send_raw(Method::PATCH, &p, &admin, ct, "");
        r.expect(200);
        assert_eq!(r.json(), snapshot, "{ct:?}");
    }
    let r = s.send_raw(Method::PATCH, &p, me, Some("application/json"), "");
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS);
    // JSON that is not an object.
    let json_ct = Some("application/json");
    assert_json(
        &s.send_raw(Method::PATCH, &p, &admin, json_ct, "null"),
        400,
        json!({"non_field_errors": ["No data provided"]}),
    );
    assert_json(
        &s.send_raw(
            Method::PATCH,
            &p,
            &admin,
            json_ct,
            "[{\"first_name\": \"x\"}]",
        ),
        400,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got list."]}),
    );
    assert_json(
        &s.send_raw(Method::PATCH, &p, me, json_ct, "\"first_name\""),
        400,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}),
    );
    assert_json(
        &s.send_raw(Method::PATCH, &p, &admin, json_ct, "5"),
        400,
        json!({"non_field_errors": ["Invalid data. Expected a dictionary, but got int."]}),
    );
    // Malformed JSON.
    for bad in [
        "{bad",
        "{\"first_name\": }",
        "{\"first_name\": \"x\"",
        "{'first_name': 'x'}",
        "\u{0}",
    ] {
        let r = s.send_raw(Method::PATCH, &p, &admin, json_ct, bad);
        r.expect(400);
        let j = r.json();
        assert_eq!(keys(&j), ["detail"], "{bad}: {}", r.text);
        assert!(
            j["detail"]
                .as_str()
                .unwrap()
                .starts_with("JSON parse error - "),
            "{bad}: {}",
            r.text
        );
    }
    // Absurdly deep nesting is a 400, not a crash.
    let r = s.send_raw(Method::PATCH, &p, &admin, json_ct, "[".repeat(100_000));
    r.expect(400);
    assert!(
        r.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error - "),
        "{}",
        r.text
    );
    let deep = format!(
        "{{\"first_name\": {}{}}}",
        "[".repeat(50_000),
        "]".repeat(50_000)
    );
    s.send_raw(Method::PATCH, &p, &admin, json_ct, deep)
        .expect(400);
    // Unsupported media types: 415 naming the type as sent.
    for ct in ["text/plain", "application/vnd.cvat+json", "application/xml"] {
        let r = s.send_raw(
            Method::PATCH,
            &p,
            &admin,
            Some(ct),
            "{\"first_name\": \"x\"}",
        );
        assert_detail(
            &r,
            415,
            &format!("Unsupported media type \"{ct}\" in request."),
        );
    }
    let r = s.send_raw(
        Method::PATCH,
        &p,
        me,
        Some("text/plain; charset=utf-8"),
        "first_name=x",
    );
    assert_detail(
        &r,
        415,
        "Unsupported media type \"text/plain; charset=utf-8\" in request.",
    );
    // Duplicate keys: the last one wins, as with Python's json.
    let r = s.send_raw(
        Method::PATCH,
        &p,
        &admin,
        json_ct,
        r#"{"last_name": "first", "last_name": "second"}"#,
    );
    r.expect(200);
    assert_eq!(r.json()["last_name"], "second");
    // A JSON content type with parameters is still JSON.
    let r = s.send_raw(
        Method::PATCH,
        &p,
        &admin,
        Some("application/json; charset=utf-8"),
        "{\"last_name\": \"Param\"}",
    );
    r.expect(200);
    assert_eq!(r.json()["last_name"], "Param");
    s.patch(&p, &admin, json!({"last_name": ""})).expect(200);
    // Bodies over 1 MiB: 413.
    let big = json!({"first_name": "x".repeat(1024 * 1024 + 10)}).to_string();
    let r = s.send_raw(Method::PATCH, &p, &admin, json_ct, big);
    r.expect(413);
    assert!(r.json()["detail"].is_string(), "{}", r.text);
    // A body just under the limit is parsed normally (and fails validation on length).
    let near = json!({"first_name": "x".repeat(1000 * 1000)}).to_string();
    assert_json(
        &s.send_raw(Method::PATCH, &p, &admin, json_ct, near),
        400,
        json!({"first_name": [MAX_150]}),
    );
    // None of it changed the user.
    assert_eq!(s.fetch(&admin, id), snapshot);
}

#[test]
fn a_failed_patch_changes_nothing() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let id = u[0].0;
    let p = user_path(id);
    s.patch(
        &p,
        &admin,
        json!({"first_name": "Old", "groups": ["worker"]}),
    )
    .expect(200);
    let snapshot = s.fetch(&admin, id);
    let bodies = [
        json!({"first_name": "New", "username": "bad name!"}),
        json!({"first_name": "New", "groups": ["nope"], "is_staff": true}),
        json!({"username": "renamed", "email": "invalid"}),
        json!({"username": "bob_b", "first_name": "New", "groups": ["admin"]}),
        json!({"is_active": false, "last_name": "l".repeat(151)}),
        json!({"first_name": "New", "is_superuser": "perhaps"}),
    ];
    for body in bodies {
        let r = s.patch(&p, &admin, body.clone());
        assert_eq!(r.status.as_u16(), 400, "{body}: {}", r.text);
        assert_eq!(s.fetch(&admin, id), snapshot, "{body}");
    }
    // The user can still log in under the old name.
    s.login("alice_a", PASSWORD).expect(200);
    assert_eq!(s.login("renamed", PASSWORD).status.as_u16(), 400);
}

// ---------------------------------------------------------------------------------------------
// DELETE (§6.5, §9.3)

#[test]
fn delete_removes_the_user_and_its_credentials() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let (alice, alice_token) = (u[0].0, &u[0].1);
    let login = s.login("alice_a", PASSWORD);
    login.expect(200);
    let session = login.session();
    let basic = Auth::basic("alice_a", PASSWORD);
    for auth in [alice_token, &session, &basic] {
        s.get("/api/users/self", auth).expect(200);
    }

    let r = s.delete(&user_path(alice), &admin);
    r.expect(204);
    assert!(r.text.is_empty(), "{}", r.text);
    assert!(
        r.header("content-type").is_none(),
        "{:?}",
        r.header("content-type")
    );

    assert_detail(
        &s.get("/api/users/self", alice_token),
        401,
        "Invalid token.",
    );
    assert_detail(&s.get("/api/users/self", &session), 401, NOT_AUTHENTICATED);
    assert_detail(
        &s.get("/api/users/self", &basic),
        401,
        "Invalid username/password.",
    );
    assert_detail(&s.get(&user_path(alice), &admin), 404, "Not found.");
    assert_detail(&s.delete(&user_path(alice), &admin), 404, "Not found.");
    assert_detail(
        &s.patch(&user_path(alice), &admin, json!({"first_name": "x"})),
        404,
        "Not found.",
    );
    assert_json(
        &s.login("alice_a", PASSWORD),
        400,
        json!({"non_field_errors": ["Unable to log in with provided credentials."]}),
    );
    let r = s.get("/api/users?page_size=all", &admin);
    assert_eq!(r.json()["count"], 2);
    assert!(!r.text.contains("alice_a"), "{}", r.text);
    // The name is free again; the new account is a different user.
    let (again, _) = s.register("alice_a");
    assert_ne!(again, alice);
    // Others are untouched.
    s.get("/api/users/self", &u[1].1).expect(200);
}

#[test]
fn users_delete_themselves() {
    let (s, admin, u) = TestServer::with_users(&["alice_a", "bob_b"]);
    let (alice, me) = (u[0].0, &u[0].1);
    let login = s.login("alice_a", PASSWORD);
    let session = login.session();
    let r = s.delete(&user_path(alice), me);
    r.expect(204);
    assert!(r.text.is_empty());
    assert_detail(&s.get("/api/users/self", me), 401, "Invalid token.");
    assert_detail(&s.delete(&user_path(alice), me), 401, "Invalid token.");
    assert_detail(&s.get("/api/users", &session), 401, NOT_AUTHENTICATED);
    assert_detail(&s.delete(&user_path(alice), &admin), 404, "Not found.");
    // A user with no groups at all can delete itself too.
    let (bob, bob_auth) = (u[1].0, &u[1].1);
    s.patch(&user_path(bob), &admin, json!({"groups": []}))
        .expect(200);
    s.delete(&user_path(bob), bob_auth).expect(204);
    assert_eq!(s.get("/api/users", &admin).json()["count"], 1);
}

#[test]
fn patch_body_without_content_type_is_415() {
    let s = TestServer::start();
    let admin = s.admin();
    let r = s.send(
        s.request(reqwest::Method::PATCH, "/api/users/1", &admin)
            .body(r#"{"first_name":"x"}"#),
    );
    r.expect(415);
    assert_eq!(
        r.json(),
        serde_json::json!({"detail": "Unsupported media type \"\" in request."})
    );
    assert_eq!(s.get("/api/users/1", &admin).json()["first_name"], "");
    // Without a body there is nothing to parse: a no-op 200.
    s.send(s.request(reqwest::Method::PATCH, "/api/users/1", &admin))
        .expect(200);
}
