//! Several server processes on one database, as behind a load balancer (issue 4). Run
//! against PostgreSQL when `CVAT_TEST_POSTGRES` is set (the test command does both engines);
//! on SQLite the replicas share one database file.

use std::sync::{Arc, Barrier};

use serde_json::json;

use crate::common::*;

#[test]
fn credentials_made_on_one_replica_work_on_the_other() {
    let a = TestServer::start();
    let b = a.replica(&[]);
    // Token from a login on A.
    let token = a.admin();
    b.get("/api/users/self", &token).expect(200);
    // Session and CSRF cookies from A, unsafe request on B.
    let login = a.login(ADMIN, ADMIN_PASSWORD);
    let (sid, csrf) = (
        login.cookie("sessionid").unwrap(),
        login.cookie("csrftoken").unwrap(),
    );
    let r = b.send(
        b.request(
            reqwest::Method::PATCH,
            "/api/users/1",
            &Auth::Session(sid, csrf.clone()),
        )
        .header("X-CSRFToken", csrf)
        .json(&json!({"first_name": "Both"})),
    );
    r.expect(200);
    assert_eq!(a.get("/api/users/1", &token).json()["first_name"], "Both");
    // A signed URL minted by A verifies on B: the secret is kept with the data.
    let signed = a.post(
        "/api/auth/signing",
        &token,
        json!({"url": "/api/users/self"}),
    );
    signed.expect(200);
    let url = signed.json().as_str().unwrap().to_string();
    let (origin, rest) = url.split_once("/api/").unwrap();
    let host = origin.trim_start_matches("http://").to_string();
    // Through a load balancer both replicas see the same Host: the one the URL was made for.
    let r = b.send(
        b.request(reqwest::Method::GET, &format!("/api/{rest}"), &Auth::None)
            .header("Host", host),
    );
    r.expect(200);
    assert_eq!(r.json()["username"], ADMIN);
}

#[test]
fn deactivation_and_deletion_take_effect_on_the_other_replica_at_once() {
    let a = TestServer::start();
    let b = a.replica(&[]);
    let admin = a.admin();
    let (id, user) = a.register("replica_user");
    let basic = Auth::basic("replica_user", PASSWORD);
    b.get("/api/users/self", &user).expect(200);
    b.get("/api/users/self", &basic).expect(200);
    a.set_active(&admin, id, false);
    b.assert_me_refused(&user, "User inactive or deleted.");
    b.get("/api/users/self", &basic).expect(401);
    a.set_active(&admin, id, true);
    b.get("/api/users/self", &user).expect(200);
    a.delete(&format!("/api/users/{id}"), &admin).expect(204);
    b.assert_me_refused(&user, "Invalid token.");
}

#[test]
fn concurrent_patches_through_both_replicas_lose_no_acknowledged_write() {
    let a = TestServer::start();
    let b = a.replica(&[]);
    let admin = a.admin();
    // Each writer owns one field of one user; every acknowledged value must be the final one.
    let (id, _) = a.register("contended");
    let servers = [&a, &b];
    let rounds = 25;
    let barrier = Arc::new(Barrier::new(4));
    std::thread::scope(|scope| {
        for (w, field) in ["first_name", "last_name", "email", "username"]
            .iter()
            .enumerate()
        {
            let server = servers[w % 2];
            let admin = admin.clone();
            let barrier = barrier.clone();
            scope.spawn(move || {
                barrier.wait();
                for i in 0..rounds {
                    let value = if *field == "email" {
                        format!("v{i}@example.com")
                    } else {
                        format!("v{w}x{i}")
                    };
                    let r = server.patch(
                        &format!("/api/users/{id}"),
                        &admin,
                        json!({ *field: value }),
                    );
                    assert_eq!(r.status.as_u16(), 200, "{field}: {}", r.text);
                    assert_eq!(r.json()[*field], value);
                }
            });
        }
    });
    let last = rounds - 1;
    let user = b.get(&format!("/api/users/{id}"), &admin).json();
    assert_eq!(user["first_name"], format!("v0x{last}"));
    assert_eq!(user["last_name"], format!("v1x{last}"));
    assert_eq!(user["email"], format!("v{last}@example.com"));
    assert_eq!(user["username"], format!("v3x{last}"));
}

#[test]
fn replicas_starting_together_on_an_empty_database_share_one_schema() {
    let db = TestDb::new();
    let url = db.url.clone();
    let servers: Vec<TestServer> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..3)
            .map(|_| {
                let url = url.clone();
                scope.spawn(move || {
                    let db = TestDb::shared(&url);
                    TestServer::serve(db, &[])
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // All three answer, and a user registered on one is seen by the others.
    let r = servers[0].post(
        "/api/auth/register",
        &Auth::None,
        json!({"username": "first_user", "password1": PASSWORD, "password2": PASSWORD}),
    );
    r.expect(201);
    for s in &servers {
        s.get("/api/users/self", &Auth::basic("first_user", PASSWORD))
            .expect(200);
        s.get("/api/server/health", &Auth::None).expect(200);
    }
    drop(db);
}
