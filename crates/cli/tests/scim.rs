//! `cvat-users scim-token`: an administrator's SCIM provisioning token (issue 17).

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_testkit::cli::Cli;
use cvat_testkit::{Auth, TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};

#[test]
fn scim_token_prints_a_token_valid_under_scim_v2_only() {
    let server = TestServer::start();
    let cli = Cli::new(&server);
    let run = cli
        .run_with(
            &[
                "--host",
                &cli.host,
                "scim-token",
                "--username",
                ADMIN,
                "--password-stdin",
                "--name",
                "okta",
            ],
            Some(ADMIN_PASSWORD),
        )
        .ok();
    let token = Auth::Bearer(run.stdout.trim().to_string());
    assert!(run.stderr.contains("/scim/v2"), "{}", run.stderr);
    server.get("/scim/v2/Users", &token).expect(200);
    server.get("/api/users/self", &token).expect(401);
    // The saved login is not touched.
    assert!(!cli.config_path().exists());

    // Not for users who are not administrators.
    server.register_id("plain_user");
    let refused = cli
        .run_with(
            &[
                "--host",
                &cli.host,
                "scim-token",
                "--username",
                "plain_user",
                "--password-stdin",
            ],
            Some(PASSWORD),
        )
        .fails();
    assert!(
        refused.contains("403") || refused.contains("permission"),
        "{refused}"
    );
}
