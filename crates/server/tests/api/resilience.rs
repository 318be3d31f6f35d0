//! Attacking our own server: `kill -9` during writes, 32 concurrent clients, the privilege
//! escalation matrix, slow clients and the connection cap.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::Rng;
use reqwest::Method;
use serde_json::{json, Value};

use crate::common::*;

/// A response, or `None` when the connection failed (no answer: the server may or may not
/// have applied the request).
fn try_send(rb: reqwest::blocking::RequestBuilder) -> Option<Resp> {
    let r = rb.send().ok()?;
    let status = r.status();
    let headers = r.headers().clone();
    let text = r.text().ok()?;
    Some(Resp {
        status,
        headers,
        text,
    })
}

fn sorted_groups(v: &Value) -> Vec<String> {
    let mut g: Vec<String> = v
        .as_array()
        .unwrap_or_else(|| panic!("groups: {v}"))
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect();
    g.sort();
    g
}

// ---------------------------------------------------------------------------------------
// Crash safety

/// The groups of version `n` of a user in the crash test.
fn crash_groups(n: u64) -> Vec<String> {
    match n % 3 {
        0 => vec!["user".into()],
        1 => vec!["worker".into()],
        _ => vec!["business".into(), "worker".into()],
    }
}

fn crash_patch(n: u64) -> Value {
    json!({"first_name": format!("f{n}"), "last_name": format!("l{n}"), "groups": crash_groups(n)})
}

/// What the clients know about one user.
#[derive(Debug, Default, Clone)]
struct Known {
    id: i64,
    /// The last version a 2xx acknowledged.
    acked: u64,
    /// A version sent without an answer (the kill came first): it may or may not be there.
    unknown: Option<u64>,
    next: u64,
    deleted: bool,
    delete_unknown: bool,
    /// Seen gone after a restart.
    gone: bool,
}

