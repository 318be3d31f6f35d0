//! `GET /api/users` and the read side of `/api/users/{id}` and `/api/users/self`: visibility,
//! shapes, pagination, links, sort, search, filters, negotiation and the HTTP edges (spec §1,
//! §4–§6, §8, decisions 1, 3 and 8).

use std::collections::BTreeSet;
use std::io::{Read, Write};

use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

// ---------------------------------------------------------------------------------------------
// helpers

fn username_set(r: &Resp) -> BTreeSet<String> {
    usernames(r).into_iter().collect()
}

/// `encodeURIComponent`: everything but unreserved characters percent-encoded.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Python's `urllib.parse.quote_plus`, which the SDK's query encoding uses.
fn quote_plus(s: &str) -> String {
    enc(s).replace("%20", "+")
}

#[track_caller]
fn assert_filter_error(r: &Resp, msg: &str) {
    r.expect(400);
    assert_eq!(r.json(), json!([msg]), "body: {}", r.text);
}

fn get_accept(s: &TestServer, path: &str, auth: &Auth, accept: &str) -> Resp {
    s.get_with(path, auth, &[("Accept", accept)])
}

/// A raw HTTP/1.1 exchange, for requests reqwest would alter (e.g. no `Accept` at all).
/// Returns (status, head, body).
fn raw_http(s: &TestServer, request: &str) -> (u16, String, String) {
    let addr = s.base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    conn.write_all(request.replace("{host}", addr).as_bytes())
        .unwrap();
    let mut buf = Vec::new();
    conn.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// Registers each `(username, first_name, last_name)` and sets the names as admin.
fn populate(s: &TestServer, admin: &Auth, users: &[(&str, &str, &str)]) -> Vec<(i64, Auth)> {
    users
        .iter()
        .map(|(name, first, last)| {
            let (id, auth) = s.register(name);
            if !first.is_empty() || !last.is_empty() {
                s.patch(
                    &format!("/api/users/{id}"),
                    admin,
                    json!({"first_name": first, "last_name": last}),
                )
                .expect(200);
            }
            (id, auth)
        })
        .collect()
}

/// A server with `n` registered users `member01..memberNN` (ids 2..=n+1) besides `admin` (id 1).
fn server_with_members(n: usize) -> (TestServer, Auth, Vec<(i64, Auth)>) {
    let s = TestServer::start();
    let admin = s.admin();
    let users = (1..=n)
        .map(|i| s.register(&format!("member{i:02}")))
        .collect();
    (s, admin, users)
}

/// The fixed cast of the sort/search/filter tests (ids 2..=6; `carol_c` is inactive).
fn cast() -> (TestServer, Auth, Vec<(i64, Auth)>) {
    let s = TestServer::start();
    let admin = s.admin();
    let users = populate(
        &s,
        &admin,
        &[
            ("alice_a", "Alice", "Smith"),
            ("bob_b", "Bob", "Jones"),
            ("carol_c", "Carol", "Smith"),
            ("dave_d", "Dave", "Großüser"),
            ("erin_e", "Erin", "Zephyr"),
        ],
    );
    s.patch(
        &format!("/api/users/{}", users[2].0),
        &admin,
        json!({"is_active": false}),
    )
    .expect(200);
    (s, admin, users)
}

// ---------------------------------------------------------------------------------------------
// authentication and visibility

#[test]
fn anonymous_and_bad_credentials_get_401_with_token_challenge() {
    let s = TestServer::start();
    let (id, _) = s.register("someone");
    for path in [
        "/api/users".to_string(),
        "/api/users/self".to_string(),
        format!("/api/users/{id}"),
        "/api/users/abc".to_string(),
        "/api/users/99999".to_string(),
    ] {
        let r = s.get(&path, &Auth::None);
        assert_detail(&r, 401, NOT_AUTHENTICATED);
        assert_eq!(
            r.header("www-authenticate").as_deref(),
            Some("Token"),
            "{path}"
        );
        assert_eq!(
            r.header("content-type").as_deref(),
            Some("application/vnd.cvat+json"),
            "{path}"
        );
    }
    let bad = Auth::Token("0".repeat(40));
    let r = s.get("/api/users", &bad);
    assert_detail(&r, 401, "Invalid token.");
    assert_eq!(r.header("www-authenticate").as_deref(), Some("Token"));
    // Anonymous unmapped methods are 401 too (authentication precedes dispatch).
    let r = s.post("/api/users", &Auth::None, json!({}));
    assert_detail(&r, 401, NOT_AUTHENTICATED);
}

#[test]
fn admin_sees_everyone_including_inactive_in_full_shape() {
    let s = TestServer::start();
    let admin = s.admin();
    let (alice, _) = s.register("alice_a");
    let (bob, _) = s.register("bob_b");
    s.set_active(&admin, bob, false);

    let r = s.get("/api/users", &admin);
    r.expect(200);
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/vnd.cvat+json")
    );
    // Compact JSON, keys of the page in DRF's order.
    assert!(
        r.text
            .starts_with("{\"count\":3,\"next\":null,\"previous\":null,\"results\":["),
        "{}",
        r.text
    );
    assert!(!r.text.contains("\": "), "not compact: {}", r.text);
    let j = r.json();
    assert_eq!(keys(&j), ["count", "next", "previous", "results"]);
    // Default order: -id.
    assert_eq!(ids(&r), vec![bob, alice, 1]);
    for item in j["results"].as_array().unwrap() {
        assert_eq!(keys(item), FULL_KEYS, "{item}");
    }
    let a = &j["results"][2];
    assert_eq!(a["url"], format!("{}/api/users/1", s.base));
    assert_eq!(a["username"], ADMIN);
    assert_eq!(a["email"], "admin@example.com");
    assert_eq!(a["groups"], json!(["admin"]));
    assert_eq!(
        (
            a["is_staff"].clone(),
            a["is_superuser"].clone(),
            a["is_active"].clone()
        ),
        (json!(true), json!(true), json!(true))
    );
    assert!(a["last_login"].as_str().unwrap().ends_with('Z'), "{a}");
    assert!(a["date_joined"].as_str().unwrap().ends_with('Z'), "{a}");
    let b = &j["results"][0];
    assert_eq!(b["username"], "bob_b");
    assert_eq!(b["is_active"], false);
    assert_eq!(b["groups"], json!(["user"]));
    assert_eq!(b["email"], "bob_b@example.com");
    assert_eq!(
        (b["is_staff"].clone(), b["is_superuser"].clone()),
        (json!(false), json!(false))
    );
}

