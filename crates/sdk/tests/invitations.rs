//! The SDK's InvitationsApi and AuthApi's password reset against the real server and a real SMTP
//! receiver: keys and links are read from the mails as received.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_sdk::{
    Credentials, Error, InvitationWriteRequest, InvitationsListParams, OrgContext,
    PasswordResetConfirmRequest,
};
use cvat_testkit::smtp::SmtpReceiver;
use cvat_testkit::{TestServer, PASSWORD};
use serde_json::json;

fn start(smtp: &SmtpReceiver, extra: &[&str]) -> TestServer {
    let url = smtp.url();
    let mut flags = vec!["--smtp-url", url.as_str(), "--mail-retry-delay", "0.2"];
    flags.extend_from_slice(extra);
    TestServer::start_with(&flags)
}

#[track_caller]
fn status<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, serde_json::Value) {
    match result {
        Err(Error::Api { status, body, .. }) => {
            (status.as_u16(), body.json().cloned().unwrap_or_default())
        }
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn in_org(slug: &str) -> OrgContext {
    OrgContext {
        org: Some(slug.into()),
        ..Default::default()
    }
}

fn invite(email: &str, role: &str) -> InvitationWriteRequest {
    InvitationWriteRequest {
        role: role.into(),
        email: email.into(),
    }
}

/// `owner1` (business) owns `org1`; `bobby1` and `carol1` have accounts.
fn world(s: &TestServer) {
    let admin = s.admin();
    let (_, owner) = s.register_as(&admin, "owner1", &["business"], false, false);
    s.post(
        "/api/organizations",
        &owner,
        json!({"slug": "org1", "name": "Org One"}),
    )
    .expect(201);
    s.register_all(&["bobby1", "carol1"]);
}

#[test]
fn invitations_are_created_accepted_declined_resent_and_deleted() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &["--org-invitation-confirm=yes"]);
    world(&s);
    let (owner, bob, carol) = (s.user("owner1"), s.user("bobby1"), s.user("carol1"));

    // Created and mailed: the mail carries the same key; bob sees it in his own list.
    let created = owner
        .invitations_api()
        .invitations_create(&invite("bobby1@example.com", "supervisor"), &in_org("org1"))
        .unwrap();
    assert!(!created.accepted);
    assert_eq!(created.role, "supervisor");
    assert_eq!(created.organization_info.slug, "org1");
    assert_eq!(created.user.username, "bobby1");
    let mail = smtp.wait_for(1).remove(0);
    assert_eq!(mail.to, vec!["bobby1@example.com".to_string()]);
    let key = mail.invitation_key();
    assert_eq!(key, created.key);
    let mine = bob
        .invitations_api()
        .invitations_list(&InvitationsListParams::default())
        .unwrap();
    assert_eq!(mine.count, 1);
    assert_eq!(mine.results[0].key, key);
    assert_eq!(
        bob.invitations_api()
            .invitations_retrieve(&key)
            .unwrap()
            .expired,
        Some(false)
    );

    // Only the invitee accepts; once.
    assert_eq!(
        status(carol.invitations_api().invitations_accept(&key)).0,
        403
    );
    let joined = bob.invitations_api().invitations_accept(&key).unwrap();
    assert_eq!(joined.organization_slug, "org1");
    assert_eq!(
        status(bob.invitations_api().invitations_accept(&key)),
        (400, json!("Your invitation is already accepted."))
    );
    assert!(
        bob.invitations_api()
            .invitations_retrieve(&key)
            .unwrap()
            .accepted
    );

    // Resent by the owner (not by the invitee), then declined by the invitee: gone.
    let for_carol = owner
        .invitations_api()
        .invitations_create(&invite("carol1@example.com", "worker"), &in_org("org1"))
        .unwrap();
    assert_eq!(
        status(carol.invitations_api().invitations_resend(&for_carol.key)).0,
        403
    );
    owner
        .invitations_api()
        .invitations_resend(&for_carol.key)
        .unwrap();
    let mails = smtp.wait_for(3);
    assert_eq!(mails[1].invitation_key(), for_carol.key);
    assert_eq!(mails[2].invitation_key(), for_carol.key);
    carol
        .invitations_api()
        .invitations_decline(&for_carol.key)
        .unwrap();
    assert_eq!(
        status(owner.invitations_api().invitations_retrieve(&for_carol.key)),
        (
            404,
            json!({"detail": "No Invitation matches the given query."})
        )
    );

    // An address without an account; withdrawn by the owner.
    let for_dave = owner
        .invitations_api()
        .invitations_create(&invite("dave1@example.com", "worker"), &in_org("org1"))
        .unwrap();
    assert_eq!(for_dave.user.username, "dave1@example.com");
    owner
        .invitations_api()
        .invitations_destroy(&for_dave.key)
        .unwrap();
    assert_eq!(
        status(owner.invitations_api().invitations_retrieve(&for_dave.key)).0,
        404
    );

    // The organization's list, every page, in the organization's context.
    let params = InvitationsListParams {
        org: in_org("org1"),
        paging: cvat_sdk::PageParams {
            page_size: Some(cvat_sdk::PageSize::Count(1)),
            ..Default::default()
        },
        ..Default::default()
    };
    let keys: Vec<String> = owner
        .invitations_api()
        .invitations_list_pages(&params)
        .flat_map(|p| p.unwrap().results)
        .map(|i| i.key)
        .collect();
    assert_eq!(keys, vec![key.clone()]);

    // Bad input: an invalid address, a key that does not exist, no organization.
    assert_eq!(
        status(
            owner
                .invitations_api()
                .invitations_create(&invite("not-an-address", "worker"), &in_org("org1"))
        ),
        (400, json!({"email": ["Enter a valid email address."]}))
    );
    assert_eq!(
        status(owner.invitations_api().invitations_accept("nosuchkey")).0,
        404
    );
    assert_eq!(
        status(
            owner
                .invitations_api()
                .invitations_create(&invite("x@example.com", "worker"), &OrgContext::default())
        )
        .0,
        403
    );
}

