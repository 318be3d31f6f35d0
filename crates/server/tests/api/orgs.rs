//! Organization context on the users API (spec §3, §4.3, decision 2) and the organization,
//! membership and invitation endpoints (spec §11).

use serde_json::{json, Value};

use crate::common::*;

fn invite(s: &TestServer, by: &Auth, org: &str, name: &str, role: &str) -> Value {
    let r = s.post(
        &format!("/api/invitations?org={org}"),
        by,
        json!({"role": role, "email": format!("{name}@example.com")}),
    );
    r.expect(201);
    r.json()
}

fn ids(r: &Resp) -> Vec<i64> {
    let mut v: Vec<i64> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    v.sort();
    v
}

/// A world: org1 owned by `owner` (business), with members of every kind, and outsiders.
struct World {
    s: TestServer,
    admin: Auth,
    owner: (i64, Auth),
    member: (i64, Auth),
    outsider: (i64, Auth),
}

fn world() -> World {
    let s = TestServer::start();
    let admin = s.admin();
    let owner = s.register_as(&admin, "owner1", &["business"], false, false);
    s.post(
        "/api/organizations",
        &owner.1,
        json!({"slug": "org1", "name": "Org One"}),
    )
    .expect(201);
    let member = s.register_as(&admin, "member1", &["user"], false, false);
    invite(&s, &owner.1, "org1", "member1", "worker");
    let outsider = s.register_as(&admin, "outsider1", &["user"], false, false);
    World {
        s,
        admin,
        owner,
        member,
        outsider,
    }
}

/// GET / PATCH statuses of `/api/users/{target}` for `who` with `query`.
fn get_patch(s: &TestServer, who: &Auth, target: i64, query: &str) -> (u16, u16) {
    let path = format!("/api/users/{target}{query}");
    let g = s.get(&path, who).status.as_u16();
    let p = s
        .patch(&path, who, json!({"first_name": "z"}))
        .status
        .as_u16();
    (g, p)
}

#[test]
fn non_admin_members_by_privilege_and_role() {
    let w = world();
    let s = &w.s;
    // Every privilege × every non-owner role: the same cells (org roles never matter for users).
    for (i, privilege) in ["business", "user", "worker"].iter().enumerate() {
        for (j, role) in ["maintainer", "supervisor", "worker"].iter().enumerate() {
            let name = format!("req{i}{j}x");
            let (id, auth) = s.register_as(&w.admin, &name, &[privilege], false, false);
            invite(s, &w.owner.1, "org1", &name, role);
            let org = "?org=org1";
            let list = s.get(&format!("/api/users{org}"), &auth);
            list.expect(200);
            assert!(ids(&list).contains(&w.member.0) && ids(&list).contains(&id));
            assert!(!ids(&list).contains(&w.outsider.0));
            // Basic fields only for list items of a non-staff requester.
            assert_eq!(list.json()["results"][0].as_object().unwrap().len(), 5);
            s.get(&format!("/api/users/self{org}"), &auth).expect(200);
            assert_eq!(
                get_patch(s, &auth, id, org),
                (200, 200),
                "{privilege}/{role} self"
            );
            assert_eq!(
                get_patch(s, &auth, w.member.0, org),
                (200, 403),
                "{privilege}/{role} other member"
            );
            assert_eq!(
                get_patch(s, &auth, w.outsider.0, org),
                (404, 404),
                "{privilege}/{role} outsider"
            );
            // The same requester in the personal workspace: only itself.
            let sandbox = s.get("/api/users", &auth);
            assert_eq!(ids(&sandbox), vec![id]);
            assert_eq!(get_patch(s, &auth, w.member.0, ""), (403, 403));
            // Another member seen in the org is shown with the basic fields.
            let other = s
                .get(&format!("/api/users/{}{org}", w.member.0), &auth)
                .json();
            assert_eq!(other.as_object().unwrap().len(), 5);
        }
    }
    // No privilege at all, still a member: same cells.
    let (id, auth) = s.register_as(&w.admin, "nogroup1", &[], false, false);
    invite(s, &w.owner.1, "org1", "nogroup1", "worker");
    assert_eq!(get_patch(s, &auth, id, "?org=org1"), (200, 200));
    assert_eq!(get_patch(s, &auth, w.member.0, "?org=org1"), (200, 403));
}