#[test]
fn non_admin_sees_only_self_in_basic_shape() {
    let s = TestServer::start();
    let admin = s.admin();
    let (alice, alice_auth) = s.register("alice_a");
    let (bob, _) = s.register("bob_b");
    s.patch(
        &format!("/api/users/{alice}"),
        &admin,
        json!({"first_name": "Alice", "last_name": "A"}),
    )
    .expect(200);

    let r = s.get("/api/users", &alice_auth);
    r.expect(200);
    assert_eq!(
        r.json(),
        json!({"count": 1, "next": null, "previous": null, "results": [{
            "url": format!("{}/api/users/{alice}", s.base),
            "id": alice, "username": "alice_a", "first_name": "Alice", "last_name": "A"}]})
    );
    assert_eq!(keys(&r.json()["results"][0]), BASIC_KEYS);
    // Searching or paging never reveals anyone else.
    let r = s.get("/api/users?search=bob&page_size=all", &alice_auth);
    assert_eq!(r.json()["count"], 0);
    let r = s.get(
        "/api/users?filter=%7B%22%3D%3D%22%3A%5B%7B%22var%22%3A%22id%22%7D%2C1%5D%7D",
        &alice_auth,
    );
    assert_eq!(r.json()["count"], 0, "{}", r.text);

    // `self` and the own detail route are full, someone else's detail is 403.
    for path in ["/api/users/self".to_string(), format!("/api/users/{alice}")] {
        let r = s.get(&path, &alice_auth);
        r.expect(200);
        let j = r.json();
        assert_eq!(keys(&j), FULL_KEYS, "{path}");
        assert_eq!(j["id"], alice);
        assert_eq!(j["groups"], json!(["user"]));
        assert_eq!(j["email"], "alice_a@example.com");
        assert_eq!(j["is_staff"], false);
    }
    assert_detail(
        &s.get(&format!("/api/users/{bob}"), &alice_auth),
        403,
        NO_PERMISSION,
    );
    assert_detail(&s.get("/api/users/1", &alice_auth), 403, NO_PERMISSION);
}

#[test]
fn list_shape_follows_is_staff_and_visibility_follows_admin_group() {
    let s = TestServer::start();
    let admin = s.admin();
    let (staff, staff_auth) = s.register("staffer");
    let (boss, boss_auth) = s.register("bossy_admin");
    let (plain, _) = s.register("plain_user");
    // is_staff without the admin group: only self, but the full serializer.
    s.patch(
        &format!("/api/users/{staff}"),
        &admin,
        json!({"is_staff": true}),
    )
    .expect(200);
    // The admin group without is_staff: everyone, but the basic serializer.
    s.patch(
        &format!("/api/users/{boss}"),
        &admin,
        json!({"groups": ["admin"]}),
    )
    .expect(200);

    let r = s.get("/api/users", &staff_auth);
    r.expect(200);
    assert_eq!(ids(&r), vec![staff]);
    let item = &r.json()["results"][0];
    assert_eq!(keys(item), FULL_KEYS);
    assert_eq!(item["is_staff"], true);
    assert_eq!(item["groups"], json!(["user"]));
    assert_detail(
        &s.get(&format!("/api/users/{plain}"), &staff_auth),
        403,
        NO_PERMISSION,
    );

    let r = s.get("/api/users", &boss_auth);
    r.expect(200);
    assert_eq!(ids(&r), vec![plain, boss, staff, 1]);
    for item in r.json()["results"].as_array().unwrap() {
        assert_eq!(keys(item), BASIC_KEYS, "{item}");
    }
    // Detail: basic for others, full for self; `self` always full.
    let r = s.get(&format!("/api/users/{plain}"), &boss_auth);
    r.expect(200);
    assert_eq!(keys(&r.json()), BASIC_KEYS);
    let r = s.get(&format!("/api/users/{boss}"), &boss_auth);
    assert_eq!(keys(&r.json()), FULL_KEYS);
    assert_eq!(r.json()["groups"], json!(["admin"]));
    let r = s.get("/api/users/self", &boss_auth);
    assert_eq!(keys(&r.json()), FULL_KEYS);

    // A staff admin sees others in full on the detail route.
    let r = s.get(&format!("/api/users/{plain}"), &admin);
    assert_eq!(keys(&r.json()), FULL_KEYS);
}

#[test]
fn sessions_and_basic_auth_see_the_same_lists() {
    let s = TestServer::start();
    let (id, _) = s.register("alice_a");
    let login = s.login("alice_a", PASSWORD);
    login.expect(200);
    let session = login.session();
    let basic = Auth::basic("alice_a", PASSWORD);
    for auth in [session, basic] {
        let r = s.get("/api/users", &auth);
        r.expect(200);
        assert_eq!(ids(&r), vec![id], "{auth:?}");
        assert_eq!(s.get("/api/users/self", &auth).json()["id"], id);
    }
    let r = s.get("/api/users", &Auth::basic(ADMIN, ADMIN_PASSWORD));
    assert_eq!(ids(&r), vec![id, 1]);
}

// ---------------------------------------------------------------------------------------------
// pagination

#[test]
fn pagination_page_sizes() {
    let (s, admin, users) = server_with_members(12);
    let all: Vec<i64> = std::iter::once(1)
        .chain(users.iter().map(|u| u.0))
        .rev()
        .collect();
    assert_eq!(all.len(), 13);

    // Default page size 10, -id order.
    let r = s.get("/api/users", &admin);
    r.expect(200);
    let j = r.json();
    assert_eq!(j["count"], 13);
    assert_eq!(ids(&r), all[..10]);
    assert_eq!(j["next"], format!("{}/api/users?page=2", s.base));
    assert_eq!(j["previous"], Value::Null);

    let r = s.get("/api/users?page=2", &admin);
    assert_eq!(ids(&r), all[10..]);
    assert_eq!(r.json()["next"], Value::Null);
    assert_eq!(r.json()["previous"], format!("{}/api/users", s.base));

    // page_size=N, no maximum.
    let r = s.get("/api/users?page_size=5&page=2", &admin);
    assert_eq!(ids(&r), all[5..10]);
    assert_eq!(r.json()["count"], 13);
    let r = s.get("/api/users?page_size=1000", &admin);
    assert_eq!(ids(&r), all);
    assert_eq!(r.json()["next"], Value::Null);

    // all = unlimited.
    let r = s.get("/api/users?page_size=all", &admin);
    assert_eq!(ids(&r), all);
    assert_eq!(r.json()["next"], Value::Null);
    assert_eq!(r.json()["previous"], Value::Null);

    // Any integer above 0, however large, is a page with every row (CVAT has no maximum).
    let r = s.get(&format!("/api/users?page_size=1{}", "0".repeat(30)), &admin);
    assert_eq!(ids(&r), all);
    assert_eq!(r.json()["count"], 13);
    assert_eq!(r.json()["next"], Value::Null);

    let r = s.get("/api/users?page_size=9223372036854775807", &admin);
    assert_eq!(ids(&r), all);
    assert_eq!(r.json()["next"], Value::Null);
    let r = s.get("/api/users?page_size=9223372036854775807&page=last", &admin);
    assert_eq!(ids(&r), all);
    let r = s.get("/api/users?page_size=9223372036854775807&page=2", &admin);
    assert_detail(&r, 404, "Invalid page.");
    let r = s.get("/api/users?page_size=1&page=9223372036854775807", &admin);
    assert_detail(&r, 404, "Invalid page.");
    // Anything else falls back to 10.
    for bad in ["0", "-3", "abc", "2.5", ""] {
        let r = s.get(&format!("/api/users?page_size={bad}"), &admin);
        r.expect(200);
        assert_eq!(ids(&r).len(), 10, "page_size={bad}");
        assert_eq!(r.json()["count"], 13);
    }

    // page=last.
    let r = s.get("/api/users?page=last", &admin);
    assert_eq!(ids(&r), all[10..]);
    let r = s.get("/api/users?page_size=5&page=last", &admin);
    assert_eq!(ids(&r), all[10..]);
    assert_eq!(
        r.json()["previous"],
        format!("{}/api/users?page=2&page_size=5", s.base)
    );
    let r = s.get("/api/users?page_size=all&page=last", &admin);
    assert_eq!(ids(&r), all);
}