#[test]
fn kill_9_during_writes_loses_no_acknowledged_change_and_half_writes_nothing() {
    const USERS: usize = 24;
    const THREADS: usize = 6;
    const CYCLES: usize = 6;
    let mut s = TestServer::start();
    let admin = s.admin();
    let mut known: Vec<Known> = (0..USERS)
        .map(|i| {
            let (id, _) = s.register(&format!("crash{i:02}"));
            s.patch(&format!("/api/users/{id}"), &admin, crash_patch(0))
                .expect(200);
            Known {
                id,
                next: 1,
                ..Default::default()
            }
        })
        .collect();
    let (mut checks, mut deletes_seen, mut unanswered_applied, mut sent) = (0u64, 0u64, 0u64, 0u64);
    let acked = AtomicU64::new(0);
    for cycle in 0..CYCLES {
        let state = Mutex::new(std::mem::take(&mut known));
        let stop = AtomicBool::new(false);
        let sent_now = AtomicU64::new(0);
        let pid = s.pid();
        std::thread::scope(|scope| {
            for t in 0..THREADS {
                let (s, admin, state, stop, sent_now, acked) =
                    (&s, &admin, &state, &stop, &sent_now, &acked);
                scope.spawn(move || {
                    let mut rng = rand::thread_rng();
                    let mine: Vec<usize> = (t..USERS).step_by(THREADS).collect();
                    while !stop.load(Ordering::Relaxed) {
                        let i = mine[rng.gen_range(0..mine.len())];
                        let (id, version, deleted) = {
                            let st = state.lock().unwrap();
                            (st[i].id, st[i].next, st[i].deleted || st[i].delete_unknown)
                        };
                        if deleted {
                            if mine.iter().all(|&j| {
                                let st = state.lock().unwrap();
                                st[j].deleted || st[j].delete_unknown
                            }) {
                                return;
                            }
                            continue;
                        }
                        let delete = rng.gen_range(0..40) == 0;
                        let path = format!("/api/users/{id}");
                        let rb = if delete {
                            s.request(Method::DELETE, &path, admin)
                        } else {
                            s.request(Method::PATCH, &path, admin)
                                .json(&crash_patch(version))
                        };
                        sent_now.fetch_add(1, Ordering::Relaxed);
                        let answer = try_send(rb);
                        let mut st = state.lock().unwrap();
                        let k = &mut st[i];
                        match answer {
                            None => {
                                // The server is gone: this request's fate is unknown.
                                if delete {
                                    k.delete_unknown = true;
                                } else {
                                    k.unknown = Some(version);
                                }
                                return;
                            }
                            Some(r) => {
                                assert!(r.status.as_u16() < 500, "{}: {}", r.status, r.text);
                                acked.fetch_add(1, Ordering::Relaxed);
                                if delete {
                                    r.expect(204);
                                    k.deleted = true;
                                } else {
                                    r.expect(200);
                                    let body = r.json();
                                    assert_eq!(body["first_name"], format!("f{version}"));
                                    assert_eq!(
                                        sorted_groups(&body["groups"]),
                                        crash_groups(version)
                                    );
                                    k.acked = version;
                                    k.next = version + 1;
                                }
                            }
                        }
                    }
                });
            }
            // Let the writers run, then kill the server in the middle of them.
            std::thread::sleep(Duration::from_millis(
                rand::thread_rng().gen_range(400..1500),
            ));
            let killed = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status()
                .unwrap();
            assert!(killed.success());
            stop.store(true, Ordering::Relaxed);
        });
        sent += sent_now.load(Ordering::Relaxed);
        known = state.into_inner().unwrap();
        // Restart on the same database and check every user.
        let db = s.stop();
        s = TestServer::serve(db, &[]);
        for k in known.iter_mut() {
            let r = s.get(&format!("/api/users/{}", k.id), &admin);
            checks += 1;
            match r.status.as_u16() {
                404 => {
                    assert!(
                        k.deleted || k.delete_unknown,
                        "cycle {cycle}: user {} vanished without a delete: {k:?}",
                        k.id
                    );
                    if !k.deleted {
                        k.deleted = true;
                        unanswered_applied += 1;
                    }
                    if !k.gone {
                        k.gone = true;
                        deletes_seen += 1;
                    }
                }
                200 => {
                    assert!(
                        !k.deleted,
                        "cycle {cycle}: acknowledged delete undone: {k:?}"
                    );
                    let body = r.json();
                    let first = body["first_name"].as_str().unwrap();
                    let n: u64 = first
                        .strip_prefix('f')
                        .and_then(|v| v.parse().ok())
                        .unwrap_or_else(|| panic!("cycle {cycle}: {body}"));
                    // One PATCH is all or nothing: names and groups of the same version.
                    assert_eq!(
                        body["last_name"],
                        format!("l{n}"),
                        "cycle {cycle}: half-written {body}"
                    );
                    assert_eq!(
                        sorted_groups(&body["groups"]),
                        crash_groups(n),
                        "cycle {cycle}: half-written {body}"
                    );
                    assert!(
                        n == k.acked || Some(n) == k.unknown,
                        "cycle {cycle}: version {n} found, acknowledged {} (unanswered {:?}): {body}",
                        k.acked,
                        k.unknown
                    );
                    if n != k.acked {
                        unanswered_applied += 1;
                    }
                    k.acked = n;
                    k.next = n + 1;
                    k.unknown = None;
                    k.delete_unknown = false;
                }
                other => panic!("cycle {cycle}: {other} {}", r.text),
            }
        }
        if known.iter().filter(|k| !k.deleted).count() < USERS / 2 {
            // Keep enough users to write to: recreate the deleted ones' places.
            for (i, k) in known.iter_mut().enumerate() {
                if k.deleted {
                    let (id, _) = s.register(&format!("crash{i:02}c{cycle}"));
                    s.patch(&format!("/api/users/{id}"), &admin, crash_patch(0))
                        .expect(200);
                    *k = Known {
                        id,
                        next: 1,
                        ..Default::default()
                    };
                }
            }
        }
    }
    // The admin token written before the first kill still works.
    s.get("/api/users/self", &admin).expect(200);
    eprintln!(
        "crash test: {CYCLES} kill -9 cycles, {sent} writes sent, {} acknowledged, {checks} users \
         checked after restarts, {deletes_seen} deletions, {unanswered_applied} unanswered writes \
         found applied",
        acked.load(Ordering::Relaxed)
    );
}

// ---------------------------------------------------------------------------------------
// Concurrency

/// Failures seen by any thread (asserting inside threads would hide the others).
#[derive(Default)]
struct Problems(Mutex<Vec<String>>);

impl Problems {
    fn check(&self, what: &str, r: Option<&Resp>) {
        match r {
            None => self.0.lock().unwrap().push(format!("{what}: no answer")),
            Some(r) if r.status.as_u16() >= 500 => self
                .0
                .lock()
                .unwrap()
                .push(format!("{what}: {} {}", r.status, r.text)),
            _ => {}
        }
    }
}