#[test]
fn cvat_2_3_patch_accepts_for_the_invitee() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &["--org-invitation-confirm=yes"]);
    world(&s);
    let (owner, bob) = (s.user("owner1"), s.user("bobby1"));
    let inv = owner
        .invitations_api()
        .invitations_create(&invite("bobby1@example.com", "worker"), &in_org("org1"))
        .unwrap();
    // The owner's PATCH resends; the invitee's PATCH with `accepted` accepts.
    let resent = owner
        .invitations_api()
        .invitations_partial_update(&inv.key, false)
        .unwrap();
    assert!(!resent.accepted);
    smtp.wait_for(2);
    let accepted = bob
        .invitations_api()
        .invitations_partial_update(&inv.key, true)
        .unwrap();
    assert!(accepted.accepted);
}

#[test]
fn a_password_is_reset_with_the_mailed_link() {
    let smtp = SmtpReceiver::start();
    let s = start(&smtp, &[]);
    s.register("frank1");
    let anonymous = s.anonymous();
    let sent = anonymous
        .auth_api()
        .password_reset("frank1@example.com")
        .unwrap();
    // An unknown address gets the same answer and no mail.
    let unknown = anonymous
        .auth_api()
        .password_reset("nobody@example.com")
        .unwrap();
    assert_eq!(sent.detail, unknown.detail);
    let mail = smtp.wait_for(1).remove(0);
    assert_eq!(mail.to, vec!["frank1@example.com".to_string()]);
    let (_, uid, token) = mail.reset_link();

    let request = |p1: &str, p2: &str, token: &str| PasswordResetConfirmRequest {
        new_password1: p1.into(),
        new_password2: p2.into(),
        uid: uid.clone(),
        token: token.into(),
    };
    const NEW: &str = "An0ther-Secret-77";
    assert_eq!(
        status(
            anonymous
                .auth_api()
                .password_reset_confirm(&request(NEW, "different", &token))
        ),
        (
            400,
            json!({"new_password2": ["The two password fields didn\u{2019}t match."]})
        )
    );
    assert_eq!(
        status(
            anonymous
                .auth_api()
                .password_reset_confirm(&request(NEW, NEW, "bad-token"))
        ),
        (400, json!({"token": ["Invalid value"]}))
    );
    anonymous
        .auth_api()
        .password_reset_confirm(&request(NEW, NEW, &token))
        .unwrap();
    // The new password works, the old one does not, and the link works once.
    let with = |password: &str| {
        s.client(Some(Credentials::basic("frank1", password)))
            .users_api()
            .users_retrieve_self()
    };
    assert_eq!(with(NEW).unwrap().username(), "frank1");
    assert_eq!(status(with(PASSWORD)).0, 401);
    assert_eq!(
        status(
            anonymous
                .auth_api()
                .password_reset_confirm(&request(NEW, NEW, &token))
        )
        .0,
        400
    );
    assert_eq!(smtp.messages().len(), 1);
}