#[test]
fn page_parameter_is_parsed_like_python_int() {
    let (s, admin, _) = server_with_members(11); // 12 users: 2 pages of 10
    for bad in ["0", "-1", "abc", "2.0", "3", "99", "", "1e1", "last2"] {
        let r = s.get(&format!("/api/users?page={}", enc(bad)), &admin);
        assert_detail(&r, 404, "Invalid page.");
    }
    for ok in [" 2", "+2", "2 ", "02", "\t2"] {
        let r = s.get(&format!("/api/users?page={}", enc(ok)), &admin);
        r.expect(200);
        assert_eq!(ids(&r), vec![2, 1], "page={ok:?}");
    }
    // An unencoded '+' is a space in a query string: page=+2 means " 2".
    let r = s.get("/api/users?page=+2", &admin);
    assert_eq!(ids(&r), vec![2, 1]);
    // page=1 explicitly is the first page.
    assert_eq!(ids(&s.get("/api/users?page=1", &admin)).len(), 10);
    // The last value of a repeated parameter counts.
    assert_eq!(ids(&s.get("/api/users?page=1&page=2", &admin)), vec![2, 1]);
}

#[test]
fn empty_result_first_page_is_fine_and_others_are_invalid() {
    let s = TestServer::start();
    let admin = s.admin();
    let r = s.get("/api/users?search=nobody-has-this", &admin);
    r.expect(200);
    assert_eq!(
        r.text,
        r#"{"count":0,"next":null,"previous":null,"results":[]}"#
    );
    let r = s.get("/api/users?search=nobody-has-this&page=last", &admin);
    r.expect(200);
    assert_eq!(r.json()["count"], 0);
    let r = s.get("/api/users?search=nobody-has-this&page=2", &admin);
    assert_detail(&r, 404, "Invalid page.");
}

#[test]
fn next_and_previous_links_have_sorted_reencoded_queries() {
    let (s, admin, _) = server_with_members(7); // member01..member07 + admin
    let r = s.get(
        "/api/users?page_size=2&page=2&sort=username&search=m",
        &admin,
    );
    r.expect(200);
    let j = r.json();
    assert_eq!(j["count"], 8); // "m" is in every username, admin included
    assert_eq!(usernames(&r), ["member02", "member03"]);
    assert_eq!(
        j["next"],
        format!(
            "{}/api/users?page=3&page_size=2&search=m&sort=username",
            s.base
        )
    );
    assert_eq!(
        j["previous"],
        format!("{}/api/users?page_size=2&search=m&sort=username", s.base)
    );

    // Values are re-encoded with quote_plus; repeated keys keep their values in order.
    let r = s.get(
        "/api/users?search=member%200&z=%C3%BC&page_size=1&page=2&a=2&a=1",
        &admin,
    );
    r.expect(200);
    assert_eq!(
        r.json()["next"],
        format!(
            "{}/api/users?a=2&a=1&page=3&page_size=1&search=member+0&z=%C3%BC",
            s.base
        )
    );
    assert_eq!(
        r.json()["previous"],
        format!(
            "{}/api/users?a=2&a=1&page_size=1&search=member+0&z=%C3%BC",
            s.base
        )
    );
    // `page=last` is replaced by the neighbour's number.
    let r = s.get("/api/users?page=last&page_size=3", &admin);
    assert_eq!(
        r.json()["previous"],
        format!("{}/api/users?page=2&page_size=3", s.base)
    );
    // Blank parameters survive (parse_qs keep_blank_values).
    let r = s.get("/api/users?page_size=3&search=", &admin);
    assert_eq!(
        r.json()["next"],
        format!("{}/api/users?page=2&page_size=3&search=", s.base)
    );
}

#[test]
fn forwarded_host_and_proto_are_reflected_in_links_and_urls() {
    // Loopback named as proxy: the test plays one.
    let s = TestServer::start_with(&["--trusted-proxies", "127.0.0.1"]);
    let admin = s.admin();
    let users: Vec<(i64, Auth)> = (1..=2)
        .map(|i| s.register(&format!("member{i:02}")))
        .collect();
    let fwd = [
        ("X-Forwarded-Host", "cvat.example.com"),
        ("X-Forwarded-Proto", "https"),
    ];
    let r = s.get_with("/api/users?page_size=1", &admin, &fwd);
    r.expect(200);
    let j = r.json();
    assert_eq!(
        j["next"],
        "https://cvat.example.com/api/users?page=2&page_size=1"
    );
    assert_eq!(
        j["results"][0]["url"],
        format!("https://cvat.example.com/api/users/{}", users[1].0)
    );
    let r = s.get_with("/api/users?page_size=1&page=2", &admin, &fwd);
    assert_eq!(
        r.json()["previous"],
        "https://cvat.example.com/api/users?page_size=1"
    );
    let r = s.get_with("/api/users/self", &admin, &fwd);
    assert_eq!(r.json()["url"], "https://cvat.example.com/api/users/1");
    let r = s.get_with(&format!("/api/users/{}", users[0].0), &admin, &fwd);
    assert_eq!(
        r.json()["url"],
        format!("https://cvat.example.com/api/users/{}", users[0].0)
    );

    // Host only: the scheme stays http. A Host header alone is used as is.
    let r = s.get_with(
        "/api/users/self",
        &admin,
        &[("X-Forwarded-Host", "proxy.local:8080")],
    );
    assert_eq!(r.json()["url"], "http://proxy.local:8080/api/users/1");
    let r = s.get_with("/api/users/self", &admin, &[("X-Forwarded-Proto", "https")]);
    assert_eq!(
        r.json()["url"],
        format!("{}/api/users/1", s.base.replace("http://", "https://"))
    );
    let r = s.get_with("/api/users/self", &admin, &[("X-Forwarded-Proto", "http")]);
    assert_eq!(r.json()["url"], format!("{}/api/users/1", s.base));
    // X-Organization is a header, never reflected in links.
    let r = s.get_with("/api/users?page_size=1", &admin, &[("X-Organization", "")]);
    r.expect(200);
    assert_eq!(
        r.json()["next"],
        format!("{}/api/users?page=2&page_size=1", s.base)
    );
}

