//! The real `cvat-users` binary against the real server, with `XDG_CONFIG_HOME` in a temp dir.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use std::process::Command;

use cvat_sdk::{Credentials, MetaUser, OrgContext, User};
use cvat_testkit::cli::{Cli, Run};
use cvat_testkit::{TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};

fn admin_view(server: &TestServer, id: i64) -> User {
    match server
        .admin_client()
        .users_api()
        .users_retrieve(id, &OrgContext::default())
        .unwrap()
    {
        MetaUser::Full(u) => u,
        other => panic!("expected a full user: {other:?}"),
    }
}

#[test]
fn login_saves_a_private_config_and_logout_revokes() {
    let server = TestServer::start();
    let cli = Cli::new(&server);

    let run = cli.login(ADMIN, ADMIN_PASSWORD).ok();
    assert!(
        run.stdout.contains("Logged in to") && run.stdout.contains(ADMIN),
        "{run:?}"
    );

    // The config: host and token, readable by the user only.
    let path = cli.config_path();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "config file mode");
        let dir_mode = std::fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(dir_mode, 0o700, "config dir mode");
    }
    let config = cli.config();
    assert_eq!(config["host"].as_str(), Some(server.base.as_str()));
    assert_eq!(config["username"].as_str(), Some(ADMIN));
    let token = cli.saved_token();

    // It is a personal access token named after this machine.
    let bearer = server.client(Some(Credentials::Bearer(token.clone())));
    let pat = bearer.auth_api().access_tokens_retrieve_self().unwrap();
    assert!(pat.name.starts_with("cvat-users@"), "{pat:?}");
    assert_eq!(config["token_id"].as_integer(), Some(pat.id));

    // Later commands need no --host: the config has it.
    let me = cli.run(&["whoami"]).ok();
    assert!(
        me.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["username", ADMIN]),
        "{me:?}"
    );
    let me = cli.run(&["whoami", "--output", "json"]).ok().json();
    assert_eq!(
        (me["id"].as_i64(), me["username"].as_str()),
        (Some(1), Some(ADMIN))
    );

    // Logout revokes the token on the server and removes it from the config.
    let run = cli.run(&["logout"]).ok();
    assert!(run.stdout.contains("Logged out"), "{run:?}");
    let err = bearer.users_api().users_retrieve_self().unwrap_err();
    assert!(err.is_status(401), "{err}");
    assert!(!cli.config().contains_key("token"));
    assert_eq!(cli.config()["host"].as_str(), Some(server.base.as_str()));
    let line = cli.run(&["whoami"]).fails();
    assert!(line.contains("not logged in"), "{line}");
    // Logging out twice is fine.
    cli.run(&["logout"]).ok();
}

#[test]
fn regular_user_login_and_relogin_revokes_the_previous_token() {
    let server = TestServer::start();
    // Tokens of other users first, so that token ids and user ids differ.
    for name in ["first", "second"] {
        server
            .admin_client()
            .auth_api()
            .access_tokens_create(&cvat_sdk::AccessTokenWriteRequest {
                name: Some(name.into()),
                ..Default::default()
            })
            .unwrap();
    }
    let id = server.register_id("grace_hopper");
    let cli = Cli::new(&server);

    // A wrong password: one line with the server's message, nothing saved.
    let line = cli.login("grace_hopper", "wrong-password").fails();
    assert_eq!(
        line,
        "cvat-users: 401 Unauthorized: Invalid username/password."
    );
    assert!(!cli.config_path().exists());

    cli.login("grace_hopper", PASSWORD).ok();
    let first = cli.saved_token();
    let me = cli.run(&["whoami", "-o", "json"]).ok().json();
    assert_eq!(
        (me["id"].as_i64(), me["username"].as_str()),
        (Some(id), Some("grace_hopper"))
    );

    // Logging in again replaces the token and revokes the old one.
    cli.login("grace_hopper", PASSWORD).ok();
    let second = cli.saved_token();
    assert_ne!(first, second);
    assert_token_refused(&server, first);

    cli.run(&["logout"]).ok();
    assert_token_refused(&server, second);
}

