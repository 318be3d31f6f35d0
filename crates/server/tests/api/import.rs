//! `cvat-server import-django`: a CVAT 2.3.0 `manage.py dumpdata` goes in whole (users log in
//! with their old passwords, keep their tokens, organizations come along) or not at all.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use crate::common::*;

/// Every fixture user's password.
const OLD_PASSWORD: &str = "!Q@W#E$R";

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cvat-2.3.0")
        .join(name)
}

fn dump() -> PathBuf {
    data("data.json")
}

fn expected(name: &str) -> Value {
    let text = std::fs::read_to_string(data(name)).unwrap();
    serde_json::from_str(&text).unwrap()
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn import(url: &str, file: &Path, extra: &[&str]) -> Run {
    let out: Output = Command::new(server_bin())
        .arg("import-django")
        .arg(file)
        .args(["--database-url", url])
        .args(extra)
        .output()
        .expect("spawn import-django");
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "import panicked: {}",
        run.stderr
    );
    run
}

#[track_caller]
fn import_ok(url: &str, file: &Path, extra: &[&str]) -> Run {
    let run = import(url, file, extra);
    assert!(run.ok, "import failed:\n{}\n{}", run.stdout, run.stderr);
    run
}

/// A fresh database holding the fixture, and a server on it.
fn imported_server() -> TestServer {
    let db = TestDb::new();
    import_ok(&db.url, &dump(), &[]);
    TestServer::serve(db, &[])
}