// ---------------------------------------------------------------------------------------------
// sort, search, filter

#[test]
fn sort_by_allowed_fields_and_drop_the_rest() {
    let (s, admin, u) = cast();
    let (alice, bob, carol, dave, erin) = (u[0].0, u[1].0, u[2].0, u[3].0, u[4].0);
    let list = |q: &str| {
        let r = s.get(&format!("/api/users?page_size=all&{q}"), &admin);
        r.expect(200);
        ids(&r)
    };
    let desc = vec![erin, dave, carol, bob, alice, 1];
    let asc: Vec<i64> = desc.iter().rev().cloned().collect();
    assert_eq!(list(""), desc);
    assert_eq!(list("sort=-id"), desc);
    assert_eq!(list("sort=id"), asc);
    assert_eq!(list("sort=%20id%20"), asc); // terms are trimmed
    for (query, want) in [
        // admin < alice_a < bob_b < carol_c < dave_d < erin_e
        ("sort=username", vec![1, alice, bob, carol, dave, erin]),
        ("sort=-username", vec![erin, dave, carol, bob, alice, 1]),
        // is_active: false first; ties broken by the next key.
        ("sort=is_active,-id", vec![carol, erin, dave, bob, alice, 1]),
        ("sort=-is_active,id", vec![1, alice, bob, dave, erin, carol]),
    ] {
        assert_eq!(list(query), want, "{query}");
    }
    assert_eq!(list("sort=-is_active,-username")[5], carol);
    // Unknown terms are dropped; nothing valid left means the default -id.
    for q in [
        "sort=email",
        "sort=date_joined",
        "sort=--id",
        "sort=",
        "sort=%2C%2C",
        "sort=password,-email",
    ] {
        assert_eq!(list(q), desc, "{q}");
    }
    for (query, want) in [
        (
            "sort=email,username",
            vec![1, alice, bob, carol, dave, erin],
        ),
        (
            "sort=bogus,-username,nope",
            vec![erin, dave, carol, bob, alice, 1],
        ),
        // Superset (decision 8): first_name and last_name.
        // first names: "" (admin), Alice, Bob, Carol, Dave, Erin
        ("sort=-first_name", vec![erin, dave, carol, bob, alice, 1]),
        // last names: "" (admin), Großüser, Jones, Smith, Smith, Zephyr
        ("sort=last_name,-id", vec![1, dave, bob, carol, alice, erin]),
        ("sort=-last_name,id", vec![erin, alice, carol, bob, dave, 1]),
    ] {
        assert_eq!(list(query), want, "{query}");
    }
    // Sorting composes with paging.
    let r = s.get("/api/users?sort=username&page_size=2&page=2", &admin);
    assert_eq!(ids(&r), vec![bob, carol]);
}

#[test]
fn search_is_case_insensitive_and_and_of_terms() {
    let (s, admin, _) = cast();
    let found = |q: &str| {
        let r = s.get(&format!("/api/users?page_size=all&search={q}"), &admin);
        r.expect(200);
        assert_eq!(
            r.json()["count"].as_u64().unwrap() as usize,
            usernames(&r).len()
        );
        username_set(&r)
    };
    // Substring of username, first_name or last_name.
    assert_eq!(found("smith"), set(&["alice_a", "carol_c"]));
    assert_eq!(found("SMITH"), set(&["alice_a", "carol_c"]));
    assert_eq!(found("ali"), set(&["alice_a"]));
    assert_eq!(found("_b"), set(&["bob_b"]));
    assert_eq!(found("ones"), set(&["bob_b"]));
    // Every term must match some field (AND), each term anywhere (OR over fields).
    assert_eq!(found("smith%20carol"), set(&["carol_c"]));
    assert_eq!(found("smith+alice"), set(&["alice_a"]));
    assert_eq!(found("smith%20bob"), set(&[]));
    // "a" and "e": alice_a and dave_d; erin_e has no "a", carol_c no "e".
    assert_eq!(found("a%20e"), set(&["alice_a", "dave_d"]));
    // Commas separate terms like spaces do.
    assert_eq!(found("smith%2Ccarol"), set(&["carol_c"]));
    assert_eq!(found("%2Csmith%2C%2C%20alice%2C"), set(&["alice_a"]));
    // Non-ASCII, case-insensitively.
    assert_eq!(found(&enc("ÜSER")), set(&["dave_d"]));
    assert_eq!(found(&enc("großÜser")), set(&["dave_d"]));
    // Inactive users are found by admins.
    assert_eq!(found("carol"), set(&["carol_c"]));
    // Empty or blank search: no filtering.
    assert_eq!(found("").len(), 6);
    assert_eq!(found("%20%2C%20").len(), 6);
    // LIKE wildcards are literal characters.
    assert_eq!(found("%25"), set(&[]));
    assert_eq!(
        found("_"),
        set(&["alice_a", "bob_b", "carol_c", "dave_d", "erin_e"])
    );
    assert_eq!(found("e_a"), set(&["alice_a"]));
    // NUL characters are removed from the search.
    assert_eq!(found("ali%00ce"), set(&["alice_a"]));
    // A term spanning two fields matches nothing.
    assert_eq!(found(&enc("alicesmith")), set(&[]));
    // Search applies to the count as well as to the page.
    let r = s.get("/api/users?search=a&page_size=1", &admin);
    assert_eq!(r.json()["count"], 4);
    assert_eq!(ids(&r).len(), 1);
}