#[test]
fn non_members_are_stopped_at_the_gate() {
    let w = world();
    let s = &w.s;
    let forbidden = "You should be an active member in the organization.";
    for q in ["?org=org1", "?org_id=1"] {
        for path in ["/api/users", "/api/users/self"] {
            let r = s.get(&format!("{path}{q}"), &w.outsider.1);
            r.expect(403);
            assert_eq!(r.json()["detail"], forbidden);
        }
        assert_eq!(get_patch(s, &w.outsider.1, w.outsider.0, q), (403, 403));
        assert_eq!(get_patch(s, &w.outsider.1, w.member.0, q), (403, 403));
    }
    let r = s.send(
        s.request(reqwest::Method::GET, "/api/users", &w.outsider.1)
            .header("X-Organization", "org1"),
    );
    r.expect(403);
    // An admin-group user that is not a superuser is gated like anyone else.
    let (_, staff_admin) = s.register_as(&w.admin, "staffadm", &["admin"], true, false);
    s.get("/api/users?org=org1", &staff_admin).expect(403);
    assert_eq!(
        get_patch(s, &staff_admin, w.member.0, "?org=org1"),
        (403, 403)
    );
}

#[test]
fn admins_in_and_outside_the_organization() {
    let w = world();
    let s = &w.s;
    // The superuser admin is not a member: passes the gate, sees members, 404 for itself.
    let list = s.get("/api/users?org=org1", &w.admin);
    list.expect(200);
    assert_eq!(ids(&list), vec![w.owner.0, w.member.0]);
    assert_eq!(
        list.json()["results"][0].as_object().unwrap().len(),
        FULL_KEYS.len()
    );
    s.get("/api/users/self?org=org1", &w.admin).expect(200);
    assert_eq!(get_patch(s, &w.admin, 1, "?org=org1"), (404, 404));
    assert_eq!(get_patch(s, &w.admin, w.member.0, "?org=org1"), (200, 200));
    assert_eq!(
        get_patch(s, &w.admin, w.outsider.0, "?org=org1"),
        (404, 404)
    );
    s.delete(&format!("/api/users/{}?org=org1", w.outsider.0), &w.admin)
        .expect(404);
    // An admin that is a member behaves the same for others and can reach itself.
    let (adm2, adm2_auth) = s.register_as(&w.admin, "admin2x", &["admin"], true, true);
    invite(s, &w.owner.1, "org1", "admin2x", "worker");
    assert_eq!(get_patch(s, &adm2_auth, adm2, "?org=org1"), (200, 200));
    assert_eq!(
        get_patch(s, &adm2_auth, w.member.0, "?org=org1"),
        (200, 200)
    );
    // Sandbox: everyone.
    let all = s.get("/api/users?page_size=all", &w.admin);
    assert_eq!(all.json()["count"], 5);
    // An empty selector is the personal workspace restricted to users without memberships.
    let personal = s.get("/api/users?org=&page_size=all", &w.admin);
    assert_eq!(ids(&personal), vec![1, w.outsider.0]);
    let r = s.send(
        s.request(reqwest::Method::GET, "/api/users/self", &w.member.1)
            .header("X-Organization", ""),
    );
    r.expect(200);
    let r = s.send(
        s.request(reqwest::Method::GET, "/api/users", &w.member.1)
            .header("X-Organization", ""),
    );
    assert_eq!(
        r.json()["count"],
        0,
        "a member has memberships, so the personal list is empty"
    );
    // Delete cells: a member cannot delete another member; the superuser admin can.
    s.delete(
        &format!("/api/users/{}?org=org1", w.member.0),
        &w.outsider.1,
    )
    .expect(403);
    s.delete(&format!("/api/users/{}?org=org1", adm2), &w.member.1)
        .expect(403);
    s.delete(&format!("/api/users/{}?org=org1", adm2), &w.admin)
        .expect(204);
    // A member deletes itself in the organization's context.
    s.delete(&format!("/api/users/{}?org=org1", w.member.0), &w.member.1)
        .expect(204);
}