/// The key of the `authtoken.token` of `username` in the dump.
fn dump_token(username: &str) -> String {
    let records: Value = serde_json::from_str(&std::fs::read_to_string(dump()).unwrap()).unwrap();
    records
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "authtoken.token" && r["fields"]["user"] == json!([username]))
        .unwrap_or_else(|| panic!("no token of {username} in the dump"))["pk"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `url` values lose scheme and host (the fixture was served at localhost:8080), and
/// `last_login` goes (logging in changes it).
fn normalize(v: &mut Value) {
    match v {
        Value::Object(map) => {
            map.remove("last_login");
            // The newest CVAT's `created_via` and `email_verified`: not recorded for imports.
            for newest in ["created_via", "email_verified"] {
                if map.get(newest) == Some(&Value::Null) {
                    map.remove(newest);
                }
            }
            for (k, item) in map.iter_mut() {
                if k == "url" {
                    if let Some(s) = item.as_str() {
                        let path = s.splitn(4, '/').nth(3).map(|p| format!("/{p}"));
                        *item = Value::String(path.unwrap_or_else(|| s.to_string()));
                        continue;
                    }
                }
                normalize(item);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

fn normalized(mut v: Value) -> Value {
    normalize(&mut v);
    v
}

/// The `results` of a list response or of an expected answer (some are saved unpaginated).
fn results(v: &Value) -> Value {
    match v.get("results") {
        Some(r) => r.clone(),
        None => v.clone(),
    }
}

fn all_users(srv: &TestServer, auth: &Auth) -> Value {
    let r = srv.get("/api/users?page_size=all", auth);
    r.expect(200);
    r.json()
}

fn old_admin(srv: &TestServer) -> Auth {
    srv.token("admin1", OLD_PASSWORD)
}

#[test]
fn imported_users_log_in_with_old_passwords_and_tokens() {
    let db = TestDb::new();
    let run = import_ok(&db.url, &dump(), &[]);
    // The summary names what went in and what was skipped.
    for model in ["auth.user", "authtoken.token", "organizations.membership"] {
        assert!(run.stdout.contains(model), "{}", run.stdout);
    }
    let skipped = run
        .stdout
        .split("Skipped models")
        .nth(1)
        .unwrap_or_else(|| panic!("no skipped section: {}", run.stdout));
    for model in [
        "sessions.session",
        "engine.task",
        "admin.logentry",
        "webhooks.webhook",
    ] {
        assert!(skipped.contains(model), "{model} not in {skipped}");
    }
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains("auth.user") && l.trim_end().ends_with(" 20")),
        "{}",
        run.stdout
    );
    let srv = TestServer::serve(db, &[]);

    // Old password, twice: the first login upgrades the stored hash, the second uses it.
    srv.login("admin1", OLD_PASSWORD).expect(200);
    srv.login("admin1", OLD_PASSWORD).expect(200);
    srv.login("admin1", "wrong password").expect(400);
    srv.login("user5", OLD_PASSWORD).expect(200);

    // Old tokens.
    let me = srv.get("/api/users/self", &Auth::Token(dump_token("admin1")));
    me.expect(200);
    assert_eq!(me.json()["username"], "admin1");
    assert_eq!(me.json()["id"], 1);
    let me = srv.get("/api/users/self", &Auth::Token(dump_token("business2")));
    me.expect(200);
    assert_eq!(me.json()["username"], "business2");

    // The users list is what CVAT 2.3.0 answered.
    let admin = old_admin(&srv);
    let got = normalized(all_users(&srv, &admin));
    let want = normalized(expected("users.json"));
    assert_eq!(got["count"], want["count"]);
    assert_eq!(got["results"], want["results"]);
}

#[test]
fn organizations_memberships_and_invitations_come_along() {
    let srv = imported_server();
    let admin = old_admin(&srv);

    // The members of org1, through the users API.
    let r = srv.get("/api/users?org=org1&page_size=all", &admin);
    r.expect(200);
    let members: BTreeSet<String> = r.json()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect();
    let want: BTreeSet<String> = ["user1", "worker1", "worker2", "business1", "user5"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(members, want);

    // The organization endpoints answer what CVAT 2.3.0 did.
    for (path, file) in [
        ("/api/organizations?page_size=all", "organizations.json"),
        ("/api/memberships?page_size=all", "memberships.json"),
        ("/api/invitations?page_size=all", "invitations.json"),
    ] {
        let r = srv.get(path, &admin);
        r.expect(200);
        let mut page = r.json();
        // The newest CVAT's invitation fields come on top of 2.3.0's (all accepted at import).
        let invitations = page
            .get_mut("results")
            .filter(|_| file == "invitations.json");
        for inv in invitations
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(o) = inv.as_object_mut() {
                assert_eq!(o.remove("accepted"), Some(json!(true)));
                assert_eq!(o.remove("expired"), Some(Value::Null));
                let info = o.remove("organization_info").unwrap();
                assert_eq!(info["id"], o["organization"]);
            }
        }
        let got = normalized(results(&page));
        let want = normalized(results(&expected(file)));
        assert_eq!(got, want, "{path} differs from {file}");
    }
}

#[test]
fn importing_twice_names_the_collisions_and_changes_nothing() {
    let srv = imported_server();
    let admin = old_admin(&srv);
    // Local changes after the first import.
    srv.patch("/api/users/3", &admin, json!({"first_name": "Changed"}))
        .expect(200);
    let (new_id, _) = srv.register("newcomer");
    let before = all_users(&srv, &admin);

    let run = import(&srv.db.url, &dump(), &[]);
    assert!(!run.ok, "a second import succeeded: {}", run.stdout);
    for needle in ["admin1", "id 1", "--replace", "20 collisions"] {
        assert!(
            run.stderr.contains(needle),
            "{needle:?} not in {}",
            run.stderr
        );
    }
    assert_eq!(all_users(&srv, &admin), before);

    // --replace: the dump's state again, the newcomer gone, old credentials still good.
    let run = import_ok(&srv.db.url, &dump(), &["--replace"]);
    assert!(run.stdout.contains("replacing"), "{}", run.stdout);
    let admin = old_admin(&srv);
    let got = normalized(all_users(&srv, &admin));
    assert_eq!(
        got["results"],
        normalized(expected("users.json"))["results"]
    );
    srv.get(&format!("/api/users/{new_id}"), &admin).expect(404);
    srv.get("/api/users/self", &Auth::Token(dump_token("admin1")))
        .expect(200);
}

#[test]
fn refuses_to_merge_into_a_createsuperuser_database() {
    let srv = TestServer::start();
    let admin = srv.admin();
    let before = all_users(&srv, &admin);

    let run = import(&srv.db.url, &dump(), &[]);
    assert!(!run.ok, "import over `admin` succeeded: {}", run.stdout);
    assert!(run.stderr.contains("'admin'"), "{}", run.stderr);
    assert!(run.stderr.contains("id 1"), "{}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);

    assert_eq!(all_users(&srv, &admin), before);
    srv.login("admin1", OLD_PASSWORD).expect(400);
    srv.get("/api/users/self", &Auth::Token(dump_token("admin1")))
        .expect(401);
}

/// Writes `text` as a dump in a temporary folder.
fn temp_dump(dir: &tempfile::TempDir, name: &str, text: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The fixture with `edit` applied to its records.
fn edited_dump(edit: impl FnOnce(&mut Vec<Value>)) -> Vec<u8> {
    let mut records: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(dump()).unwrap()).unwrap();
    edit(&mut records);
    serde_json::to_vec_pretty(&records).unwrap()
}

#[test]
fn malformed_dumps_fail_cleanly_and_change_nothing() {
    let srv = imported_server();
    let admin = old_admin(&srv);
    // Without `last_login`: the checks below log in.
    let before = normalized(all_users(&srv, &admin));
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read(dump()).unwrap();

    let bad_date = edited_dump(|records| {
        let user = records
            .iter_mut()
            .find(|r| r["model"] == "auth.user" && r["fields"]["username"] == "user3")
            .unwrap();
        user["fields"]["date_joined"] = json!("yesterday");
    });
    let ghost_member = edited_dump(|records| {
        let m = records
            .iter_mut()
            .rev()
            .find(|r| r["model"] == "organizations.membership")
            .unwrap();
        m["fields"]["user"] = json!(["ghost"]);
    });
    let bad_record = edited_dump(|records| records.insert(300, json!(["not", "a", "record"])));
    let cases: Vec<(&str, Vec<u8>, &[&str])> = vec![
        // Cut in the middle of a record.
        (
            "truncated.json",
            original[..original.len() / 2].to_vec(),
            &["malformed", "record"],
        ),
        // A partial last record (the array is never closed).
        (
            "unclosed.json",
            original[..original.len() - 6].to_vec(),
            &["malformed", "record 554"],
        ),
        ("empty.json", Vec::new(), &["malformed"]),
        (
            "object.json",
            br#"{"model": "auth.user"}"#.to_vec(),
            &["array"],
        ),
        ("record.json", bad_record, &["record 301"]),
        (
            "date.json",
            bad_date,
            &["date_joined", "yesterday", "auth.user pk 4"],
        ),
        (
            "ghost.json",
            ghost_member,
            &["ghost", "organizations.membership"],
        ),
    ];
    for (name, text, needles) in cases {
        let path = temp_dump(&dir, name, &text);
        // --replace would delete everything first: nothing of it may stick.
        let run = import(&srv.db.url, &path, &["--replace"]);
        assert!(!run.ok, "{name} was imported: {}", run.stdout);
        for needle in needles {
            assert!(
                run.stderr.contains(needle),
                "{name}: {needle:?} not in {}",
                run.stderr
            );
        }
        assert_eq!(
            normalized(all_users(&srv, &admin)),
            before,
            "{name} changed the users"
        );
        srv.login("admin1", OLD_PASSWORD).expect(200);
        srv.get("/api/users/self", &Auth::Token(dump_token("admin1")))
            .expect(200);
    }

    // A missing file: a clear message, nothing created.
    let run = import(&srv.db.url, &dir.path().join("missing.json"), &[]);
    assert!(!run.ok);
    assert!(run.stderr.contains("missing.json"), "{}", run.stderr);
}

#[test]
fn dumps_without_natural_keys_import_too() {
    // `dumpdata` without --natural-foreign: users and groups referred to by id; groups with
    // other ids than ours.
    let text = edited_dump(|records| {
        let usernames: Vec<(i64, String)> = records
            .iter()
            .filter(|r| r["model"] == "auth.user")
            .map(|r| {
                (
                    r["pk"].as_i64().unwrap(),
                    r["fields"]["username"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let id_of = |v: &Value| -> Value {
            let name = v[0].as_str().unwrap();
            json!(usernames.iter().find(|(_, n)| n == name).unwrap().0)
        };
        let group_pk = |name: &str| -> i64 {
            match name {
                "admin" => 11,
                "business" => 12,
                "user" => 13,
                "worker" => 14,
                _ => unreachable!(),
            }
        };
        for r in records.iter_mut() {
            match r["model"].as_str().unwrap() {
                "auth.group" => {
                    let pk = group_pk(r["fields"]["name"].as_str().unwrap());
                    r["pk"] = json!(pk);
                }
                "auth.user" => {
                    let groups: Vec<Value> = r["fields"]["groups"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|g| json!(group_pk(g[0].as_str().unwrap())))
                        .collect();
                    r["fields"]["groups"] = json!(groups);
                }
                "authtoken.token" | "organizations.membership" => {
                    let id = id_of(&r["fields"]["user"]);
                    r["fields"]["user"] = id;
                }
                "organizations.organization" | "organizations.invitation" => {
                    let id = id_of(&r["fields"]["owner"]);
                    r["fields"]["owner"] = id;
                }
                _ => {}
            }
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let path = temp_dump(&dir, "ids.json", &text);
    let db = TestDb::new();
    import_ok(&db.url, &path, &[]);
    let srv = TestServer::serve(db, &[]);
    let admin = old_admin(&srv);
    let got = normalized(all_users(&srv, &admin));
    assert_eq!(
        got["results"],
        normalized(expected("users.json"))["results"]
    );
    let r = srv.get("/api/memberships?page_size=all", &admin);
    r.expect(200);
    assert_eq!(
        normalized(results(&r.json())),
        normalized(results(&expected("memberships.json")))
    );
}

#[test]
fn new_rows_after_an_import_get_fresh_ids() {
    let srv = imported_server();
    // Ids continue above the imported ones (PostgreSQL identities are moved past them).
    let (id, _) = srv.register("after-import");
    assert_eq!(id, 21);
}
