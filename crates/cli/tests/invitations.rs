//! `cvat-users invitations ...` and `cvat-users password-reset ...` against the real server and a
//! real SMTP receiver: keys and links are taken from the mails as received.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_testkit::cli::Cli;
use cvat_testkit::smtp::SmtpReceiver;
use cvat_testkit::{TestServer, PASSWORD};
use serde_json::json;

fn start(smtp: &SmtpReceiver, extra: &[&str]) -> TestServer {
    let url = smtp.url();
    let mut flags = vec!["--smtp-url", url.as_str(), "--mail-retry-delay", "0.2"];
    flags.extend_from_slice(extra);
    TestServer::start_with(&flags)
}

#[test]
fn an_owner_invites_and_the_invitee_accepts_or_declines() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &["--org-invitation-confirm=yes"]);
    let admin = s.admin();
    let (_, owner_token) = s.register_as(&admin, "owner2", &["business"], false, false);
    s.post(
        "/api/organizations",
        &owner_token,
        json!({"slug": "team2", "name": "Team"}),
    )
    .expect(201);
    s.register_all(&["bobby2", "carol2"]);
    let owner = Cli::logged_in(&s, "owner2", PASSWORD);
    let bob = Cli::logged_in(&s, "bobby2", PASSWORD);
    let carol = Cli::logged_in(&s, "carol2", PASSWORD);

    // Without an organization the command says what is missing, before any request.
    let err = owner
        .run(&["invitations", "invite", "bobby2@example.com"])
        .fails();
    assert!(err.contains("--org"), "{err}");

    let run = owner
        .run(&[
            "--org",
            "team2",
            "invitations",
            "invite",
            "bobby2@example.com",
            "--role",
            "supervisor",
        ])
        .ok();
    assert!(
        run.stdout
            .contains("Invited bobby2 (mailed; waiting for an answer)"),
        "{run:?}"
    );
    let key = smtp.wait_for(1)[0].invitation_key();
    assert!(run.stdout.contains(&key), "{run:?}");

    // The invitee's own list, as JSON.
    let listed = bob
        .run(&["--output", "json", "invitations", "list"])
        .ok()
        .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["key"], key.as_str());
    assert_eq!(listed[0]["organization_info"]["slug"], "team2");

    // Someone else cannot accept; the invitee can, once.
    let err = carol.run(&["invitations", "accept", &key]).fails();
    assert!(err.contains("permission"), "{err}");
    let run = bob.run(&["invitations", "accept", &key]).ok();
    assert_eq!(run.stdout.trim(), "Joined organization team2.");
    let err = bob.run(&["invitations", "accept", &key]).fails();
    assert!(err.contains("already accepted"), "{err}");

    // Resent, then declined; gone afterwards.
    owner
        .run(&[
            "--org",
            "team2",
            "invitations",
            "invite",
            "carol2@example.com",
        ])
        .ok();
    let carol_key = smtp.wait_for(2)[1].invitation_key();
    let run = owner.run(&["invitations", "resend", &carol_key]).ok();
    assert_eq!(run.stdout.trim(), "Sent again.");
    assert_eq!(smtp.wait_for(3)[2].invitation_key(), carol_key);
    carol.run(&["invitations", "decline", &carol_key]).ok();
    let err = owner.run(&["invitations", "show", &carol_key]).fails();
    assert!(err.contains("No Invitation matches"), "{err}");

    // The organization's list as CSV: a header and bob's accepted invitation.
    let csv = owner
        .run(&[
            "--org",
            "team2",
            "--output",
            "csv",
            "invitations",
            "list",
            "--all",
        ])
        .ok()
        .stdout;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "KEY,USER,ROLE,ORGANIZATION,ACCEPTED,EXPIRED,INVITED BY"
    );
    assert_eq!(lines.len(), 2, "{csv}");
    assert!(lines[1].starts_with(&format!("{key},bobby2,supervisor,team2,yes,")));

    // Withdrawn by the owner.
    owner
        .run(&[
            "--org",
            "team2",
            "invitations",
            "invite",
            "dan2@example.com",
        ])
        .ok();
    let dan_key = smtp.wait_for(4)[3].invitation_key();
    owner.run(&["invitations", "delete", &dan_key]).ok();
    owner.run(&["invitations", "show", &dan_key]).fails();
}

#[test]
fn a_forgotten_password_is_reset_from_the_mailed_link() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &[]);
    s.register("erin2");
    let cli = Cli::new(&s);
    let run = cli
        .run(&[
            "--host",
            &s.base,
            "password-reset",
            "request",
            "erin2@example.com",
        ])
        .ok();
    assert!(!run.stdout.trim().is_empty());
    let (link, _, _) = smtp.wait_for(1)[0].reset_link();

    const NEW: &str = "Fresh-Secret-2026";
    let confirm = |link: &str| {
        cli.run_with(
            &[
                "--host",
                &s.base,
                "password-reset",
                "confirm",
                "--link",
                link,
                "--password-stdin",
            ],
            Some(NEW),
        )
    };
    let err = confirm("https://example.org/no-link").fails();
    assert!(err.contains("not a password reset link"), "{err}");
    confirm(&link).ok();
    // The link worked once; the new password logs in, the old one no longer does.
    let err = confirm(&link).fails();
    assert!(err.contains("Invalid value"), "{err}");
    Cli::logged_in(&s, "erin2", NEW);
    Cli::new(&s).login("erin2", PASSWORD).fails();
}