#[test]
fn a_thousand_search_terms_work_when_repeated_and_get_a_400_when_distinct() {
    let (s, admin, _) = cast();
    let found = |q: &str| {
        let r = s.get(&format!("/api/users?page_size=all&search={q}"), &admin);
        r.expect(200);
        username_set(&r)
    };
    // Repeats count once: a thousand short terms are one term.
    assert_eq!(found(&"a+".repeat(1000)), found("a"));
    assert_eq!(found(&"smi+th+".repeat(500)), set(&["alice_a", "carol_c"]));
    // Up to 100 different terms are served (here short and long ones, none matching).
    let distinct = |n: usize| {
        (0..n)
            .map(|i| format!("q{i}"))
            .collect::<Vec<_>>()
            .join("+")
    };
    assert_eq!(found(&distinct(100)), set(&[]));
    // More: a 400 in the shape of the other list errors, never a 500.
    let r = s.get(&format!("/api/users?search={}", distinct(1000)), &admin);
    r.expect(400);
    assert_eq!(
        r.json(),
        json!(["search: at most 100 different terms are supported, got 1000"])
    );
}

fn filtered(s: &TestServer, admin: &Auth, rule: &str) -> BTreeSet<String> {
    let r = s.get(
        &format!("/api/users?page_size=all&filter={}", enc(rule)),
        admin,
    );
    r.expect(200);
    username_set(&r)
}