#[test]
fn an_empty_organization_header_gives_way_to_the_query_parameters() {
    let w = world();
    let s = &w.s;
    let in_org1 = s.get("/api/users?org=org1", &w.admin);
    in_org1.expect(200);
    for path in ["/api/users?org_id=1", "/api/users?org=org1"] {
        let r = s.send(
            s.request(reqwest::Method::GET, path, &w.admin)
                .header("X-Organization", ""),
        );
        r.expect(200);
        assert_eq!(
            ids(&r),
            ids(&in_org1),
            "{path} with an empty X-Organization"
        );
    }
}

#[test]
fn selector_errors_are_json_400() {
    let w = world();
    let s = &w.s;
    let cases = [
        ("/api/users?org=org1&org_id=1", "You cannot specify \"org_id\" query parameter with \"org\" query parameter or \"X-Organization\" HTTP header at the same time."),
        ("/api/users?org_id=", "You cannot specify \"org_id\" query parameter with \"org\" query parameter or \"X-Organization\" HTTP header at the same time."),
        ("/api/users?org=nope", "nope organization does not exist."),
        ("/api/users?org_id=999", "999 organization does not exist."),
        ("/api/users?org_id=abc", "Invalid \"org_id\" query parameter: \"abc\" is not an integer."),
        ("/api/users?org_id=99999999999999999999999", "Invalid \"org_id\" query parameter: \"99999999999999999999999\" is not an integer."),
    ];
    for (path, msg) in cases {
        let rb = s.request(reqwest::Method::GET, path, &w.admin);
        // The second case conflicts through the header.
        let rb = if path.ends_with("org_id=") {
            rb.header("X-Organization", "org1")
        } else {
            rb
        };
        let r = s.send(rb);
        r.expect(400);
        assert_eq!(
            r.header("content-type").unwrap(),
            "application/vnd.cvat+json"
        );
        assert_eq!(r.json()["detail"], msg, "{path}");
    }
    let r = s.send(
        s.request(reqwest::Method::GET, "/api/users?org=org1", &w.admin)
            .header("X-Organization", "org2"),
    );
    r.expect(400);
    assert_eq!(
        r.json()["detail"],
        "You cannot specify \"org\" query parameter and \"X-Organization\" HTTP header with different values."
    );
    // Same value twice is fine; `org_id=` alone is the sandbox; ` 1` is 1 as in Python.
    let r = s.send(
        s.request(reqwest::Method::GET, "/api/users?org=org1", &w.admin)
            .header("X-Organization", "org1"),
    );
    r.expect(200);
    assert_eq!(s.get("/api/users?org_id=", &w.admin).json()["count"], 4);
    assert_eq!(s.get("/api/users?org_id=%201", &w.admin).json()["count"], 2);
}

