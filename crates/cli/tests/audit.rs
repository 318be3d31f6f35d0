//! `cvat-users audit`: the audit log through the SDK's stream of pages, as JSON lines and CSV,
//! with its filters; bad input and non-administrators refused.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_testkit::cli::Cli;
use cvat_testkit::{user_path, TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};
use serde_json::{json, Value};

#[test]
fn audit_exports_the_filtered_events_as_json_lines_and_csv() {
    let server = TestServer::start();
    let admin = server.admin();
    let (bob, _) = server.register("bobby_cli");
    server
        .patch(&user_path(bob), &admin, json!({"first_name": "Bobby"}))
        .expect(200);
    let cli = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);

    let run = cli
        .run(&["audit", "--since", "1d", "--actor", ADMIN, "-o", "jsonl"])
        .ok();
    let events: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        events.iter().all(|e| e["actor_username"] == ADMIN),
        "{run:?}"
    );
    let update = events
        .iter()
        .find(|e| e["action"] == "update:user")
        .expect("the PATCH");
    assert_eq!(update["target_name"], "bobby_cli");
    assert_eq!(update["changes"]["first_name"]["new"], "Bobby");
    // Newest first, each once.
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "{seqs:?}");

    let csv = cli
        .run(&["audit", "--action", "register:user", "-o", "csv"])
        .ok()
        .stdout;
    let mut lines = csv.lines();
    assert!(lines
        .next()
        .unwrap()
        .starts_with("seq,timestamp,action,actor_id"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 1, "{csv}");
    assert!(rows[0].contains("register:user") && rows[0].contains("bobby_cli"));

    // Nothing older than a time in the future.
    let none = cli
        .run(&["audit", "--since", "2999-01-01", "-o", "jsonl"])
        .ok();
    assert_eq!(none.stdout, "");

    let bad = cli.run(&["audit", "--since", "yesterday"]).fails();
    assert!(bad.contains("RFC 3339"), "{bad}");
    let bob_cli = Cli::logged_in(&server, "bobby_cli", PASSWORD);
    let refused = bob_cli.run(&["audit"]).fails();
    assert!(refused.contains("permission"), "{refused}");
}