#[test]
fn json_logic_filter_operators() {
    let (s, admin, u) = cast();
    let (alice, bob, carol, dave, erin) = (u[0].0, u[1].0, u[2].0, u[3].0, u[4].0);
    let f = |rule: String| filtered(&s, &admin, &rule);
    let all = set(&["admin", "alice_a", "bob_b", "carol_c", "dave_d", "erin_e"]);

    assert_eq!(
        f(format!(r#"{{"==":[{{"var":"id"}},{bob}]}}"#)),
        set(&["bob_b"])
    );
    assert_eq!(
        f(r#"{"==":[{"var":"username"},"dave_d"]}"#.into()),
        set(&["dave_d"])
    );
    assert_eq!(
        f(r#"{"==":[{"var":"is_active"},false]}"#.into()),
        set(&["carol_c"])
    );
    assert_eq!(f(r#"{"==":[{"var":"is_active"},true]}"#.into()).len(), 5);
    assert_eq!(
        f(format!(r#"{{"<":[{{"var":"id"}},{bob}]}}"#)),
        set(&["admin", "alice_a"])
    );
    assert_eq!(
        f(format!(r#"{{"<=":[{{"var":"id"}},{bob}]}}"#)),
        set(&["admin", "alice_a", "bob_b"])
    );
    assert_eq!(
        f(format!(r#"{{">":[{{"var":"id"}},{dave}]}}"#)),
        set(&["erin_e"])
    );
    assert_eq!(
        f(format!(r#"{{">=":[{{"var":"id"}},{dave}]}}"#)),
        set(&["dave_d", "erin_e"])
    );
    assert_eq!(
        f(r#"{">":[{"var":"username"},"carol_c"]}"#.into()),
        set(&["dave_d", "erin_e"])
    );
    // Three-argument forms: a <= f <= b and a < f < b.
    assert_eq!(
        f(format!(r#"{{"<=":[{alice},{{"var":"id"}},{carol}]}}"#)),
        set(&["alice_a", "bob_b", "carol_c"])
    );
    assert_eq!(
        f(format!(r#"{{"<":[{alice},{{"var":"id"}},{carol}]}}"#)),
        set(&["bob_b"])
    );
    // in: membership in a list, or substring of a field (case-sensitive).
    assert_eq!(
        f(format!(
            r#"{{"in":[{{"var":"id"}},[{alice},{erin},99999]]}}"#
        )),
        set(&["alice_a", "erin_e"])
    );
    assert_eq!(
        f(r#"{"in":[{"var":"username"},["bob_b","nobody","admin"]]}"#.into()),
        set(&["bob_b", "admin"])
    );
    assert_eq!(f(r#"{"in":[{"var":"username"},[]]}"#.into()), set(&[]));
    assert_eq!(
        f(r#"{"in":["_c",{"var":"username"}]}"#.into()),
        set(&["carol_c"])
    );
    assert_eq!(
        f(r#"{"in":["min",{"var":"username"}]}"#.into()),
        set(&["admin"])
    );
    assert_eq!(f(r#"{"in":["MIN",{"var":"username"}]}"#.into()), set(&[]));
    // A string where a list belongs is its characters: 'a','b','c' match nobody.
    assert_eq!(f(r#"{"in":[{"var":"username"},"abc"]}"#.into()), set(&[]));
    // and / or / ! / !! / var.
    assert_eq!(
        f(format!(
            r#"{{"and":[{{">":[{{"var":"id"}},{alice}]}},{{"==":[{{"var":"is_active"}},true]}}]}}"#
        )),
        set(&["bob_b", "dave_d", "erin_e"])
    );
    assert_eq!(
        f(
            r#"{"or":[{"==":[{"var":"username"},"admin"]},{"in":["ob",{"var":"username"}]}]}"#
                .into()
        ),
        set(&["admin", "bob_b"])
    );
    assert_eq!(
        f(r#"{"and":[{"==":[{"var":"username"},"admin"]}]}"#.into()),
        set(&["admin"])
    );
    assert_eq!(
        f(r#"{"!":{"==":[{"var":"is_active"},true]}}"#.into()),
        set(&["carol_c"])
    );
    assert_eq!(
        f(r#"{"!!":{"==":[{"var":"username"},"bob_b"]}}"#.into()),
        set(&["bob_b"])
    );
    assert_eq!(f(r#"{"var":"username"}"#.into()), all);
    // Values are coerced as Django does for the field.
    assert_eq!(
        f(format!(r#"{{"==":[{{"var":"id"}},"{bob}"]}}"#)),
        set(&["bob_b"])
    );
    assert_eq!(
        f(r#"{"==":[{"var":"is_active"},0]}"#.into()),
        set(&["carol_c"])
    );
    assert_eq!(
        f(r#"{"in":[{"var":"is_active"},[false]]}"#.into()),
        set(&["carol_c"])
    );
    assert_eq!(
        f(format!(r#"{{"in":["{bob}",{{"var":"id"}}]}}"#)),
        set(&["bob_b"])
    );
    // Superset (decision 8): first_name and last_name.
    assert_eq!(
        f(r#"{"==":[{"var":"last_name"},"Smith"]}"#.into()),
        set(&["alice_a", "carol_c"])
    );
    assert_eq!(
        f(r#"{"in":["ave",{"var":"first_name"}]}"#.into()),
        set(&["dave_d"])
    );
    // Only the first key of an object counts.
    assert_eq!(
        f(r#"{"==":[{"var":"username"},"bob_b"],"!=":"ignored"}"#.into()),
        set(&["bob_b"])
    );
    // Filters, search and paging compose; count follows the filter.
    let r = s.get(
        &format!(
            "/api/users?search=smith&page_size=1&filter={}",
            enc(r#"{"==":[{"var":"is_active"},true]}"#)
        ),
        &admin,
    );
    assert_eq!(r.json()["count"], 1);
    assert_eq!(usernames(&r), ["alice_a"]);
}

#[test]
fn var_alone_is_not_null_on_any_user_column() {
    // Basic auth is not a login: the admin's last_login stays null.
    let s = TestServer::start();
    let admin = Auth::basic(ADMIN, ADMIN_PASSWORD);
    s.register("alice_a");
    assert_eq!(
        s.get("/api/users/1", &admin).json()["last_login"],
        Value::Null
    );
    let f = |rule: &str| filtered(&s, &admin, rule);
    let both = set(&["admin", "alice_a"]);
    for column in [
        "id",
        "username",
        "first_name",
        "last_name",
        "is_active",
        "email",
        "password",
        "is_staff",
        "is_superuser",
        "date_joined",
    ] {
        assert_eq!(f(&format!(r#"{{"var":"{column}"}}"#)), both, "{column}");
        assert_eq!(
            f(&format!(r#"{{"!":{{"var":"{column}"}}}}"#)),
            set(&[]),
            "{column}"
        );
    }
    assert_eq!(f(r#"{"var":"last_login"}"#), set(&["alice_a"]));
    assert_eq!(f(r#"{"!":{"var":"last_login"}}"#), set(&["admin"]));
    assert_eq!(
        f(r#"{"and":[{"var":"last_login"},{"==":[{"var":"username"},"admin"]}]}"#),
        set(&[])
    );
    // Unknown names are still errors (a crash in CVAT).
    let r = s.get(
        &format!("/api/users?filter={}", enc(r#"{"var":"nosuchfield"}"#)),
        &admin,
    );
    assert_filter_error(&r, "filter: 'nosuchfield' term is not supported");
    // In comparisons only the allow-list counts.
    let r = s.get(
        &format!(
            "/api/users?filter={}",
            enc(r#"{"==":[{"var":"email"},"x"]}"#)
        ),
        &admin,
    );
    assert_filter_error(&r, "filter: 'email' term is not supported");
}

#[test]
fn json_logic_filter_errors_are_cvat_arrays() {
    let (s, admin, _) = cast();
    let e = |rule: &str| s.get(&format!("/api/users?filter={}", enc(rule)), &admin);
    assert_filter_error(&e("nojson"), "filter: Json syntax should be used");
    assert_filter_error(&e("{\"==\":"), "filter: Json syntax should be used");
    assert_filter_error(&e("{}"), "filter shouldn't be empty");
    assert_filter_error(&e("[]"), "filter shouldn't be empty");
    assert_filter_error(
        &e(r#"{"==":[{"var":"email"},"x"]}"#),
        "filter: 'email' term is not supported",
    );
    assert_filter_error(
        &e(r#"{"<":[{"var":"date_joined"},1]}"#),
        "filter: 'date_joined' term is not supported",
    );
    assert_filter_error(
        &e(r#"{"in":[{"var":"password"},["x"]]}"#),
        "filter: 'password' term is not supported",
    );
    assert_filter_error(
        &e(r#"{"!=":[{"var":"id"},1]}"#),
        "filter: != operation with [{'var': 'id'}, 1] arguments is not implemented",
    );
    assert_filter_error(
        &e(r#"{"==":[{"var":"id"},1,2]}"#),
        "filter: == operation with [{'var': 'id'}, 1, 2] arguments is not implemented",
    );
    assert_filter_error(
        &e(r#"{"==":[{"x":"id"},1]}"#),
        "filter: 'var' term is not supported",
    );
    assert_filter_error(
        &e(r#"{"==":[{"var":1},1]}"#),
        "filter: 1 term is not supported",
    );
    // Errors come before paging.
    let r = s.get("/api/users?page=99&filter=nojson", &admin);
    assert_filter_error(&r, "filter: Json syntax should be used");
    // An empty filter parameter is no filter.
    let r = s.get("/api/users?filter=", &admin);
    r.expect(200);
    assert_eq!(r.json()["count"], 6);
}

#[test]
fn inputs_that_crashed_cvat_are_400_arrays() {
    let (s, admin, _) = cast();
    let crashers = [
        "1",
        "\"abc\"",
        "null",
        "true",
        "[1]",
        r#"{"and":[]}"#,
        r#"{"and":1}"#,
        r#"{"or":[1]}"#,
        r#"{"!":1}"#,
        r#"{"==":[2,{"var":"id"}]}"#,
        r#"{"==":[{"var":"id"},"abc"]}"#,
        r#"{"var":"nosuchfield"}"#,
        r#"{"var":""}"#,
        r#"{"var":["id"]}"#,
        r#"{"in":[{"var":"id"}]}"#,
        r#"{"<=":[{"var":"id"},1,2]}"#,
        r#"{"in":[{"var":"id"},"abc"]}"#,
        r#"{"==":[{"var":"id"},99999999999999999999]}"#,
        r#"{"==":[{"var":"id"},1e400]}"#,
        r#"{"==":[{"var":"is_active"},"maybe"]}"#,
    ];
    for raw in crashers {
        let r = s.get(&format!("/api/users?filter={}", enc(raw)), &admin);
        assert_eq!(r.status.as_u16(), 400, "{raw}: {}", r.text);
        let j = r.json();
        let arr = j
            .as_array()
            .unwrap_or_else(|| panic!("{raw}: not an array: {}", r.text));
        assert_eq!(arr.len(), 1, "{raw}: {}", r.text);
        assert!(
            arr[0].as_str().unwrap().starts_with("filter"),
            "{raw}: {}",
            r.text
        );
    }
    // Absurd nesting is a syntax error, not a crash.
    let deep = "[".repeat(5000) + &"]".repeat(5000);
    let r = s.get(&format!("/api/users?filter={}", enc(&deep)), &admin);
    assert_filter_error(&r, "filter: Json syntax should be used");
    // The server is still fine.
    s.get("/api/users", &admin).expect(200);
}

#[test]
fn filter_query_strings_as_the_sdk_encodes_them() {
    let (s, admin, u) = cast();
    // json.dumps puts spaces after ':' and ',', urlencode turns them into '+'.
    let rule = r#"{"and": [{"==": [{"var": "username"}, "bob_b"]}, {"==": [{"var": "is_active"}, true]}]}"#;
    let r = s.get(
        &format!("/api/users?filter={}&page_size=10", quote_plus(rule)),
        &admin,
    );
    r.expect(200);
    assert_eq!(ids(&r), vec![u[1].0]);
    let rule = r#"{"in": ["Smith", {"var": "last_name"}]}"#;
    let r = s.get(
        &format!("/api/users?filter={}&sort=-username", quote_plus(rule)),
        &admin,
    );
    assert_eq!(usernames(&r), ["carol_c", "alice_a"]);
    // A '+' inside a value is a space too: "first+name" would be "first name".
    let r = s.get("/api/users?search=alice+smith", &admin);
    assert_eq!(usernames(&r), ["alice_a"]);
    let r = s.get("/api/users?search=alice%2Bsmith", &admin);
    assert_eq!(r.json()["count"], 0);
}

#[test]
fn simple_filters_are_exact_matches() {
    let (s, admin, _) = cast();
    let found = |q: &str| {
        let r = s.get(&format!("/api/users?page_size=all&{q}"), &admin);
        r.expect(200);
        username_set(&r)
    };
    assert_eq!(found("username=bob_b"), set(&["bob_b"]));
    assert_eq!(found("username=bob"), set(&[]));
    assert_eq!(found("username=BOB_B"), set(&[]));
    assert_eq!(found("first_name=Carol"), set(&["carol_c"]));
    assert_eq!(found("first_name=Car"), set(&[]));
    assert_eq!(found("last_name=Smith"), set(&["alice_a", "carol_c"]));
    assert_eq!(
        found(&format!("last_name={}", enc("Großüser"))),
        set(&["dave_d"])
    );
    assert_eq!(found("is_active=False"), set(&["carol_c"]));
    assert_eq!(found("is_active=false"), set(&["carol_c"]));
    assert_eq!(found("is_active=True").len(), 5);
    assert_eq!(found("is_active=true"), found("is_active=True"));
    assert_eq!(found("is_active=True&last_name=Smith"), set(&["alice_a"]));
    assert_eq!(found("last_name=Smith&search=carol"), set(&["carol_c"]));
}

#[test]
fn filters_apply_to_detail_routes() {
    let (s, admin, u) = cast();
    let bob = u[1].0;
    let get = |q: &str| s.get(&format!("/api/users/{bob}?{q}"), &admin);
    get("").expect(200);
    get("search=bob").expect(200);
    assert_detail(&get("search=zzz"), 404, "Not found.");
    assert_filter_error(&get("filter=nojson"), "filter: Json syntax should be used");
    assert_detail(
        &get(&format!("filter={}", enc(r#"{"==":[{"var":"id"},1]}"#))),
        404,
        "Not found.",
    );
    get(&format!(
        "filter={}",
        enc(&format!(r#"{{"==":[{{"var":"id"}},{bob}]}}"#))
    ))
    .expect(200);
    // PATCH and DELETE look up through the filters too, and change nothing.
    let r = s.patch(
        &format!("/api/users/{bob}?search=zzz"),
        &admin,
        json!({"first_name": "Changed"}),
    );
    assert_detail(&r, 404, "Not found.");
    let r = s.delete(&format!("/api/users/{bob}?search=zzz"), &admin);
    assert_detail(&r, 404, "Not found.");
    let r = s.get(&format!("/api/users/{bob}"), &admin);
    assert_eq!(r.json()["first_name"], "Bob");
    // `self` is not a lookup: filters don't apply.
    let r = s.get("/api/users/self?search=zzz", &admin);
    r.expect(200);
    assert_eq!(r.json()["id"], 1);
}

#[test]
fn bad_ids_are_404_not_found() {
    let s = TestServer::start();
    let admin = s.admin();
    let (_, user) = s.register("alice_a");
    for id in [
        "abc",
        "99999",
        "0",
        "-1",
        "99999999999999999999",
        "1e3",
        "%20",
        "1.5",
    ] {
        for auth in [&admin, &user] {
            let r = s.get(&format!("/api/users/{id}"), auth);
            assert_detail(&r, 404, "Not found.");
        }
        let r = s.delete(&format!("/api/users/{id}"), &admin);
        assert_detail(&r, 404, "Not found.");
    }
}

#[test]
fn unmatched_paths_are_html_404() {
    let s = TestServer::start();
    let admin = s.admin();
    for path in [
        "/api/users/",
        "/api/users/self/",
        "/api/users/1/",
        "/api/users/1/extra",
        "/api/userz",
        "/api/users//",
    ] {
        for auth in [&admin, &Auth::None] {
            let r = s.get(path, auth);
            r.expect(404);
            let ct = r.header("content-type").unwrap_or_default();
            assert!(ct.starts_with("text/html"), "{path}: {ct}");
            assert!(r.text.contains("Not Found"), "{path}: {}", r.text);
            assert!(r.header("www-authenticate").is_none(), "{path}");
        }
    }
    // Not a redirect either.
    let r = s.send(
        s.request(Method::PATCH, "/api/users/", &admin)
            .json(&json!({})),
    );
    r.expect(404);
}

// ---------------------------------------------------------------------------------------------
// negotiation, HEAD, OPTIONS, headers

#[test]
fn content_negotiation() {
    let s = TestServer::start();
    let admin = s.admin();
    for accept in [
        "application/json",
        "application/vnd.cvat+json",
        "application/vnd.cvat+json; version=2.0",
        "application/vnd.cvat+json; version=2",
        "application/vnd.cvat+json;version=2.0",
        // DRF's substring test against "2.0" lets these through too.
        "application/vnd.cvat+json; version=",
        "application/vnd.cvat+json; version=.",
        "application/vnd.cvat+json; version=0",
        "application/vnd.cvat+json; version=2.",
        "application/vnd.cvat+json; version=.0",
        "*/*",
        "application/*",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ] {
        for path in ["/api/users", "/api/users/self", "/api/users/1"] {
            let r = get_accept(&s, path, &admin, accept);
            assert_eq!(r.status.as_u16(), 200, "{accept} {path}: {}", r.text);
            assert_eq!(
                r.header("content-type").as_deref(),
                Some("application/vnd.cvat+json"),
                "{accept}"
            );
            r.json();
        }
    }
    for accept in [
        "application/vnd.cvat+json; version=1.0",
        "application/vnd.cvat+json; version=2.1",
        "application/vnd.cvat+json; version=3.0",
    ] {
        let r = get_accept(&s, "/api/users", &admin, accept);
        assert_detail(&r, 406, "Invalid version in \"Accept\" header.");
    }
    for accept in ["text/plain", "image/png", "application/xml"] {
        let r = get_accept(&s, "/api/users/self", &admin, accept);
        assert_detail(&r, 406, "Could not satisfy the request Accept header.");
    }
    // Negotiation precedes authentication: 406, not 401.
    let r = get_accept(&s, "/api/users", &Auth::None, "text/plain");
    assert_detail(&r, 406, "Could not satisfy the request Accept header.");
    let r = get_accept(
        &s,
        "/api/users/self",
        &Auth::None,
        "application/vnd.cvat+json; version=1.0",
    );
    assert_detail(&r, 406, "Invalid version in \"Accept\" header.");
    let r = get_accept(
        &s,
        "/api/users/self",
        &Auth::Token("bad".into()),
        "text/plain",
    );
    r.expect(406);
    // With an acceptable type, anonymous is 401 again.
    let r = get_accept(
        &s,
        "/api/users",
        &Auth::None,
        "application/vnd.cvat+json; version=2.0",
    );
    assert_detail(&r, 401, NOT_AUTHENTICATED);

    // No Accept header at all.
    let Auth::Token(key) = &admin else {
        unreachable!()
    };
    let (status, head, body) = raw_http(
        &s,
        &format!("GET /api/users/self HTTP/1.1\r\nHost: {{host}}\r\nAuthorization: Token {key}\r\nConnection: close\r\n\r\n"),
    );
    assert_eq!(status, 200, "{head}\n{body}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/vnd.cvat+json"),
        "{head}"
    );
    assert!(body.contains("\"username\":\"admin\""), "{body}");
    let (status, _, body) = raw_http(
        &s,
        "GET /api/users HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(status, 401, "{body}");
}

#[test]
fn head_options_and_allow() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, user) = s.register("alice_a");

    for path in [
        "/api/users".to_string(),
        "/api/users/self".to_string(),
        format!("/api/users/{id}"),
    ] {
        let get = s.get(&path, &admin);
        let head = s.send(s.request(Method::HEAD, &path, &admin));
        head.expect(200);
        assert!(head.text.is_empty(), "{path}: {}", head.text);
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
        assert_eq!(
            s.send(s.request(Method::HEAD, &path, &Auth::None))
                .status
                .as_u16(),
            401
        );
    }
    assert_eq!(
        s.send(s.request(Method::HEAD, "/api/users/1", &user))
            .status
            .as_u16(),
        403
    );
    assert_eq!(
        s.send(s.request(Method::HEAD, "/api/users/99999", &user))
            .status
            .as_u16(),
        404
    );

    let parses = json!([
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data",
        "application/offset+octet-stream"
    ]);
    for auth in [&admin, &user] {
        let r = s.send(s.request(Method::OPTIONS, "/api/users", auth));
        r.expect(200);
        assert_eq!(
            r.json(),
            json!({"name": "User List", "description": "", "renders": ["application/vnd.cvat+json", "text/html"], "parses": parses})
        );
        // OPTIONS skips the policy: a non-admin gets the detail metadata of someone else.
        let r = s.send(s.request(Method::OPTIONS, "/api/users/1", auth));
        r.expect(200);
        assert_eq!(
            r.json(),
            json!({"name": "User Instance", "description": "", "renders": ["application/vnd.cvat+json", "text/html"], "parses": parses})
        );
        s.send(s.request(Method::OPTIONS, "/api/users/self", auth))
            .expect(200);
    }
    // But it needs authentication.
    let r = s.send(s.request(Method::OPTIONS, "/api/users", &Auth::None));
    assert_detail(&r, 401, NOT_AUTHENTICATED);

    // Allow and the other standard headers.
    for (path, allow) in [
        ("/api/users".to_string(), "GET, POST, HEAD, OPTIONS"),
        ("/api/users/self".to_string(), "GET, HEAD, OPTIONS"),
        (
            format!("/api/users/{id}"),
            "GET, PATCH, DELETE, HEAD, OPTIONS",
        ),
    ] {
        let r = s.get(&path, &admin);
        assert_eq!(r.header("allow").as_deref(), Some(allow), "{path}");
        assert_eq!(r.header("x-frame-options").as_deref(), Some("DENY"));
        assert_eq!(
            r.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(r.header("referrer-policy").as_deref(), Some("same-origin"));
        assert_eq!(r.header("vary").as_deref(), Some("Accept, Cookie"));
        let r = s.send(s.request(Method::OPTIONS, &path, &admin));
        assert_eq!(r.header("allow").as_deref(), Some(allow), "OPTIONS {path}");
        // DRF sets Allow on every response of the view, errors included.
        let r = s.get(&path, &Auth::None);
        r.expect(401);
        assert_eq!(r.header("allow").as_deref(), Some(allow), "401 {path}");
        let r = s.send(s.request(Method::PUT, &path, &admin));
        r.expect(405);
        assert_eq!(r.header("allow").as_deref(), Some(allow), "405 {path}");
    }
    let r = s.get("/api/users/99999", &admin);
    r.expect(404);
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, PATCH, DELETE, HEAD, OPTIONS")
    );
    let r = s.get("/api/users/1", &user);
    r.expect(403);
    assert_eq!(
        r.header("allow").as_deref(),
        Some("GET, PATCH, DELETE, HEAD, OPTIONS")
    );
}

#[test]
fn datetimes_and_groups_formats() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, _) = s.register("alice_a");
    s.patch(
        &format!("/api/users/{id}"),
        &admin,
        json!({"groups": ["worker", "user", "business"]}),
    )
    .expect(200);
    let j = s.get(&format!("/api/users/{id}"), &admin).json();
    assert_eq!(
        group_set(&j["groups"]),
        set(&["business", "user", "worker"])
    );
    for key in ["last_login", "date_joined"] {
        let t = j[key].as_str().unwrap();
        // 2022-02-24T20:45:19Z or 2022-03-05T09:37:01.636000Z
        assert!(t.len() == 20 || t.len() == 27, "{key}: {t}");
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T', "{key}: {t}");
        if t.len() == 27 {
            assert_eq!(t.as_bytes()[19], b'.', "{t}");
            assert_ne!(&t[20..26], "000000", "zero microseconds are omitted: {t}");
        }
    }
}

#[test]
fn empty_simple_filters_are_ignored() {
    let s = TestServer::start();
    let admin = s.admin();
    s.register("someone1");
    let all = s.get("/api/users", &admin).json()["count"].clone();
    assert_eq!(all, 2);
    for q in ["first_name=", "last_name=", "username=", "is_active="] {
        assert_eq!(
            s.get(&format!("/api/users?{q}"), &admin).json()["count"],
            all,
            "{q}"
        );
    }
    assert_eq!(
        s.get("/api/users?username=someone1", &admin).json()["count"],
        1
    );
}
