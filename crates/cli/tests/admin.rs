//! `cvat-users create` and `cvat-users passwd` against the real server (issue 8), and the SDK
//! methods behind them (`users_create`, `users_create_password`).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_sdk::{Credentials, MetaUser, OrgContext, PasswordSetRequest, UserCreateRequest};
use cvat_testkit::cli::Cli;
use cvat_testkit::{TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};

fn can_log_in(server: &TestServer, username: &str, password: &str) -> bool {
    server
        .client(Some(Credentials::basic(username, password)))
        .users_api()
        .users_retrieve_self()
        .is_ok()
}

#[test]
fn create_makes_a_user_that_can_log_in() {
    let server = TestServer::start();
    let cli = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);
    let run = cli
        .run_with(
            &[
                "--output",
                "json",
                "create",
                "--username",
                "ada_l",
                "--email",
                "ada@example.com",
                "--first-name",
                "Ada",
                "--groups",
                "worker,business",
                "--password-stdin",
            ],
            Some("Analytical-Engine-1843\n"),
        )
        .ok();
    let user = run.json();
    assert_eq!(user["username"], "ada_l");
    assert_eq!(user["first_name"], "Ada");
    assert_eq!(user["is_active"], true);
    let mut groups: Vec<&str> = user["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    groups.sort();
    assert_eq!(groups, ["business", "worker"]);
    assert!(can_log_in(&server, "ada_l", "Analytical-Engine-1843"));

    // Flags; the table output names the user.
    let run = cli
        .run_with(
            &[
                "create",
                "--username",
                "root_two",
                "--staff",
                "--superuser",
                "--inactive",
                "--password-stdin",
            ],
            Some(PASSWORD),
        )
        .ok();
    assert!(run.stdout.contains("root_two"), "{run:?}");
    let id = server
        .admin_client()
        .users_api()
        .users_list(&cvat_sdk::UsersListParams {
            search: Some("root_two".into()),
            ..Default::default()
        })
        .unwrap()
        .results[0]
        .id();
    match server
        .admin_client()
        .users_api()
        .users_retrieve(id, &OrgContext::default())
        .unwrap()
    {
        MetaUser::Full(u) => {
            assert!(u.is_staff && u.is_superuser && !u.is_active);
            assert!(u.groups.contains(&"admin".to_string()), "{:?}", u.groups);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn create_reports_the_servers_field_errors() {
    let server = TestServer::start();
    let cli = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);
    let line = cli
        .run_with(
            &[
                "create",
                "--username",
                "bob",
                "--email",
                "nope",
                "--password-stdin",
            ],
            Some("12345678"),
        )
        .fails();
    assert!(line.contains("400"), "{line}");
    assert!(
        line.contains("username: Ensure this field has at least 5 characters."),
        "{line}"
    );
    assert!(
        line.contains("email: Enter a valid email address."),
        "{line}"
    );
    assert!(
        line.contains("password: This password is too common. This password is entirely numeric."),
        "{line}"
    );
    // No password to read: a usage error before any request.
    let run = cli.run_with(&["create", "--username", "bobby_b"], None);
    assert_eq!(run.code, 2, "{run:?}");
    assert!(run.stderr.contains("--password-stdin"), "{run:?}");
}

#[test]
fn non_admins_are_refused() {
    let server = TestServer::start();
    let id = server.register_id("normal_nina");
    let cli = Cli::logged_in(&server, "normal_nina", PASSWORD);
    let line = cli
        .run_with(
            &["create", "--username", "sneaky_sam", "--password-stdin"],
            Some(PASSWORD),
        )
        .fails();
    assert!(
        line.contains("403") && line.contains("You do not have permission"),
        "{line}"
    );
    let line = cli
        .run_with(
            &["passwd", &id.to_string(), "--password-stdin"],
            Some("Other-Secret-123"),
        )
        .fails();
    assert!(line.contains("403"), "{line}");
}

#[test]
fn passwd_sets_the_password_and_revokes_the_users_tokens() {
    let server = TestServer::start();
    let id = server.register_id("forgetful_fred");
    // Fred's own CLI session (a personal access token).
    let fred = Cli::logged_in(&server, "forgetful_fred", PASSWORD);
    fred.run_with(&["whoami"], None).ok();

    let admin = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);
    let line = admin
        .run_with(
            &["passwd", &id.to_string(), "--password-stdin"],
            Some("forgetful_fred\n"),
        )
        .fails();
    assert!(
        line.contains("password: The password is too similar to the username."),
        "{line}"
    );
    let run = admin
        .run_with(
            &["passwd", &id.to_string(), "--password-stdin"],
            Some("Remembered-At-Last-9\n"),
        )
        .ok();
    assert_eq!(
        run.stdout.trim(),
        "The password has been set. The user's sessions and tokens have been revoked."
    );
    // Fred's access token no longer works; the new password does.
    let line = fred.run_with(&["whoami"], None).fails();
    assert!(line.contains("401"), "{line}");
    assert!(!can_log_in(&server, "forgetful_fred", PASSWORD));
    assert!(can_log_in(
        &server,
        "forgetful_fred",
        "Remembered-At-Last-9"
    ));
    // Unknown user: 404.
    let line = admin
        .run_with(
            &["passwd", "99999", "--password-stdin"],
            Some("Remembered-At-Last-9"),
        )
        .fails();
    assert!(line.contains("404"), "{line}");
}

#[test]
fn sdk_methods() {
    let server = TestServer::start();
    let admin = server.admin_client();
    let users = admin.users_api();
    let user = users
        .users_create(&UserCreateRequest {
            username: "sdk_made".into(),
            password: PASSWORD.into(),
            email: Some("sdk@example.com".into()),
            is_active: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        (user.username.as_str(), user.groups.clone()),
        ("sdk_made", vec!["user".to_string()])
    );
    let err = users
        .users_create(&UserCreateRequest {
            username: "sdk_made".into(),
            password: PASSWORD.into(),
            ..Default::default()
        })
        .unwrap_err();
    assert!(err.is_status(400), "{err}");
    let done = users
        .users_create_password(
            user.id,
            &PasswordSetRequest {
                password: "Sdk-Secret-2024".into(),
                must_change_password: None,
            },
        )
        .unwrap();
    assert!(done.detail.contains("revoked"), "{}", done.detail);
    assert!(can_log_in(&server, "sdk_made", "Sdk-Secret-2024"));
    let plain = server.client(Some(Credentials::basic("sdk_made", "Sdk-Secret-2024")));
    let err = plain
        .users_api()
        .users_create_password(
            user.id,
            &PasswordSetRequest {
                password: "Whatever-123".into(),
                must_change_password: None,
            },
        )
        .unwrap_err();
    assert!(err.is_status(403), "{err}");
}

#[test]
fn access_blocks_unblocks_and_unlocks_an_account() {
    let server = TestServer::start();
    let cli = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);
    let (id, _) = server.register("cli_blocked");
    let id = id.to_string();
    let run = cli.run(&["--output", "json", "access", "block", &id]).ok();
    assert_eq!(run.json()["blocked"], true);
    assert!(!can_log_in(&server, "cli_blocked", PASSWORD));
    let run = cli.run(&["access", "show", &id]).ok();
    assert!(run.stdout.contains("BLOCKED"), "{}", run.stdout);
    assert!(
        run.stdout.lines().nth(1).unwrap().starts_with("yes"),
        "{}",
        run.stdout
    );
    let run = cli
        .run(&["--output", "json", "access", "unblock", &id])
        .ok();
    assert_eq!(run.json()["blocked"], false);
    assert!(can_log_in(&server, "cli_blocked", PASSWORD));
    let run = cli.run(&["--output", "csv", "access", "unlock", &id]).ok();
    assert_eq!(
        run.stdout.lines().next(),
        Some("BLOCKED,BLOCKED SINCE,LOGIN LOCKED,RETRY AFTER (S),MUST CHANGE PASSWORD")
    );
    // A new password the user must change at the next login.
    cli.run_with(
        &["passwd", &id, "--password-stdin", "--must-change"],
        Some("Given-By-Admin-77\n"),
    )
    .ok();
    let run = cli.run(&["--output", "json", "access", "show", &id]).ok();
    assert_eq!(run.json()["must_change_password"], true);
    let must = server.client(Some(Credentials::basic("cli_blocked", "Given-By-Admin-77")));
    let err = must
        .users_api()
        .users_list(&Default::default())
        .unwrap_err();
    assert!(err.is_status(403), "{err}");
    server
        .client(Some(Credentials::basic(ADMIN, ADMIN_PASSWORD)))
        .users_api()
        .users_create_password(
            id.parse().unwrap(),
            &PasswordSetRequest {
                password: PASSWORD.into(),
                must_change_password: None,
            },
        )
        .unwrap();
    // Not for non-admins: the server's 403, as an error.
    let user = Cli::logged_in(&server, "cli_blocked", PASSWORD);
    let err = user.run(&["access", "block", &id]).fails();
    assert!(err.contains("permission"), "{err}");
}

#[test]
fn sessions_lists_revokes_and_signs_out_everywhere() {
    let server = TestServer::start();
    let (id, token) = server.register("cli_sessions");
    let admin = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);
    let mine = Cli::logged_in(&server, "cli_sessions", PASSWORD);

    // The user's own: the registration's token and session, and the CLI's access token.
    let run = mine.run(&["--output", "json", "sessions", "list"]).ok();
    let list = run.json();
    let items = list.as_array().unwrap();
    assert_eq!(items.len(), 3, "{list}");
    let current: Vec<_> = items.iter().filter(|c| c["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["kind"], "access_token");
    let run = mine.run(&["--output", "csv", "sessions", "list"]).ok();
    assert_eq!(
        run.stdout.lines().next(),
        Some("ID,NAME,CREATED,CLIENT,USER AGENT,CURRENT")
    );

    // An administrator revokes the registration's token by id.
    let token_id = items.iter().find(|c| c["kind"] == "token").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let uid = id.to_string();
    let run = admin
        .run(&["sessions", "revoke", &token_id, "--user", &uid])
        .ok();
    assert!(run.stdout.contains("Revoked"), "{}", run.stdout);
    assert!(!server.get("/api/users/self", &token).status.is_success());
    let err = admin
        .run(&["sessions", "revoke", &token_id, "--user", &uid])
        .fails();
    assert!(
        err.contains("404") || err.to_lowercase().contains("not found"),
        "{err}"
    );

    // Everywhere else: the CLI's own access token stays.
    let run = mine.run(&["sessions", "revoke-all"]).ok();
    assert!(
        run.stdout.contains("Signed out everywhere"),
        "{}",
        run.stdout
    );
    let run = mine.run(&["--output", "json", "sessions", "list"]).ok();
    assert_eq!(run.json().as_array().unwrap().len(), 1);
}

#[test]
fn mfa_org_policy_shows_and_changes_an_organizations_policy() {
    let server = TestServer::start();
    let admin_auth = server.admin();
    server
        .post(
            "/api/organizations",
            &admin_auth,
            serde_json::json!({"slug": "cliorg"}),
        )
        .expect(201);
    let org = server.get("/api/organizations", &admin_auth).json()[0]["id"]
        .as_i64()
        .unwrap()
        .to_string();
    let cli = Cli::logged_in(&server, ADMIN, ADMIN_PASSWORD);
    let run = cli.run(&["mfa", "org-policy", &org]).ok();
    assert!(run.stdout.contains("Requires TOTP: no"), "{}", run.stdout);
    let run = cli
        .run(&[
            "--output",
            "json",
            "mfa",
            "org-policy",
            &org,
            "--require",
            "--grace-hours",
            "12",
        ])
        .ok();
    let policy = run.json();
    assert_eq!(policy["require_mfa"], true);
    assert_eq!(policy["grace_period_hours"], 12);
    let err = cli
        .run(&["mfa", "org-policy", &org, "--grace-hours", "9999"])
        .fails();
    assert!(err.contains("8760"), "{err}");
    let run = cli.run(&["mfa", "org-policy", &org, "--no-require"]).ok();
    assert!(run.stdout.contains("Requires TOTP: no"), "{}", run.stdout);
}
