//! The SDK against the real server: every method of UsersApi, AuthApi and ServerApi, every kind
//! of credentials, error statuses and bodies, paging, personal access tokens.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use std::collections::BTreeSet;
use std::time::Duration;

use cvat_sdk::{
    AccessTokenWriteRequest, ApiClient, Configuration, Credentials, Error, ErrorBody, LoginRequest,
    MetaUser, OrgContext, PageParams, PageSize, PasswordChangeRequest, PatchedUserRequest,
    RegisterRequest, UsersListParams,
};
use cvat_testkit::{TestServer, ADMIN, ADMIN_PASSWORD, PASSWORD};
use serde_json::json;

/// The status and body of an API error; panics on success or another kind of error.
#[track_caller]
fn api_error<T: std::fmt::Debug>(result: Result<T, Error>) -> (u16, ErrorBody) {
    match result {
        Err(Error::Api { status, body, .. }) => (status.as_u16(), body),
        other => panic!("expected an API error, got {other:?}"),
    }
}

fn full(user: MetaUser) -> cvat_sdk::User {
    match user {
        MetaUser::Full(u) => u,
        MetaUser::Basic(b) => panic!("expected a full user, got {b:?}"),
    }
}

fn ids(users: &[MetaUser]) -> Vec<i64> {
    users.iter().map(MetaUser::id).collect()
}

#[test]
fn about_is_anonymous() {
    let server = TestServer::start();
    let about = server.anonymous().server_api().about().unwrap();
    assert_eq!(about.name, "Computer Vision Annotation Tool");
    assert!(!about.version.is_empty());
    assert!(!about.description.is_empty());
}

#[test]
fn host_with_trailing_slash_and_bad_hosts() {
    let server = TestServer::start();
    let client = ApiClient::new(Configuration::new(format!("{}/", server.base))).unwrap();
    client.server_api().about().unwrap();

    assert!(matches!(
        ApiClient::new(Configuration::new("ftp://example.com")),
        Err(Error::Config(_))
    ));
    assert!(matches!(
        ApiClient::new(Configuration::new("not a url")),
        Err(Error::Config(_))
    ));

    // Nothing listens there: a transport error naming the URL, without a status.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = ApiClient::new(Configuration::new(format!("http://127.0.0.1:{port}"))).unwrap();
    let err = dead.users_api().users_retrieve_self().unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
    assert_eq!(err.status(), None);
    let line = err.to_string();
    assert!(
        line.starts_with(&format!(
            "cannot reach http://127.0.0.1:{port}/api/users/self: "
        )),
        "{line}"
    );
    assert!(line.to_lowercase().contains("refused"), "{line}");
}

#[test]
fn basic_token_bearer_and_anonymous_credentials() {
    let server = TestServer::start();

    let basic = server.admin_client();
    let me = full(basic.users_api().users_retrieve_self().unwrap());
    assert_eq!(me.username, ADMIN);
    assert!(me.is_superuser && me.is_staff);
    assert_eq!(me.groups, vec!["admin".to_string()]);

    // Token: the key a login returns.
    let key = server
        .anonymous()
        .auth_api()
        .login(&LoginRequest::new(ADMIN, ADMIN_PASSWORD))
        .unwrap()
        .key;
    assert_eq!(key.len(), 40);
    let token = server.client(Some(Credentials::Token(key)));
    assert_eq!(
        token.users_api().users_retrieve_self().unwrap().username(),
        ADMIN
    );

    // Bearer: a personal access token.
    let pat = basic
        .auth_api()
        .access_tokens_create(&AccessTokenWriteRequest {
            name: Some("sdk".into()),
            ..Default::default()
        })
        .unwrap();
    let bearer = server.client(Some(Credentials::Bearer(pat.value.unwrap())));
    assert_eq!(
        bearer.users_api().users_retrieve_self().unwrap().username(),
        ADMIN
    );

    // Anonymous and wrong credentials: 401 with DRF's messages.
    let (status, body) = api_error(server.anonymous().users_api().users_retrieve_self());
    assert_eq!(status, 401);
    assert_eq!(
        body.detail(),
        Some("Authentication credentials were not provided.")
    );
    let (status, body) = api_error(
        server
            .client(Some(Credentials::Token("0".repeat(40))))
            .users_api()
            .users_retrieve_self(),
    );
    assert_eq!((status, body.detail()), (401, Some("Invalid token.")));
    let (status, body) = api_error(
        server
            .client(Some(Credentials::basic(ADMIN, "wrong")))
            .users_api()
            .users_retrieve_self(),
    );
    assert_eq!(
        (status, body.detail()),
        (401, Some("Invalid username/password."))
    );
    let (status, _) = api_error(
        server
            .client(Some(Credentials::Bearer("nope".into())))
            .users_api()
            .users_retrieve_self(),
    );
    assert_eq!(status, 401);
}