#[test]
fn list_in_three_formats_with_query_options() {
    let server = TestServer::start();
    for name in ["ann_smith", "ben_jones", "cat_smith"] {
        server.register_id(name);
    }
    let cli = Cli::new(&server);
    cli.login(ADMIN, ADMIN_PASSWORD).ok();

    // Table: a header and one line per user, newest first.
    let table = cli.run(&["list"]).ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 5, "{table:?}");
    for column in [
        "ID",
        "USERNAME",
        "FIRST NAME",
        "LAST NAME",
        "EMAIL",
        "GROUPS",
        "ACTIVE",
        "STAFF",
    ] {
        assert!(lines[0].contains(column), "{}", lines[0]);
    }
    let first_words: Vec<&str> = lines[1..]
        .iter()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(first_words, ["cat_smith", "ben_jones", "ann_smith", ADMIN]);
    assert!(
        table.stderr.is_empty(),
        "no hints when stderr is not a terminal: {table:?}"
    );

    // JSON: the server's user objects.
    let json = cli.run(&["list", "--output", "json"]).ok().json();
    let users = json.as_array().unwrap();
    assert_eq!(users.len(), 4);
    assert_eq!(users[3]["username"], ADMIN);
    assert_eq!(users[3]["groups"], serde_json::json!(["admin"]));
    assert_eq!(users[3]["is_superuser"], true);

    // CSV: a header with every field, one record per user.
    let csv_run = cli.run(&["list", "-o", "csv"]).ok();
    let mut reader = csv::Reader::from_reader(csv_run.stdout.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_string)
        .collect();
    assert_eq!(
        &header[..6],
        [
            "id",
            "username",
            "first_name",
            "last_name",
            "email",
            "groups"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 4);
    assert_eq!(&records[3][1], ADMIN);
    assert_eq!(&records[3][4], "admin@example.com");

    // --search, --filter, --sort, --page-size, --page.
    let names = |args: &[&str]| -> Vec<String> {
        let mut full = vec!["list", "-o", "json"];
        full.extend_from_slice(args);
        cli.run(&full)
            .ok()
            .json()
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(names(&["--search", "smith"]), ["cat_smith", "ann_smith"]);
    assert_eq!(
        names(&["--filter", r#"{"==": [{"var": "username"}, "ben_jones"]}"#]),
        ["ben_jones"]
    );
    assert_eq!(
        names(&["--sort", "username"]),
        [ADMIN, "ann_smith", "ben_jones", "cat_smith"]
    );
    assert_eq!(
        names(&["--sort", "-username"]),
        ["cat_smith", "ben_jones", "ann_smith", ADMIN]
    );
    assert_eq!(
        names(&["--page-size", "3"]),
        ["cat_smith", "ben_jones", "ann_smith"]
    );
    assert_eq!(names(&["--page-size", "3", "--page", "2"]), [ADMIN]);

    // A bad filter: the server's 400 message on one line.
    let line = cli.run(&["list", "--filter", "{oops"]).fails();
    assert!(line.starts_with("cvat-users: 400 Bad Request: "), "{line}");
}

#[test]
fn list_all_walks_every_page() {
    let server = TestServer::start();
    for i in 0..12 {
        server.register_id(&format!("member{i:02}"));
    }
    let cli = Cli::new(&server);
    cli.login(ADMIN, ADMIN_PASSWORD).ok();

    let run = cli
        .run(&["list", "--all", "--page-size", "5", "-o", "json"])
        .ok();
    assert!(
        run.stderr.is_empty(),
        "no progress bar without a terminal: {run:?}"
    );
    let users = run.json();
    let ids: std::collections::BTreeSet<i64> = users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 13);

    // The default page size (10) without --all: one page only.
    assert_eq!(
        cli.run(&["list", "-o", "json"])
            .ok()
            .json()
            .as_array()
            .unwrap()
            .len(),
        10
    );
    // --all with the server's default page size, as a table and as CSV.
    assert_eq!(cli.run(&["list", "--all"]).ok().stdout.lines().count(), 14);
    assert_eq!(
        cli.run(&["list", "--all", "-o", "csv", "--search", "member"])
            .ok()
            .stdout
            .lines()
            .count(),
        13
    );
}

#[test]
fn show_update_and_delete() {
    let server = TestServer::start();
    let id = server.register_id("hedy_lamarr");
    let cli = Cli::new(&server);
    cli.login(ADMIN, ADMIN_PASSWORD).ok();
    let sid = id.to_string();

    let shown = cli.run(&["show", &sid]).ok();
    assert!(shown
        .stdout
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["username", "hedy_lamarr"]));
    assert!(shown
        .stdout
        .lines()
        .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["email", "hedy_lamarr@example.com"]));
    assert_eq!(
        cli.run(&["show", &sid, "-o", "json"]).ok().json()["id"].as_i64(),
        Some(id)
    );
    let csv_lines = cli.run(&["show", &sid, "-o", "csv"]).ok().stdout;
    assert_eq!(csv_lines.lines().count(), 2);

    // Each flag of update.
    let printed = cli
        .run(&["update", &sid, "--first-name", "Hedy", "-o", "json"])
        .ok()
        .json();
    assert_eq!(printed["first_name"], "Hedy");
    cli.run(&["update", &sid, "--last-name", "Lamarr"]).ok();
    cli.run(&["update", &sid, "--email", "hedy@example.org"])
        .ok();
    cli.run(&["update", &sid, "--username", "hedy"]).ok();
    cli.run(&["update", &sid, "--groups", "business,worker"])
        .ok();
    let u = admin_view(&server, id);
    assert_eq!(
        (u.first_name.as_str(), u.last_name.as_str()),
        ("Hedy", "Lamarr")
    );
    assert_eq!(
        (u.email.as_str(), u.username.as_str()),
        ("hedy@example.org", "hedy")
    );
    let mut groups = u.groups.clone();
    groups.sort();
    assert_eq!(groups, ["business", "worker"]);

    cli.run(&["update", &sid, "--inactive"]).ok();
    assert!(!admin_view(&server, id).is_active);
    cli.run(&["update", &sid, "--active"]).ok();
    assert!(admin_view(&server, id).is_active);
    cli.run(&["update", &sid, "--staff"]).ok();
    assert!(admin_view(&server, id).is_staff);
    cli.run(&["update", &sid, "--no-staff"]).ok();
    assert!(!admin_view(&server, id).is_staff);
    cli.run(&["update", &sid, "--superuser"]).ok();
    assert!(admin_view(&server, id).is_superuser);
    cli.run(&["update", &sid, "--no-superuser", "--groups", ""])
        .ok();
    let u = admin_view(&server, id);
    assert!(!u.is_superuser && u.groups.is_empty());

    // Nothing to change, or contradicting flags: usage errors, exit 2.
    let run = cli.run(&["update", &sid]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nothing to update"), "{run:?}");
    assert_eq!(cli.run(&["update", &sid, "--active", "--inactive"]).code, 2);

    // A server-side validation error.
    let line = cli
        .run(&["update", &sid, "--email", "not-an-email"])
        .fails();
    assert!(
        line.starts_with("cvat-users: 400 Bad Request: email: "),
        "{line}"
    );

    // Delete: refused without a terminal unless --yes.
    let line = cli.run(&["delete", &sid]).fails();
    assert!(
        line.contains("--yes") && line.contains("not a terminal"),
        "{line}"
    );
    admin_view(&server, id);
    let run = cli.run(&["delete", &sid, "--yes"]).ok();
    assert!(
        run.stdout.contains(&format!("Deleted user {id}")),
        "{run:?}"
    );
    let line = cli.run(&["show", &sid]).fails();
    assert_eq!(line, "cvat-users: 404 Not Found: Not found.");
}

#[test]
fn errors_are_one_line_with_the_server_message() {
    let server = TestServer::start();
    server.register_id("mallory");
    let victim = server.register_id("victim").to_string();
    let cli = Cli::new(&server);
    cli.login("mallory", PASSWORD).ok();

    // 403 from the server.
    let run = cli.run(&["delete", &victim, "--yes"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        run.stderr,
        "cvat-users: 403 Forbidden: You do not have permission to perform this action.\n"
    );
    assert!(run.stdout.is_empty());
    assert_eq!(
        cli.run(&["update", "1", "--first-name", "Pwned"]).fails(),
        "cvat-users: 403 Forbidden: You do not have permission to perform this action."
    );

    // A host where nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let other = Cli {
        host: dead.clone(),
        home: tempfile::tempdir().unwrap(),
    };
    let run = other.login("mallory", PASSWORD);
    assert_eq!(run.code, 1);
    let line = run.fails();
    assert!(
        line.starts_with(&format!("cvat-users: cannot reach {dead}/")),
        "{line}"
    );
    assert!(line.to_lowercase().contains("refused"), "{line}");

    // A saved login whose server went away.
    let gone = TestServer::start();
    let orphan = Cli::new(&gone);
    orphan.login(ADMIN, ADMIN_PASSWORD).ok();
    let gone_host = gone.base.clone();
    drop(gone);
    let line = orphan.run(&["whoami"]).fails();
    assert!(
        line.starts_with(&format!("cvat-users: cannot reach {gone_host}/")),
        "{line}"
    );

    // No server at all, and a host that is not a URL.
    let fresh = Cli::new(&server);
    let run = fresh.run(&["whoami"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--host"), "{run:?}");
    let line = fresh
        .run(&["--host", "ftp://example.com", "whoami"])
        .fails();
    assert!(line.contains("not logged in"), "{line}");

    // A token revoked behind the CLI's back.
    let token = cli.saved_token();
    let bearer = server.client(Some(Credentials::Bearer(token)));
    let me = bearer.auth_api().access_tokens_retrieve_self().unwrap();
    bearer.auth_api().access_tokens_destroy(me.id).unwrap();
    let line = cli.run(&["whoami"]).fails();
    assert!(
        line.starts_with("cvat-users: 401 Unauthorized: Invalid token."),
        "{line}"
    );
    assert!(line.contains("cvat-users login"), "{line}");
}

#[test]
fn host_and_org_from_the_environment() {
    let server = TestServer::start();
    server.register_id("nora_n");
    let cli = Cli::new(&server);

    // CVAT_HOST instead of --host.
    let run = cli.run_env(
        &["login", "--username", ADMIN, "--password-stdin"],
        Some(ADMIN_PASSWORD),
        &[("CVAT_HOST", &server.base)],
    );
    run.ok();
    assert_eq!(cli.config()["host"].as_str(), Some(server.base.as_str()));

    // An organization with its owner as the only member.
    let created = reqwest::blocking::Client::new()
        .post(format!("{}/api/organizations", server.base))
        .basic_auth(ADMIN, Some(ADMIN_PASSWORD))
        .json(&serde_json::json!({"slug": "lab", "name": "The Lab"}))
        .send()
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);

    let count = |run: Run| run.ok().json().as_array().unwrap().len();
    assert_eq!(count(cli.run(&["list", "-o", "json"])), 2);
    assert_eq!(count(cli.run(&["--org", "lab", "list", "-o", "json"])), 1);
    assert_eq!(
        count(cli.run_env(&["list", "-o", "json"], None, &[("CVAT_ORG", "lab")])),
        1
    );
    assert_eq!(
        count(cli.run(&["list", "--all", "-o", "json", "--org", "lab"])),
        1
    );
    let line = cli.run(&["--org", "nope", "list"]).fails();
    assert_eq!(
        line,
        "cvat-users: 400 Bad Request: nope organization does not exist."
    );
}

#[test]
fn help_shows_examples_for_every_command() {
    let server_less = tempfile::tempdir().unwrap();
    let help = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cvat-users"))
            .args(args)
            .env("XDG_CONFIG_HOME", server_less.path())
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    assert!(
        top.contains("Examples:") && top.contains("CVAT_HOST") && top.contains("CVAT_ORG"),
        "{top}"
    );
    for command in [
        "login", "logout", "whoami", "list", "show", "update", "delete",
    ] {
        let text = help(&[command, "--help"]);
        assert!(text.contains("Examples:"), "{command}: {text}");
        assert!(
            text.contains(&format!("cvat-users {command}"))
                || text.contains(&format!(" {command} ")),
            "{command}: {text}"
        );
    }
}

#[test]
fn on_a_terminal_delete_asks_and_list_all_shows_progress() {
    let server = TestServer::start();
    let keep = server.register_id("keeper");
    let gone = server.register_id("goner");
    let cli = Cli::new(&server);
    cli.login(ADMIN, ADMIN_PASSWORD).ok();

    let Some(run) = cli.on_terminal(&["delete", &keep.to_string()], "n\n") else {
        return;
    };
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stdout.contains("Delete user keeper"), "{run:?}");
    assert!(run.stdout.contains("not deleted"), "{run:?}");
    admin_view(&server, keep);

    let run = cli
        .on_terminal(&["delete", &gone.to_string()], "y\n")
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains(&format!("Deleted user {gone}")),
        "{run:?}"
    );
    assert!(server
        .admin_client()
        .users_api()
        .users_retrieve(gone, &OrgContext::default())
        .unwrap_err()
        .is_status(404));

    // The progress bar is drawn on the terminal (stderr), the users go to stdout.
    let run = cli
        .on_terminal(&["list", "--all", "--page-size", "1", "-o", "csv"], "")
        .unwrap();
    assert_eq!(run.code, 0, "{run:?}");
    assert!(run.stdout.contains("/2 users"), "progress bar: {run:?}");
    assert!(
        run.stdout.contains("keeper") && run.stdout.contains("admin@example.com"),
        "{run:?}"
    );
}

/// A request with the access token `token` is refused as unauthenticated (revoked or unknown).
#[track_caller]
fn assert_token_refused(server: &TestServer, token: String) {
    let client = server.client(Some(Credentials::Bearer(token)));
    let err = client.users_api().users_retrieve_self().unwrap_err();
    assert!(err.is_status(401), "{err}");
}