/// Sends with the first admin token that still works (guards demote and deactivate admins).
fn as_admin(
    _s: &TestServer,
    admins: &[Auth],
    start: usize,
    make: impl Fn(&Auth) -> reqwest::blocking::RequestBuilder,
) -> Option<Resp> {
    let mut last = None;
    for i in 0..admins.len() {
        let r = try_send(make(&admins[(start + i) % admins.len()]))?;
        // A demoted guard is refused: 401/403, or — still staff but no longer admin — decision
        // 5's 400. Try the next admin then.
        let demoted =
            r.status.as_u16() == 400 && r.text.contains("You do not have permissions to access");
        if ![401, 403].contains(&r.status.as_u16()) && !demoted {
            return Some(r);
        }
        last = Some(r);
    }
    last
}

/// Fields a writer owns, the last acknowledged value, and values sent without an answer.
#[derive(Default, Debug)]
struct Owned {
    acked: Option<Value>,
    unanswered: Vec<Value>,
}

#[test]
fn thirty_two_clients_no_5xx_no_lost_writes_invariants_hold() {
    let secs: u64 = std::env::var("CVAT_TEST_LOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let s = TestServer::start();
    let a0 = s.admin();
    // Admins the guards fight over; everyone needing admin rights uses whichever still works.
    let mut admins = vec![a0.clone()];
    let mut admin_ids = vec![1i64];
    for g in 0..3 {
        let (id, auth) = s.register_as(&a0, &format!("guard{g}"), &["admin"], true, true);
        admins.push(auth);
        admin_ids.push(id);
    }
    s.post(
        "/api/organizations",
        &a0,
        json!({"slug": "load", "name": "Load"}),
    )
    .expect(201);
    let writers: Vec<(i64, Auth)> = (0..8).map(|i| s.register(&format!("selfw{i}"))).collect();
    let owned_by_admin: Vec<i64> = (0..4)
        .map(|i| s.register(&format!("adminw{i}")).0)
        .collect();
    let login_users = ["loginu0", "loginu1"];
    for u in login_users {
        s.register(u);
    }

    let problems = Problems::default();
    let requests = AtomicU64::new(0);
    let conflicts = AtomicU64::new(0);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let self_state: Vec<Mutex<Owned>> = (0..8).map(|_| Mutex::new(Owned::default())).collect();
    let admin_state: Vec<Mutex<Owned>> = (0..4).map(|_| Mutex::new(Owned::default())).collect();
    let fresh: Mutex<Vec<(i64, String)>> = Mutex::new(Vec::new());
    let deleted: Mutex<BTreeSet<i64>> = Mutex::new(BTreeSet::new());
    let keys: Mutex<BTreeMap<&str, Vec<String>>> = Mutex::new(BTreeMap::new());
    let fresh_names = AtomicU64::new(0);

    std::thread::scope(|scope| {
        let (s, admins, problems, requests) = (&s, &admins, &problems, &requests);
        let running = move || Instant::now() < deadline;
        let count = move || requests.fetch_add(1, Ordering::Relaxed);
        // 8 writers, each owning the names of its own user (as itself).
        for (i, (id, auth)) in writers.iter().enumerate() {
            let state = &self_state[i];
            scope.spawn(move || {
                let mut n = 0;
                while running() {
                    n += 1;
                    let body = json!({"first_name": format!("F{i}-{n}"), "last_name": format!("L{i}-{n}")});
                    count();
                    let r = try_send(s.request(Method::PATCH, &format!("/api/users/{id}"), auth).json(&body));
                    problems.check("self write", r.as_ref());
                    let mut st = state.lock().unwrap();
                    match r {
                        Some(r) if r.status.as_u16() == 200 => {
                            st.acked = Some(body);
                            st.unanswered.clear();
                        }
                        Some(r) => problems.0.lock().unwrap().push(format!("self write {}: {}", r.status, r.text)),
                        None => st.unanswered.push(body),
                    }
                    drop(st);
                    count();
                    let r = try_send(s.request(Method::GET, "/api/users/self", auth));
                    problems.check("self read", r.as_ref());
                }
            });
        }
        // 4 writers owning e-mail, groups and is_active of their user (needs an admin).
        for (j, id) in owned_by_admin.iter().enumerate() {
            let state = &admin_state[j];
            scope.spawn(move || {
                let mut n = 0u64;
                while running() {
                    n += 1;
                    let groups = match n % 3 {
                        0 => json!(["user"]),
                        1 => json!(["worker"]),
                        _ => json!(["business"]),
                    };
                    let body = json!({"email": format!("w{j}n{n}@example.com"), "groups": groups, "is_active": n.is_multiple_of(2)});
                    count();
                    let r = as_admin(s, admins, j, |a| {
                        s.request(Method::PATCH, &format!("/api/users/{id}"), a).json(&body)
                    });
                    problems.check("admin write", r.as_ref());
                    let mut st = state.lock().unwrap();
                    match r {
                        Some(r) if r.status.as_u16() == 200 => {
                            st.acked = Some(body);
                            st.unanswered.clear();
                        }
                        Some(_) => {} // every admin refused at that moment: not applied
                        None => st.unanswered.push(body),
                    }
                }
            });
        }
        // 4 churners: register users, invite them, delete them (racing each other).
        for k in 0..4 {
            let (fresh, deleted, fresh_names) = (&fresh, &deleted, &fresh_names);
            scope.spawn(move || {
                let mut rng = rand::thread_rng();
                while running() {
                    let roll = rng.gen_range(0..10);
                    if roll < 4 {
                        let name = format!("churn{}", fresh_names.fetch_add(1, Ordering::Relaxed));
                        count();
                        let r = try_send(s.request(Method::POST, "/api/auth/register", &Auth::None).json(
                            &json!({"username": name, "email": format!("{name}@example.com"),
                                    "password1": PASSWORD, "password2": PASSWORD}),
                        ));
                        problems.check("register", r.as_ref());
                        if let Some(r) = r.filter(|r| r.status.as_u16() == 201) {
                            let me = try_send(s.request(
                                Method::GET,
                                "/api/users/self",
                                &Auth::Token(r.json()["key"].as_str().unwrap().to_string()),
                            ));
                            count();
                            problems.check("self after register", me.as_ref());
                            if let Some(me) = me.filter(|m| m.status.as_u16() == 200) {
                                fresh.lock().unwrap().push((me.json()["id"].as_i64().unwrap(), name));
                            }
                        }
                    } else if roll < 7 {
                        let pick = {
                            let f = fresh.lock().unwrap();
                            (!f.is_empty()).then(|| f[rng.gen_range(0..f.len())].clone())
                        };
                        if let Some((_, name)) = pick {
                            count();
                            let r = as_admin(s, admins, k, |a| {
                                s.request(Method::POST, "/api/invitations?org=load", a)
                                    .json(&json!({"role": "worker", "email": format!("{name}@example.com")}))
                            });
                            problems.check("invite", r.as_ref());
                        }
                    } else {
                        let pick = {
                            let mut f = fresh.lock().unwrap();
                            (!f.is_empty()).then(|| {
                                let i = rng.gen_range(0..f.len());
                                f.swap_remove(i)
                            })
                        };
                        if let Some((id, _)) = pick {
                            count();
                            let r = as_admin(s, admins, k, |a| s.request(Method::DELETE, &format!("/api/users/{id}"), a));
                            problems.check("delete", r.as_ref());
                            if r.as_ref().is_some_and(|r| r.status.as_u16() == 204) {
                                deleted.lock().unwrap().insert(id);
                            }
                        }
                    }
                }
            });
        }
        // 4 login threads on two users, with occasional logouts.
        for t in 0..4 {
            let (keys, name) = (&keys, login_users[t % 2]);
            scope.spawn(move || {
                let mut rng = rand::thread_rng();
                while running() {
                    count();
                    let r = try_send(
                        s.request(Method::POST, "/api/auth/login", &Auth::None)
                            .json(&json!({"username": name, "password": PASSWORD})),
                    );
                    problems.check("login", r.as_ref());
                    let Some(r) = r.filter(|r| r.status.as_u16() == 200) else {
                        continue;
                    };
                    let key = r.json()["key"].as_str().unwrap().to_string();
                    keys.lock()
                        .unwrap()
                        .entry(name)
                        .or_default()
                        .push(key.clone());
                    if rng.gen_range(0..8) == 0 {
                        count();
                        let r = try_send(s.request(
                            Method::POST,
                            "/api/auth/logout",
                            &Auth::Token(key),
                        ));
                        problems.check("logout", r.as_ref());
                    }
                }
            });
        }
        // 8 readers.
        for t in 0..8 {
            let writers = &writers;
            scope.spawn(move || {
                let mut rng = rand::thread_rng();
                while running() {
                    count();
                    let r = match rng.gen_range(0..8) {
                        0 => as_admin(s, admins, t, |a| {
                            s.request(Method::GET, "/api/users?page_size=all", a)
                        }),
                        1 => as_admin(s, admins, t, |a| {
                            s.request(
                                Method::GET,
                                &format!("/api/users?page={}&sort=-username", 1 + t % 2),
                                a,
                            )
                        }),
                        2 => {
                            let path = format!("/api/users/{}", rng.gen_range(1..60));
                            as_admin(s, admins, t, |a| s.request(Method::GET, &path, a))
                        }
                        3 => as_admin(s, admins, t, |a| {
                            s.request(Method::GET, "/api/memberships?org=load&page_size=all", a)
                        }),
                        4 => as_admin(s, admins, t, |a| {
                            s.request(Method::GET, "/api/invitations?org=load", a)
                        }),
                        5 => try_send(s.request(Method::GET, "/api/users/self", &writers[t].1)),
                        6 => try_send(s.request(Method::GET, "/api/organizations", &writers[t].1)),
                        _ => try_send(s.request(Method::GET, "/api/server/about", &Auth::None)),
                    };
                    problems.check("read", r.as_ref());
                }
            });
        }
        // 4 guards: demote and deactivate admins, and restore them; the last one must stay.
        for g in 0..4 {
            let (admin_ids, conflicts) = (&admin_ids, &conflicts);
            scope.spawn(move || {
                let mut rng = rand::thread_rng();
                while running() {
                    let target = admin_ids[rng.gen_range(0..admin_ids.len())];
                    let path = format!("/api/users/{target}");
                    count();
                    let r = match rng.gen_range(0..10) {
                        0..=2 => try_send(
                            s.request(Method::PATCH, &path, &admins[g])
                                .json(&json!({"groups": ["user"]})),
                        ),
                        3..=4 => try_send(
                            s.request(Method::PATCH, &path, &admins[g])
                                .json(&json!({"is_active": false})),
                        ),
                        _ => as_admin(s, admins, g, |a| {
                            s.request(Method::PATCH, &path, a)
                                .json(&json!({"groups": ["admin"], "is_active": true}))
                        }),
                    };
                    problems.check("guard", r.as_ref());
                    if r.as_ref().is_some_and(|r| r.status.as_u16() == 409) {
                        conflicts.fetch_add(1, Ordering::Relaxed);
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            });
        }
    });
    let problems = problems.0.into_inner().unwrap();
    if !problems.is_empty() {
        let logs = s.logs();
        let errors: Vec<&str> = logs
            .lines()
            .filter(|l| l.contains("ERROR"))
            .take(20)
            .collect();
        panic!(
            "{} problems, first ones: {:#?}\nserver errors: {errors:#?}",
            problems.len(),
            &problems[..problems.len().min(20)]
        );
    }

    // The last-admin guard: at least one active admin is left.
    let mut active_admins = 0;
    for a in &admins {
        let r = s.get("/api/users/self", a);
        if r.status.as_u16() == 200
            && sorted_groups(&r.json()["groups"]).contains(&"admin".to_string())
        {
            assert_eq!(r.json()["is_active"], true);
            active_admins += 1;
        }
    }
    assert!(active_admins >= 1, "no active admin left");
    // Bring every guard back, with the admin that survived.
    for id in &admin_ids {
        let r = as_admin(&s, &admins, 0, |a| {
            s.request(Method::PATCH, &format!("/api/users/{id}"), a)
                .json(&json!({"groups": ["admin"], "is_active": true}))
        })
        .unwrap();
        r.expect(200);
    }

    // No acknowledged write is lost.
    for (i, (id, _)) in writers.iter().enumerate() {
        let st = self_state[i].lock().unwrap();
        let got = s.get(&format!("/api/users/{id}"), &a0).json();
        let matches =
            |b: &Value| got["first_name"] == b["first_name"] && got["last_name"] == b["last_name"];
        let acked = st.acked.as_ref().expect("a write was acknowledged");
        assert!(
            matches(acked) || st.unanswered.iter().any(matches),
            "writer {i}: acknowledged {acked}, found {got}"
        );
    }
    for (j, id) in owned_by_admin.iter().enumerate() {
        let st = admin_state[j].lock().unwrap();
        let got = s.get(&format!("/api/users/{id}"), &a0).json();
        let matches = |b: &Value| {
            got["email"] == b["email"]
                && sorted_groups(&got["groups"]) == sorted_groups(&b["groups"])
                && got["is_active"] == b["is_active"]
        };
        let acked = st.acked.as_ref().expect("an admin write was acknowledged");
        assert!(
            matches(acked) || st.unanswered.iter().any(matches),
            "admin writer {j}: acknowledged {acked}, found {got}"
        );
    }
    // Deleted users stay deleted and have no membership left.
    let deleted = deleted.into_inner().unwrap();
    for id in &deleted {
        s.get(&format!("/api/users/{id}"), &a0).expect(404);
    }
    let members = s.get("/api/memberships?org=load&page_size=all", &a0);
    members.expect(200);
    let member_ids: Vec<i64> = members.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user"]["id"].as_i64().unwrap())
        .collect();
    for id in &member_ids {
        assert!(!deleted.contains(id), "membership of deleted user {id}");
        s.get(&format!("/api/users/{id}"), &a0).expect(200);
    }
    // Every login handed out a key of its own, and a logout revokes all of them, whichever
    // logins raced it.
    let keys = keys.into_inner().unwrap();
    for (name, handed_out) in &keys {
        let distinct: BTreeSet<&String> = handed_out.iter().collect();
        assert_eq!(
            distinct.len(),
            handed_out.len(),
            "{name}: a key handed out twice"
        );
        let now = s.login(name, PASSWORD);
        now.expect(200);
        let current = Auth::Token(now.json()["key"].as_str().unwrap().to_string());
        s.get("/api/users/self", &current).expect(200);
        s.post("/api/auth/logout", &current, json!({})).expect(200);
        let valid = handed_out
            .iter()
            .filter(|k| {
                s.get("/api/users/self", &Auth::Token((*k).clone()))
                    .status
                    .as_u16()
                    == 200
            })
            .count();
        assert_eq!(valid, 0, "{name}: {} keys handed out", handed_out.len());
        s.get("/api/users/self", &current).expect(401);
    }
    let logins: usize = keys.values().map(Vec::len).sum();
    eprintln!(
        "concurrency test: 32 clients for {secs} s, {} requests, {} users deleted, {} memberships left, \
         {logins} logins, {} last-admin refusals (409), {active_admins} active admins at the end",
        requests.load(Ordering::Relaxed),
        deleted.len(),
        member_ids.len(),
        conflicts.load(Ordering::Relaxed),
    );
}

// ---------------------------------------------------------------------------------------
// Escalation matrix

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    AdminSuperuser,
    StaffWithoutAdmin,
    AdminWithoutStaff,
    PlainUser,
    Worker,
    NoGroup,
}

const KINDS: [Kind; 6] = [
    Kind::AdminSuperuser,
    Kind::StaffWithoutAdmin,
    Kind::AdminWithoutStaff,
    Kind::PlainUser,
    Kind::Worker,
    Kind::NoGroup,
];

impl Kind {
    fn setup(self) -> (&'static [&'static str], bool, bool) {
        match self {
            Kind::AdminSuperuser => (&["admin"], true, true),
            Kind::StaffWithoutAdmin => (&["user"], true, false),
            Kind::AdminWithoutStaff => (&["admin"], false, false),
            Kind::PlainUser => (&["user"], false, false),
            Kind::Worker => (&["worker"], false, false),
            Kind::NoGroup => (&[], false, false),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Changed,
    Forbidden,
    /// 400 `Got unknown fields: {...}`
    Unknown,
    /// 400 `You do not have permissions to access some of these fields: {...}`
    NoPermission,
}

/// Spec §4.3 (who may PATCH whom), §5.3/§7 (staff get the full serializer, others the basic
/// one) and decision 5 (only the `admin` privilege changes e-mail, groups and flags).
fn expected(kind: Kind, field: &str, own: bool) -> Outcome {
    let admin_privilege = matches!(kind, Kind::AdminSuperuser | Kind::AdminWithoutStaff);
    if !own && !admin_privilege {
        return Outcome::Forbidden;
    }
    if ["username", "first_name", "last_name"].contains(&field) {
        return Outcome::Changed;
    }
    match kind {
        Kind::AdminSuperuser => Outcome::Changed,
        // Full serializer, but not the admin privilege.
        Kind::StaffWithoutAdmin => Outcome::NoPermission,
        // The basic serializer: CVAT's own answers.
        _ if ["email", "is_active"].contains(&field) => Outcome::Unknown,
        _ => Outcome::NoPermission,
    }
}

fn new_value(field: &str, current: &Value, n: usize) -> Value {
    match field {
        "username" => json!(format!("renamed{n}")),
        "first_name" => json!(format!("First{n}")),
        "last_name" => json!(format!("Last{n}")),
        "email" => json!(format!("changed{n}@example.com")),
        "groups" => {
            if sorted_groups(current) == ["worker"] {
                json!(["business"])
            } else {
                json!(["worker"])
            }
        }
        _ => json!(!current.as_bool().unwrap()),
    }
}

#[test]
fn escalation_matrix_who_may_change_what() {
    let s = TestServer::start();
    let admin = s.admin();
    let fetch = |id: i64| {
        let r = s.get(&format!("/api/users/{id}"), &admin);
        r.expect(200);
        r.json()
    };
    let mut n = 0;
    let mut cells = 0;
    let mut table = String::new();
    for kind in KINDS {
        let (groups, staff, su) = kind.setup();
        for own in [true, false] {
            let mut row = Vec::new();
            for field in WRITABLE_FIELDS {
                n += 1;
                let (rid, rauth) = s.register_as(&admin, &format!("req{n:03}"), groups, staff, su);
                let target = if own {
                    rid
                } else {
                    s.register_as(&admin, &format!("tgt{n:03}"), &["user"], false, false)
                        .0
                };
                let before = fetch(target);
                let value = new_value(field, &before[field], n);
                let r = s.patch(
                    &format!("/api/users/{target}"),
                    &rauth,
                    json!({ field: value }),
                );
                let after = fetch(target);
                let want = expected(kind, field, own);
                let cell = format!("{kind:?} {} {field}", if own { "self" } else { "other" });
                match want {
                    Outcome::Changed => {
                        assert_eq!(r.status.as_u16(), 200, "{cell}: {}", r.text);
                        if field == "groups" {
                            assert_eq!(
                                sorted_groups(&after[field]),
                                sorted_groups(&value),
                                "{cell}"
                            );
                        } else {
                            assert_eq!(after[field], value, "{cell}");
                        }
                        for other in WRITABLE_FIELDS.iter().filter(|f| **f != field) {
                            assert_eq!(
                                after[*other], before[*other],
                                "{cell}: {other} changed too"
                            );
                        }
                    }
                    refused => {
                        let (status, body) = match refused {
                            Outcome::Forbidden => (
                                403,
                                json!({"detail": "You do not have permission to perform this action."}),
                            ),
                            Outcome::Unknown => (
                                400,
                                json!({"non_field_errors": [format!("Got unknown fields: {{'{field}'}}")]}),
                            ),
                            _ => (
                                400,
                                json!({"non_field_errors": [format!(
                                    "You do not have permissions to access some of these fields: {{'{field}'}}"
                                )]}),
                            ),
                        };
                        assert_eq!(r.status.as_u16(), status, "{cell}: {}", r.text);
                        assert_eq!(r.json(), body, "{cell}");
                        assert_eq!(after, before, "{cell}: refused, yet the user changed");
                    }
                }
                row.push(match want {
                    Outcome::Changed => "ok",
                    Outcome::Forbidden => "403",
                    Outcome::Unknown => "unk",
                    Outcome::NoPermission => "perm",
                });
                cells += 1;
            }
            table.push_str(&format!(
                "{:<18} {:<5} {}\n",
                format!("{kind:?}"),
                if own { "self" } else { "other" },
                row.join(" ")
            ));
        }
    }
    assert_eq!(cells, 6 * 8 * 2);

    // Mixed bodies are refused whole: the allowed field is not written either.
    let cases: [(Kind, bool, Value, u16); 4] = [
        (
            Kind::PlainUser,
            true,
            json!({"first_name": "Sneaky", "is_staff": true}),
            400,
        ),
        (
            Kind::StaffWithoutAdmin,
            true,
            json!({"first_name": "Sneaky", "is_superuser": true}),
            400,
        ),
        (
            Kind::AdminWithoutStaff,
            false,
            json!({"last_name": "Sneaky", "is_active": false}),
            400,
        ),
        // Others' accounts: 403 before any validation.
        (
            Kind::Worker,
            false,
            json!({"username": "bad name!", "groups": ["admin"]}),
            403,
        ),
    ];
    for (kind, own, body, status) in cases {
        n += 1;
        let (groups, staff, su) = kind.setup();
        let (rid, rauth) = s.register_as(&admin, &format!("mix{n:03}"), groups, staff, su);
        let target = if own {
            rid
        } else {
            s.register_as(&admin, &format!("mixt{n:03}"), &["user"], false, false)
                .0
        };
        let before = fetch(target);
        let r = s.patch(&format!("/api/users/{target}"), &rauth, body.clone());
        assert_eq!(r.status.as_u16(), status, "{kind:?} {body}: {}", r.text);
        assert_eq!(fetch(target), before, "{kind:?} {body}");
    }
    eprintln!("escalation matrix ({cells} cells; ok / 403 / unk = Got unknown fields / perm = no permission):\n   fields: {}\n{table}", WRITABLE_FIELDS.join(" "));
}

// ---------------------------------------------------------------------------------------
// Slow clients and limits

fn addr(s: &TestServer) -> String {
    s.base.trim_start_matches("http://").to_string()
}

/// Trickles a request whose headers never end, one byte every 200 ms; returns how long the
/// server kept the connection open.
fn slowloris(addr: &str, give_up: Duration) -> Option<Duration> {
    let mut c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let start = Instant::now();
    let head = b"GET /api/server/about HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let mut bytes = head.iter().copied().chain(std::iter::repeat(b'a'));
    let mut buf = [0u8; 256];
    while start.elapsed() < give_up {
        if c.write_all(&[bytes.next().unwrap()]).is_err() {
            return Some(start.elapsed());
        }
        match c.read(&mut buf) {
            // Closed, or an error response before closing: either way the server let go.
            Ok(_) => return Some(start.elapsed()),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Some(start.elapsed()),
        }
    }
    None
}

#[test]
fn slow_headers_are_cut_off_while_normal_requests_are_served() {
    let s = TestServer::start_with(&["--header-read-timeout", "2"]);
    let a = addr(&s);
    let slow: Vec<_> = (0..3)
        .map(|_| {
            let a = a.clone();
            std::thread::spawn(move || slowloris(&a, Duration::from_secs(20)))
        })
        .collect();
    // Meanwhile, normal requests are answered promptly.
    let start = Instant::now();
    let mut served = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        let t = Instant::now();
        s.get("/api/server/about", &Auth::None).expect(200);
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "a normal request took {:?}",
            t.elapsed()
        );
        served += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(served >= 5);
    for h in slow {
        let held = h
            .join()
            .unwrap()
            .expect("a slow client held its connection for 20 s");
        assert!(
            held >= Duration::from_millis(1500) && held < Duration::from_secs(10),
            "cut off after {held:?} (timeout 2 s)"
        );
    }
    s.get("/api/server/about", &Auth::None).expect(200);
}

#[test]
fn at_the_connection_cap_the_longest_idle_connection_makes_room_for_a_new_client() {
    let s = TestServer::start_with(&["--max-connections", "3"]);
    let a = addr(&s);
    // Three idle connections take every slot ...
    let mut idle: Vec<TcpStream> = (0..3).map(|_| TcpStream::connect(&a).unwrap()).collect();
    // ... yet a new client is served: the oldest idle one was closed for it.
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let r = client.get(s.url("/api/server/about")).send().unwrap();
    assert_eq!(r.status().as_u16(), 200);
    idle[0]
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        matches!(idle[0].read(&mut buf), Ok(0)),
        "the oldest idle connection is closed"
    );
}

#[test]
fn slow_bodies_get_408_after_the_request_timeout() {
    let s = TestServer::start_with(&["--request-timeout", "2"]);
    let mut c = TcpStream::connect(addr(&s)).unwrap();
    c.write_all(
        b"POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while start.elapsed() < Duration::from_secs(15) {
        let _ = c.write_all(b" ");
        match c.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => {
                got.extend_from_slice(&buf[..k]);
                if got.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => break,
        }
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "{text:?} after {:?}",
        start.elapsed()
    );
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}