#[test]
fn session_from_login_and_from_configuration() {
    let server = TestServer::start();
    let alice = server.register_id("alice");

    // A login keeps the session cookies and authenticates with them, unsafe methods included
    // (the client sends X-CSRFToken and Origin).
    let client = server.anonymous();
    let token = client
        .auth_api()
        .login(&LoginRequest::new("alice", PASSWORD))
        .unwrap();
    assert_eq!(token.key.len(), 40);
    let sessionid = client.cookie("sessionid").expect("sessionid cookie");
    let csrftoken = client.cookie("csrftoken").expect("csrftoken cookie");
    assert_eq!(
        client.users_api().users_retrieve_self().unwrap().id(),
        alice
    );
    let patch = PatchedUserRequest {
        first_name: Some("Alice".into()),
        ..Default::default()
    };
    // Non-staff get the basic view in PATCH answers.
    client
        .users_api()
        .users_partial_update(alice, &patch)
        .unwrap();
    assert_eq!(
        full(client.users_api().users_retrieve_self().unwrap()).first_name,
        "Alice"
    );

    // The same session handed to another client as configured credentials.
    let other = server.client(Some(Credentials::session(
        sessionid.clone(),
        csrftoken.clone(),
    )));
    assert_eq!(
        other.users_api().users_retrieve_self().unwrap().username(),
        "alice"
    );
    let patch = PatchedUserRequest {
        last_name: Some("Liddell".into()),
        ..Default::default()
    };
    other
        .users_api()
        .users_partial_update(alice, &patch)
        .unwrap();

    // That PATCH passed the server's CSRF check: without X-CSRFToken the same cookies are refused.
    let bare = reqwest::blocking::Client::new()
        .patch(format!("{}/api/users/{alice}", server.base))
        .header(
            "Cookie",
            format!("csrftoken={csrftoken}; sessionid={sessionid}"),
        )
        .json(&json!({"last_name": "X"}))
        .send()
        .unwrap();
    assert_eq!(bare.status().as_u16(), 403);

    // Logout ends the session and forgets the cookies.
    let detail = client.auth_api().logout().unwrap();
    assert_eq!(detail.detail, "Successfully logged out.");
    assert!(client.cookies().is_empty());
    assert_eq!(api_error(client.users_api().users_retrieve_self()).0, 401);
    assert_eq!(api_error(other.users_api().users_retrieve_self()).0, 401);
}

#[test]
fn signed_url_credentials() {
    let server = TestServer::start();
    let admin = server.admin_client();
    let signed = admin
        .auth_api()
        .signing(&format!("{}/api/users/self", server.base))
        .unwrap();
    let credentials = Credentials::from_signed_url(&signed).expect("a sign parameter");
    let client = server.client(Some(credentials));
    assert_eq!(
        client.users_api().users_retrieve_self().unwrap().username(),
        ADMIN
    );
    // The signature covers that URL only.
    let (status, body) = api_error(client.users_api().users_list(&UsersListParams::default()));
    assert_eq!((status, body.detail()), (401, Some("Invalid signature.")));
}