#[test]
fn organizations_crud_and_rules() {
    let w = world();
    let s = &w.s;
    // Validation messages.
    let r = s.post("/api/organizations", &w.owner.1, json!({}));
    r.expect(400);
    assert_eq!(r.json(), json!({"slug": ["This field is required."]}));
    let r = s.post(
        "/api/organizations",
        &w.owner.1,
        json!({"slug": "bad slug"}),
    );
    assert_eq!(
        r.json(),
        json!({"slug": ["Enter a valid \"slug\" consisting of letters, numbers, underscores or hyphens."]})
    );
    let r = s.post("/api/organizations", &w.owner.1, json!({"slug": "org1"}));
    assert_eq!(
        r.json(),
        json!({"slug": ["organization with this slug already exists."]})
    );
    let r = s.post(
        "/api/organizations",
        &w.owner.1,
        json!({"slug": "x".repeat(17)}),
    );
    assert_eq!(
        r.json(),
        json!({"slug": ["Ensure this field has no more than 16 characters."]})
    );
    // A business user may own several; a user only one; a worker none.
    s.post("/api/organizations", &w.owner.1, json!({"slug": "org2"}))
        .expect(201);
    let made = s.post(
        "/api/organizations",
        &w.outsider.1,
        json!({"slug": "own1", "description": "d"}),
    );
    made.expect(201);
    let made = made.json();
    assert_eq!(made["name"], "own1", "name defaults to the slug");
    assert_eq!(made["owner"]["id"], w.outsider.0);
    assert_eq!(made["contact"], json!({}));
    s.post("/api/organizations", &w.outsider.1, json!({"slug": "own2"}))
        .expect(403);
    let (_, worker) = s.register_as(&w.admin, "worker9", &["worker"], false, false);
    s.post("/api/organizations", &worker, json!({"slug": "wrk"}))
        .expect(403);
    // The creator is an active owner member.
    let m = s.get("/api/memberships?org=own1", &w.outsider.1).json();
    assert_eq!(m["count"], 1);
    assert_eq!(m["results"][0]["role"], "owner");
    assert_eq!(m["results"][0]["is_active"], true);
    // Lists: a plain array; admins see all, others what they own or belong to.
    let all = s.get("/api/organizations", &w.admin).json();
    let slugs: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, vec!["own1", "org2", "org1"]);
    let mine = s.get("/api/organizations", &w.member.1).json();
    assert_eq!(mine.as_array().unwrap().len(), 1);
    // Hidden organizations are 404; members may view; only owner/maintainer update, owner deletes.
    let org1 = 1;
    s.get(&format!("/api/organizations/{org1}"), &w.outsider.1)
        .expect(404);
    s.get(&format!("/api/organizations/{org1}"), &w.member.1)
        .expect(200);
    s.patch(
        &format!("/api/organizations/{org1}?org=org1"),
        &w.member.1,
        json!({"name": "x"}),
    )
    .expect(403);
    let r = s.patch(
        &format!("/api/organizations/{org1}"),
        &w.owner.1,
        json!({"name": "Renamed"}),
    );
    r.expect(200);
    assert_eq!(r.json()["name"], "Renamed");
    s.delete(&format!("/api/organizations/{org1}?org=org1"), &w.member.1)
        .expect(403);
    s.delete(&format!("/api/organizations/{org1}"), &w.owner.1)
        .expect(204);
    s.get(&format!("/api/organizations/{org1}"), &w.admin)
        .expect(404);
    // Its memberships went with it.
    assert!(s.get("/api/memberships", &w.member.1).json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .all(|m| m["organization"] != org1));
}