#[test]
fn retrieve_update_destroy() {
    let server = TestServer::start();
    let admin = server.admin_client();
    let users = admin.users_api();
    let bob = server.register_id("bob_the_builder");
    let carol = server.register_id("carol");

    // Admin sees everybody in full.
    let u = full(users.users_retrieve(bob, &OrgContext::default()).unwrap());
    assert_eq!(
        (u.id, u.username.as_str(), u.email.as_str()),
        (bob, "bob_the_builder", "bob_the_builder@example.com")
    );
    assert_eq!(u.groups, vec!["user".to_string()]);
    assert!(u.url.ends_with(&format!("/api/users/{bob}")));

    // Each field of PatchedUserRequest.
    let patch = PatchedUserRequest {
        username: Some("bob".into()),
        first_name: Some("Bob".into()),
        last_name: Some("Builder".into()),
        email: Some("bob@example.org".into()),
        groups: Some(vec!["business".into(), "worker".into()]),
        is_staff: Some(true),
        is_superuser: Some(false),
        is_active: Some(false),
    };
    let u = full(users.users_partial_update(bob, &patch).unwrap());
    assert_eq!(
        (
            u.username.as_str(),
            u.first_name.as_str(),
            u.last_name.as_str()
        ),
        ("bob", "Bob", "Builder")
    );
    assert_eq!(u.email, "bob@example.org");
    let groups: BTreeSet<_> = u.groups.iter().map(String::as_str).collect();
    assert_eq!(groups, BTreeSet::from(["business", "worker"]));
    assert!(u.is_staff && !u.is_superuser && !u.is_active);
    // Only the fields that are set are sent: an empty patch changes nothing.
    let same = full(
        users
            .users_partial_update(bob, &PatchedUserRequest::default())
            .unwrap(),
    );
    assert_eq!(same, u);
    assert_eq!(
        full(users.users_retrieve(bob, &OrgContext::default()).unwrap()),
        u
    );

    // Validation errors come back as a field map.
    let bad = PatchedUserRequest {
        email: Some("not-an-email".into()),
        ..Default::default()
    };
    let (status, body) = api_error(users.users_partial_update(bob, &bad));
    assert_eq!(status, 400);
    assert!(body.json().unwrap().get("email").is_some(), "{body:?}");
    assert!(body.message().starts_with("email: "), "{}", body.message());

    // A non-admin: himself in full, somebody else 403, no PATCH/DELETE of others.
    let carol_client = server.user("carol");
    let me = full(
        carol_client
            .users_api()
            .users_retrieve(carol, &OrgContext::default())
            .unwrap(),
    );
    assert_eq!(me.username, "carol");
    let (status, body) = api_error(
        carol_client
            .users_api()
            .users_retrieve(1, &OrgContext::default()),
    );
    assert_eq!(
        (status, body.detail()),
        (
            403,
            Some("You do not have permission to perform this action.")
        )
    );
    let err = carol_client.users_api().users_destroy(1).unwrap_err();
    assert_eq!(
        err.to_string(),
        "403 Forbidden: You do not have permission to perform this action."
    );
    assert!(err.is_status(403));

    // Delete, then 404.
    users.users_destroy(bob).unwrap();
    let (status, body) = api_error(users.users_retrieve(bob, &OrgContext::default()));
    assert_eq!((status, body.detail()), (404, Some("Not found.")));
    assert_eq!(api_error(users.users_destroy(bob)).0, 404);

    // A user may delete himself.
    carol_client.users_api().users_destroy(carol).unwrap();
    assert_eq!(
        api_error(carol_client.users_api().users_retrieve_self()).0,
        401
    );
}

#[test]
fn list_parameters() {
    let server = TestServer::start();
    let admin = server.admin_client();
    let users = admin.users_api();
    let names = [
        ("ann_smith", "Ann", "Smith"),
        ("ben_jones", "Ben", "Jones"),
        ("cat_smith", "Cat", "Smith"),
    ];
    let mut id = std::collections::HashMap::new();
    for (username, first, last) in names {
        let uid = server.register_id(username);
        let patch = PatchedUserRequest {
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            ..Default::default()
        };
        users.users_partial_update(uid, &patch).unwrap();
        id.insert(username, uid);
    }
    users
        .users_partial_update(
            id["cat_smith"],
            &PatchedUserRequest {
                is_active: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    let list = |p: UsersListParams| users.users_list(&p).unwrap();

    let all = list(UsersListParams::default());
    assert_eq!(all.count, 4);
    assert_eq!(
        ids(&all.results),
        vec![id["cat_smith"], id["ben_jones"], id["ann_smith"], 1],
        "default order -id"
    );
    assert!(all.next.is_none() && all.previous.is_none());
    assert!(
        matches!(all.results[0], MetaUser::Full(_)),
        "staff get full users"
    );

    let smiths = list(UsersListParams {
        search: Some("smith".into()),
        ..Default::default()
    });
    assert_eq!(smiths.count, 2);
    let active = list(UsersListParams {
        filter: Some(
            r#"{"and": [{"==": [{"var": "is_active"}, true]}, {">": [{"var": "id"}, 1]}]}"#.into(),
        ),
        ..Default::default()
    });
    assert_eq!(ids(&active.results), vec![id["ben_jones"], id["ann_smith"]]);
    let sorted = list(UsersListParams {
        sort: Some("username".into()),
        ..Default::default()
    });
    let order: Vec<_> = sorted
        .results
        .iter()
        .map(|u| u.username().to_string())
        .collect();
    assert_eq!(order, ["admin", "ann_smith", "ben_jones", "cat_smith"]);
    // Each simple filter on its own, and how many users it matches.
    for (params, count) in [
        (
            UsersListParams {
                username: Some("ben_jones".into()),
                ..Default::default()
            },
            1,
        ),
        (
            UsersListParams {
                first_name: Some("Ann".into()),
                ..Default::default()
            },
            1,
        ),
        (
            UsersListParams {
                last_name: Some("Smith".into()),
                ..Default::default()
            },
            2,
        ),
        (
            UsersListParams {
                is_active: Some(false),
                ..Default::default()
            },
            1,
        ),
        (
            UsersListParams {
                is_active: Some(true),
                ..Default::default()
            },
            3,
        ),
    ] {
        let what = format!("{params:?}");
        assert_eq!(list(params).count, count, "{what}");
    }

    // Paging: page, page_size, "all", a page past the end.
    let p2 = list(UsersListParams {
        page: Some(2),
        page_size: Some(PageSize::Count(3)),
        ..Default::default()
    });
    assert_eq!((p2.count, p2.results.len()), (4, 1));
    assert!(p2.next.is_none());
    assert!(p2.previous.as_deref().unwrap().contains("page_size=3"));
    let one = list(UsersListParams {
        page_size: Some(1.into()),
        ..Default::default()
    });
    assert!(one.next.as_deref().unwrap().contains("page=2"));
    let everything = list(UsersListParams {
        page_size: Some(PageSize::All),
        ..Default::default()
    });
    assert_eq!(everything.results.len(), 4);
    let (status, body) = api_error(users.users_list(&UsersListParams {
        page: Some(9),
        ..Default::default()
    }));
    assert_eq!((status, body.detail()), (404, Some("Invalid page.")));

    // A filter that is not JSON: 400 with a list of messages.
    let (status, body) = api_error(users.users_list(&UsersListParams {
        filter: Some("{oops".into()),
        ..Default::default()
    }));
    assert_eq!(status, 400);
    assert!(body.json().unwrap().is_array(), "{body:?}");
    assert!(!body.message().is_empty());

    // A non-admin gets basic users in lists.
    let ann = server.user("ann_smith");
    let page = ann
        .users_api()
        .users_list(&UsersListParams::default())
        .unwrap();
    assert!(
        page.results.iter().all(|u| matches!(u, MetaUser::Basic(_))),
        "{page:?}"
    );
}

#[test]
fn list_all_follows_next_over_many_pages() {
    let server = TestServer::start();
    let admin = server.admin_client();
    let mut registered = Vec::new();
    for i in 0..13 {
        registered.push(server.register_id(&format!("pager{i:02}")));
    }
    let users = admin.users_api();

    // Default page size 10: 14 users on 2 pages.
    let all: Vec<MetaUser> = users
        .users_list_all(UsersListParams::default())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(all.len(), 14);
    let unique: BTreeSet<i64> = all.iter().map(MetaUser::id).collect();
    assert_eq!(unique.len(), 14);
    assert!(registered.iter().all(|id| unique.contains(id)));

    // Pages keep the query: 13 "pager" users, 4 at a time, sorted by username.
    let params = UsersListParams {
        search: Some("pager".into()),
        sort: Some("username".into()),
        page_size: Some(PageSize::Count(4)),
        ..Default::default()
    };
    let pages: Vec<_> = users
        .users_list_pages(params.clone())
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        pages.iter().map(|p| p.results.len()).collect::<Vec<_>>(),
        vec![4, 4, 4, 1]
    );
    assert!(pages.iter().all(|p| p.count == 13));
    let names: Vec<String> = users
        .users_list_all(params)
        .map(|u| u.unwrap().username().to_string())
        .collect();
    let expected: Vec<String> = (0..13).map(|i| format!("pager{i:02}")).collect();
    assert_eq!(names, expected);

    // Starting at a later page.
    let rest: Vec<_> = users
        .users_list_all(UsersListParams {
            page: Some(2),
            ..Default::default()
        })
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    assert_eq!(rest.len(), 4);

    // An error is yielded once, then the iterator ends.
    let anon = server.anonymous();
    let mut failing = anon.users_api().users_list_all(UsersListParams::default());
    assert!(failing.next().unwrap().unwrap_err().is_status(401));
    assert!(failing.next().is_none());
}

#[test]
fn register_login_password_change_logout() {
    let server = TestServer::start();
    let anon = server.anonymous();
    let auth = anon.auth_api();

    let mut req = RegisterRequest::new("dora_explorer", "dora@example.com", PASSWORD);
    req.first_name = Some("Dora".into());
    let reg = auth.register(&req).unwrap();
    assert_eq!(
        (
            reg.username.as_str(),
            reg.email.as_str(),
            reg.first_name.as_str()
        ),
        ("dora_explorer", "dora@example.com", "Dora")
    );
    assert!(anon.cookie("sessionid").is_some(), "registration logs in");

    // Registration errors: a field map.
    let (status, body) = api_error(
        server
            .anonymous()
            .auth_api()
            .register(&RegisterRequest::new(
                "dora_explorer",
                "d2@example.com",
                PASSWORD,
            )),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body.message(),
        "username: A user with that username already exists."
    );

    // Wrong password: 400 with non_field_errors (its message without the field name).
    let (status, body) = api_error(
        server
            .anonymous()
            .auth_api()
            .login(&LoginRequest::new("dora_explorer", "nope")),
    );
    assert_eq!(status, 400);
    assert_eq!(
        body.message(),
        "Unable to log in with provided credentials."
    );

    // Login by e-mail, then change the password through that session.
    let client = server.anonymous();
    client
        .auth_api()
        .login(&LoginRequest::with_email("dora@example.com", PASSWORD))
        .unwrap();
    let new_password = "An0ther-Secret-99";
    let (status, body) = api_error(
        client
            .auth_api()
            .password_change(&PasswordChangeRequest::new("wrong", new_password)),
    );
    assert_eq!(status, 400);
    assert!(
        body.message().starts_with("old_password: "),
        "{}",
        body.message()
    );
    let detail = client
        .auth_api()
        .password_change(&PasswordChangeRequest::new(PASSWORD, new_password))
        .unwrap();
    assert_eq!(detail.detail, "New password has been saved.");
    assert_eq!(
        api_error(
            server
                .anonymous()
                .auth_api()
                .login(&LoginRequest::new("dora_explorer", PASSWORD))
        )
        .0,
        400
    );
    let key = server
        .anonymous()
        .auth_api()
        .login(&LoginRequest::new("dora_explorer", new_password))
        .unwrap()
        .key;

    // Logout also deletes the user's API token.
    let token_client = server.client(Some(Credentials::Token(key)));
    token_client.users_api().users_retrieve_self().unwrap();
    client.auth_api().logout().unwrap();
    let (status, body) = api_error(token_client.users_api().users_retrieve_self());
    assert_eq!((status, body.detail()), (401, Some("Invalid token.")));
}

#[test]
fn personal_access_tokens() {
    let server = TestServer::start();
    let admin = server.admin_client();
    let auth = admin.auth_api();

    let created = auth
        .access_tokens_create(&AccessTokenWriteRequest {
            name: Some("ci".into()),
            ..Default::default()
        })
        .unwrap();
    let value = created.value.clone().expect("value on creation");
    assert_eq!(
        (
            created.name.as_str(),
            created.read_only,
            created.owner.username.as_str()
        ),
        ("ci", false, ADMIN)
    );
    assert!(created.expiry_date.is_none() && created.last_used_date.is_none());

    // Shown once: never again in a retrieve or a list.
    let again = auth.access_tokens_retrieve(created.id).unwrap();
    assert_eq!((again.id, again.value), (created.id, None));
    let listed = auth.access_tokens_list(&PageParams::default()).unwrap();
    assert_eq!(listed.count, 1);
    assert!(listed.results.iter().all(|t| t.value.is_none()));

    // Used as Bearer: full access, /self names the token, its use is recorded.
    let bearer = server.client(Some(Credentials::Bearer(value)));
    assert_eq!(
        bearer.auth_api().access_tokens_retrieve_self().unwrap().id,
        created.id
    );
    let patch = PatchedUserRequest {
        first_name: Some("Root".into()),
        ..Default::default()
    };
    bearer.users_api().users_partial_update(1, &patch).unwrap();
    let mut used = None;
    for _ in 0..50 {
        used = auth
            .access_tokens_retrieve(created.id)
            .unwrap()
            .last_used_date;
        if used.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(used.is_some(), "last_used_date recorded");
    // /self is for Bearer requests only.
    assert_eq!(api_error(auth.access_tokens_retrieve_self()).0, 404);

    // Read-only: safe methods work, unsafe ones get 403.
    let ro = auth
        .access_tokens_create(&AccessTokenWriteRequest {
            name: Some("reader".into()),
            read_only: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert!(ro.read_only);
    let reader = server.client(Some(Credentials::Bearer(ro.value.unwrap())));
    reader
        .users_api()
        .users_list(&UsersListParams::default())
        .unwrap();
    let (status, body) = api_error(reader.users_api().users_partial_update(1, &patch));
    assert_eq!(
        (status, body.detail()),
        (403, Some("This access token is read-only."))
    );
    assert_eq!(api_error(reader.users_api().users_destroy(1)).0, 403);

    // Update: rename, make writable.
    let renamed = auth
        .access_tokens_partial_update(
            ro.id,
            &AccessTokenWriteRequest {
                name: Some("writer".into()),
                read_only: Some(false),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        (renamed.name.as_str(), renamed.read_only),
        ("writer", false)
    );
    reader.users_api().users_partial_update(1, &patch).unwrap();

    // Paging over the tokens.
    let pages: Vec<_> = auth
        .access_tokens_list_pages(&PageParams {
            page: None,
            page_size: Some(PageSize::Count(1)),
        })
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(pages.len(), 2);

    // Revoked: 401.
    auth.access_tokens_destroy(created.id).unwrap();
    let (status, body) = api_error(bearer.users_api().users_retrieve_self());
    assert_eq!((status, body.detail()), (401, Some("Invalid token.")));
    assert_eq!(api_error(auth.access_tokens_retrieve(created.id)).0, 404);

    // Validation: a name is required, an expiry must be in the future.
    let (status, body) = api_error(auth.access_tokens_create(&AccessTokenWriteRequest::default()));
    assert_eq!(
        (status, body.message().as_str()),
        (400, "name: This field is required.")
    );
    let past = AccessTokenWriteRequest {
        name: Some("old".into()),
        expiry_date: Some("2001-01-01T00:00:00Z".into()),
        ..Default::default()
    };
    assert_eq!(api_error(auth.access_tokens_create(&past)).0, 400);

    // Expired: 401 once its expiry has passed.
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(2))
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let short = auth
        .access_tokens_create(&AccessTokenWriteRequest {
            name: Some("short".into()),
            expiry_date: Some(soon),
            ..Default::default()
        })
        .unwrap();
    assert!(short.expiry_date.is_some());
    let short_client = server.client(Some(Credentials::Bearer(short.value.unwrap())));
    short_client.users_api().users_retrieve_self().unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    let (status, body) = api_error(short_client.users_api().users_retrieve_self());
    assert_eq!((status, body.detail()), (401, Some("Token has expired.")));

    // Another user's tokens are invisible.
    server.register_id("eve_nosy");
    let eve = server.user("eve_nosy");
    assert_eq!(
        eve.auth_api()
            .access_tokens_list(&PageParams::default())
            .unwrap()
            .count,
        0
    );
    assert_eq!(
        api_error(eve.auth_api().access_tokens_retrieve(ro.id)).0,
        404
    );
}

#[test]
fn organization_context() {
    let server = TestServer::start();
    server.register_id("frank");
    let admin = server.admin_client();

    // No OrganizationsApi in this SDK: create one over plain HTTP.
    let created = reqwest::blocking::Client::new()
        .post(format!("{}/api/organizations", server.base))
        .basic_auth(ADMIN, Some(ADMIN_PASSWORD))
        .json(&json!({"slug": "lab", "name": "The Lab"}))
        .send()
        .unwrap();
    assert_eq!(
        created.status().as_u16(),
        201,
        "{}",
        created.text().unwrap_or_default()
    );

    let users = admin.users_api();
    assert_eq!(
        users.users_list(&UsersListParams::default()).unwrap().count,
        2
    );
    // The organization's members only: its owner.
    for params in [
        UsersListParams {
            org: Some("lab".into()),
            ..Default::default()
        },
        UsersListParams {
            x_organization: Some("lab".into()),
            ..Default::default()
        },
    ] {
        let page = users.users_list(&params).unwrap();
        assert_eq!(ids(&page.results), vec![1], "{params:?}");
    }
    let lab = ApiClient::new(
        Configuration::new(&server.base)
            .with_credentials(Credentials::basic(ADMIN, ADMIN_PASSWORD))
            .with_organization("lab"),
    )
    .unwrap();
    assert_eq!(
        lab.users_api()
            .users_list(&UsersListParams::default())
            .unwrap()
            .count,
        1
    );
    let with_org = OrgContext {
        org: Some("lab".into()),
        ..Default::default()
    };
    assert_eq!(users.users_retrieve(1, &with_org).unwrap().id(), 1);

    let (status, body) = api_error(users.users_list(&UsersListParams {
        org: Some("nope".into()),
        ..Default::default()
    }));
    assert_eq!(
        (status, body.detail()),
        (400, Some("nope organization does not exist."))
    );
}

#[test]
fn bearer_token_acts_as_its_owner() {
    let server = TestServer::start();
    let alice = server.register_id("alice");
    let bob = server.register_id("bob_b");
    let admin = server.admin_client();
    // Two tokens of the admin first, so that alice's token gets id 3: bob's user id.
    for name in ["one", "two"] {
        let req = AccessTokenWriteRequest {
            name: Some(name.into()),
            ..Default::default()
        };
        admin.auth_api().access_tokens_create(&req).unwrap();
    }
    let req = AccessTokenWriteRequest {
        name: Some("alice's".into()),
        ..Default::default()
    };
    let token = server
        .user("alice")
        .auth_api()
        .access_tokens_create(&req)
        .unwrap();
    assert_eq!(token.owner.id, alice);
    assert_eq!(
        token.id, bob,
        "test premise: the token id is another user's id"
    );

    let client = server.client(Some(Credentials::Bearer(token.value.unwrap())));
    let me = client.users_api().users_retrieve_self().unwrap();
    assert_eq!((me.id(), me.username()), (alice, "alice"));
    // Bob is somebody else to alice, whatever her token's id.
    let patch = PatchedUserRequest {
        first_name: Some("Pwned".into()),
        ..Default::default()
    };
    assert_eq!(
        api_error(client.users_api().users_partial_update(bob, &patch)).0,
        403
    );
    assert_eq!(api_error(client.users_api().users_destroy(bob)).0, 403);
    // Her own token, by its id.
    assert_eq!(
        client.auth_api().access_tokens_retrieve_self().unwrap().id,
        token.id
    );
    client.auth_api().access_tokens_destroy(token.id).unwrap();
    assert_eq!(api_error(client.users_api().users_retrieve_self()).0, 401);
}