#[test]
fn memberships_and_invitations() {
    let w = world();
    let s = &w.s;
    let (maint, maint_auth) = s.register_as(&w.admin, "maint1", &["user"], false, false);
    invite(s, &w.owner.1, "org1", "maint1", "maintainer");
    let (sup, sup_auth) = s.register_as(&w.admin, "super1", &["user"], false, false);
    let inv = invite(s, &maint_auth, "org1", "super1", "supervisor");
    assert_eq!(inv["role"], "supervisor");
    assert_eq!(inv["owner"]["id"], maint);
    assert_eq!(inv["user"]["id"], sup);
    assert_eq!(inv["organization"], 1);
    assert_eq!(inv["key"].as_str().unwrap().len(), 64);
    // Maintainers cannot invite maintainers; workers cannot invite; owners cannot invite owners.
    let r = s.post(
        "/api/invitations?org=org1",
        &maint_auth,
        json!({"role": "maintainer", "email": "outsider1@example.com"}),
    );
    r.expect(403);
    s.post(
        "/api/invitations?org=org1",
        &sup_auth,
        json!({"role": "worker", "email": "outsider1@example.com"}),
    )
    .expect(403);
    s.post(
        "/api/invitations?org=org1",
        &w.owner.1,
        json!({"role": "owner", "email": "outsider1@example.com"}),
    )
    .expect(403);
    let r = s.post(
        "/api/invitations?org=org1",
        &w.owner.1,
        json!({"role": "worker", "email": "member1@example.com"}),
    );
    r.expect(400);
    assert_eq!(
        r.json(),
        json!(["The user is a member of the organization already."])
    );
    let r = s.post(
        "/api/invitations?org=org1",
        &w.owner.1,
        json!({"role": "boss", "email": "x@example.com"}),
    );
    assert_eq!(
        r.json(),
        json!({"role": ["\"boss\" is not a valid choice."]})
    );
    // Invitation lists: org staff see all of the org's, a plain member only its own.
    assert_eq!(
        s.get("/api/invitations?org=org1", &w.owner.1).json()["count"],
        3
    );
    assert_eq!(
        s.get("/api/invitations?org=org1", &w.member.1).json()["count"],
        1
    );
    assert_eq!(s.get("/api/invitations", &w.admin).json()["count"], 3);
    // Memberships: members see the org's active ones; roles change by the rules.
    let ms = s.get("/api/memberships?org=org1", &w.member.1).json();
    assert_eq!(ms["count"], 4);
    let id_of = |uid: i64| {
        ms["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == uid)
            .unwrap()["id"]
            .as_i64()
            .unwrap()
    };
    let (m_member, m_sup, m_maint, m_owner) = (
        id_of(w.member.0),
        id_of(sup),
        id_of(maint),
        id_of(w.owner.0),
    );
    let path = |id: i64| format!("/api/memberships/{id}?org=org1");
    s.patch(&path(m_member), &w.member.1, json!({"role": "supervisor"}))
        .expect(403);
    let r = s.patch(&path(m_member), &maint_auth, json!({"role": "supervisor"}));
    r.expect(200);
    assert_eq!(r.json()["role"], "supervisor");
    s.patch(&path(m_maint), &maint_auth, json!({"role": "worker"}))
        .expect(403);
    s.patch(&path(m_owner), &maint_auth, json!({"role": "worker"}))
        .expect(403);
    s.patch(&path(m_maint), &w.owner.1, json!({"role": "worker"}))
        .expect(200);
    let r = s.patch(&path(m_sup), &w.owner.1, json!({"role": "chief"}));
    assert_eq!(
        r.json(),
        json!({"role": ["\"chief\" is not a valid choice."]})
    );
    // Leaving: one's own membership from the personal workspace; never the owner's.
    s.delete(&format!("/api/memberships/{m_sup}"), &sup_auth)
        .expect(204);
    s.get("/api/users?org=org1", &sup_auth).expect(403);
    s.delete(&format!("/api/memberships/{m_owner}"), &w.owner.1)
        .expect(403);
    // A membership of another organization than the selected one is not found.
    s.post("/api/organizations", &w.outsider.1, json!({"slug": "own1"}))
        .expect(201);
    s.get(
        &format!("/api/memberships/{m_member}?org=own1"),
        &w.outsider.1,
    )
    .expect(404);
}

#[test]
fn deleting_a_user_cascades_and_leaves_its_organizations_ownerless() {
    let w = world();
    let s = &w.s;
    let owner_id = w.owner.0;
    s.delete(&format!("/api/users/{owner_id}"), &w.admin)
        .expect(204);
    let org = s.get("/api/organizations/1", &w.admin).json();
    assert_eq!(org["owner"], Value::Null);
    let ms = s.get("/api/memberships?org=org1", &w.admin).json();
    assert_eq!(ms["count"], 1, "only the invited member remains");
    assert_eq!(ms["results"][0]["user"]["id"], w.member.0);
    // The member's invitation was sent by the deleted owner: it stays, ownerless.
    let inv = s.get("/api/invitations?org=org1", &w.admin).json();
    assert_eq!(inv["results"][0]["owner"], Value::Null);
    // Deleting the member removes its membership and invitation.
    s.delete(&format!("/api/users/{}", w.member.0), &w.admin)
        .expect(204);
    assert_eq!(
        s.get("/api/memberships?org=org1", &w.admin).json()["count"],
        0
    );
    assert_eq!(
        s.get("/api/invitations?org=org1", &w.admin).json()["count"],
        0
    );
}

#[test]
fn a_thousand_organization_search_terms_work_when_repeated_and_get_a_400_when_distinct() {
    let s = TestServer::start();
    let admin = s.admin();
    s.post(
        "/api/organizations",
        &admin,
        json!({"slug": "alpha", "name": "Alpha Lab"}),
    )
    .expect(201);
    s.post(
        "/api/organizations",
        &admin,
        json!({"slug": "beta", "name": "Beta Lab"}),
    )
    .expect(201);
    let slugs = |q: &str| {
        let r = s.get(&format!("/api/organizations?search={q}"), &admin);
        r.expect(200);
        let mut v: Vec<String> = r
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["slug"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(slugs(&"al+".repeat(1000)), ["alpha"]);
    assert_eq!(slugs(&"la+b+".repeat(500)), ["alpha", "beta"]);
    let distinct = (0..1000)
        .map(|i| format!("q{i}"))
        .collect::<Vec<_>>()
        .join("+");
    let r = s.get(&format!("/api/organizations?search={distinct}"), &admin);
    r.expect(400);
    assert_eq!(
        r.json(),
        json!(["search: at most 100 different terms are supported, got 1000"])
    );
}
