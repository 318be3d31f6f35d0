//! The authentication items of the security audit (issue 18), over real HTTP: signed URLs only
//! read and die with the signer's password, token keys are stored as digests only, changing
//! one's password signs out every other credential and is throttled like a login, and only
//! password credentials mint access tokens or signed URLs.

use reqwest::Method;
use serde_json::json;

use crate::common::*;

const NOT_PROVIDED: &str = "Authentication credentials were not provided.";
const NEW_PASSWORD: &str = "Br4nd-New-Secret";
const TOKENS_NEED_PASSWORD: &str = "Access tokens can only be created with a password login (a session, a Token or Basic credentials), not with an access token or a signed URL.";
const SIGNING_NEEDS_PASSWORD: &str = "Signed URLs can only be created with a password login (a session, a Token or Basic credentials), not with an access token or a signed URL.";
const SIGNED_TOKENS: &str = "Signed URLs cannot be used to manage access tokens.";

/// `path` signed for the holder of `auth`, as a path + query on this server.
#[track_caller]
fn signed(s: &TestServer, auth: &Auth, path: &str) -> String {
    let r = s.post("/api/auth/signing", auth, json!({ "url": s.url(path) }));
    r.expect(200);
    let absolute = r.json().as_str().expect("a JSON string").to_string();
    absolute
        .strip_prefix(&s.base)
        .unwrap_or_else(|| panic!("{absolute} is not on {}", s.base))
        .to_string()
}

fn change_password(s: &TestServer, auth: &Auth, old: &str, new: &str) -> Resp {
    let body = json!({"old_password": old, "new_password1": new, "new_password2": new});
    let mut rb = s
        .request(Method::POST, "/api/auth/password/change", auth)
        .json(&body);
    if let Auth::Session(_, csrf) = auth {
        rb = rb.header("X-CSRFToken", csrf.as_str());
    }
    s.send(rb)
}

/// The session of a login response.
fn session_of(r: &Resp) -> Auth {
    r.expect(200);
    Auth::Session(
        r.cookie("sessionid").expect("sessionid"),
        r.cookie("csrftoken").expect("csrftoken"),
    )
}

fn key_of(r: &Resp) -> String {
    r.expect(200);
    r.json()["key"].as_str().expect("key").to_string()
}

fn bearer(created: &Resp) -> Auth {
    created.expect(201);
    Auth::Bearer(created.json()["value"].as_str().unwrap().to_string())
}

#[track_caller]
fn assert_signed_out(s: &TestServer, auth: &Auth) {
    let r = s.get("/api/users/self", auth);
    assert_eq!(r.status.as_u16(), 401, "{auth:?} still works: {}", r.text);
}

#[track_caller]
fn assert_throttled(r: &Resp) {
    assert_eq!(r.status.as_u16(), 429, "body: {}", r.text);
    assert!(r.json()["detail"].as_str().is_some_and(|d| !d.is_empty()));
    let retry: u64 = r
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
}

// ---------------------------------------------------------------------------------------------
// Signed URLs

#[test]
fn a_signed_url_authenticates_only_get_and_head() {
    let s = TestServer::start();
    let (id, user) = s.register("signer1");
    let path = format!("/api/users/{id}");
    let url = signed(&s, &user, &path);
    assert_eq!(s.get(&url, &Auth::None).json()["id"], id);
    s.send(s.request(Method::HEAD, &url, &Auth::None))
        .expect(200);

    // Any other method answers as if the request carried no credentials at all.
    let body = json!({"first_name": "Signed"});
    for method in [Method::PATCH, Method::PUT, Method::DELETE, Method::POST] {
        let with = s.send(s.request(method.clone(), &url, &Auth::None).json(&body));
        let without = s.send(s.request(method.clone(), &path, &Auth::None).json(&body));
        assert_eq!(
            (with.status, &with.text),
            (without.status, &without.text),
            "{method}"
        );
    }
    assert_detail(
        &s.send(s.request(Method::PATCH, &url, &Auth::None).json(&body)),
        401,
        NOT_PROVIDED,
    );
    let me = s.get("/api/users/self", &user);
    assert_eq!(
        (me.json()["id"].clone(), me.json()["first_name"].clone()),
        (json!(id), json!(""))
    );

    // Signed POSTs to the credential endpoints are anonymous too: nothing is created.
    for (path, body) in [
        ("/api/auth/access_tokens", json!({"name": "minted"})),
        ("/api/auth/signing", json!({"url": "/api/users/self"})),
    ] {
        let url = signed(&s, &user, path);
        assert_detail(&s.post(&url, &Auth::None, body), 401, NOT_PROVIDED);
    }
    let tokens = s.get("/api/auth/access_tokens", &user);
    assert_eq!(tokens.json()["count"], 0, "{}", tokens.text);
}

#[test]
fn a_signed_url_neither_reads_nor_manages_access_tokens_nor_signs() {
    let s = TestServer::start();
    let (_, user) = s.register("signer2");
    let created = s.post("/api/auth/access_tokens", &user, json!({"name": "cli"}));
    created.expect(201);
    let token_id = created.json()["id"].as_i64().unwrap();
    for path in [
        "/api/auth/access_tokens".to_string(),
        "/api/auth/access_tokens/self".to_string(),
        format!("/api/auth/access_tokens/{token_id}"),
    ] {
        let url = signed(&s, &user, &path);
        assert_detail(&s.get(&url, &Auth::None), 403, SIGNED_TOKENS);
    }
    // A signed GET of the signing endpoint signs nothing.
    let r = s.get(&signed(&s, &user, "/api/auth/signing"), &Auth::None);
    assert_eq!(r.status.as_u16(), 405, "{}", r.text);
    assert!(!r.text.contains("sign="), "{}", r.text);
}

#[test]
fn a_signed_url_dies_with_the_signers_password_or_account() {
    let s = TestServer::start();
    let admin = s.admin();
    let (id, user) = s.register("signer3");
    let path = format!("/api/users/{id}");

    // The signer changes the password: the URL signed before dies, a new one works.
    let url = signed(&s, &user, &path);
    s.get(&url, &Auth::None).expect(200);
    change_password(&s, &user, PASSWORD, NEW_PASSWORD).expect(200);
    assert_detail(&s.get(&url, &Auth::None), 401, "Invalid signature.");
    let url = signed(&s, &user, &path);
    s.get(&url, &Auth::None).expect(200);

    // An administrator sets it.
    s.post(
        &format!("/api/users/{id}/password"),
        &admin,
        json!({"password": "An0ther-Secret-Here"}),
    )
    .expect(200);
    assert_detail(&s.get(&url, &Auth::None), 401, "Invalid signature.");

    // The signer is deactivated.
    let user = s.token("signer3", "An0ther-Secret-Here");
    let url = signed(&s, &user, &path);
    s.get(&url, &Auth::None).expect(200);
    s.admin_patch(id, json!({"is_active": false})).expect(200);
    assert_detail(&s.get(&url, &Auth::None), 401, "User inactive or deleted.");
}

// ---------------------------------------------------------------------------------------------
// Token keys

#[test]
fn every_login_issues_a_new_key_and_logout_revokes_them_all() {
    let s = TestServer::start();
    let (id, registered) = s.register("keys1");
    let Auth::Token(first) = registered.clone() else {
        unreachable!()
    };
    let second = key_of(&s.login("keys1", PASSWORD));
    let third = key_of(&s.login("KEYS1", PASSWORD));
    assert!(first != second && second != third && first != third);
    let keys: Vec<Auth> = [first, second, third]
        .into_iter()
        .map(Auth::Token)
        .collect();
    for key in &keys {
        assert_eq!(s.get("/api/users/self", key).json()["id"], id);
    }
    // Logout deletes the user's keys, as CVAT deletes the user's one key.
    s.post("/api/auth/logout", &keys[1], json!({})).expect(200);
    for key in &keys {
        assert_detail(&s.get("/api/users/self", key), 401, "Invalid token.");
    }
}

/// `$body` with `$pool` connected to the database at `$url`, whichever engine it is on.
macro_rules! on_engine {
    ($url:expr, $pool:ident => $body:expr) => {
        if $url.starts_with("postgres") {
            let $pool = sqlx::PgPool::connect($url).await.unwrap();
            let out = $body;
            $pool.close().await;
            out
        } else {
            let options: sqlx::sqlite::SqliteConnectOptions = $url.parse().unwrap();
            let $pool = sqlx::SqlitePool::connect_with(options.create_if_missing(true))
                .await
                .unwrap();
            let out = $body;
            $pool.close().await;
            out
        }
    };
}

/// Runs the migrations before the one that drops plain keys on a fresh database, stores a
/// user with a token the old way, and returns the database with the token's key.
fn database_from_before_digest_only_tokens() -> (TestDb, &'static str) {
    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";
    let db = TestDb::new();
    let engine = if db.url.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("migrations")
        .join(engine);
    let old = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(&source).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < "0005" {
            std::fs::copy(entry.path(), old.path().join(&name)).unwrap();
        }
    }
    let digest = cvat_server::store::digest(KEY);
    let statements = [
        "INSERT INTO users (username, username_folded, password, date_joined) \
         VALUES ('olduser', 'olduser', '!', 0)"
            .to_string(),
        format!(
            "INSERT INTO tokens (key, digest, user_id, created) \
             SELECT '{KEY}', '{digest}', id, 0 FROM users WHERE username = 'olduser'"
        ),
    ];
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Executor;
            let migrator = sqlx::migrate::Migrator::new(old.path()).await.unwrap();
            on_engine!(&db.url, pool => {
                migrator.run(&pool).await.unwrap();
                for sql in &statements {
                    pool.execute(sql.as_str()).await.unwrap();
                }
            })
        });
    (db, KEY)
}

#[test]
fn token_keys_of_an_existing_database_keep_working_but_are_no_longer_stored() {
    let (db, key) = database_from_before_digest_only_tokens();
    let s = TestServer::serve(db, &[]);
    let token = Auth::Token(key.to_string());
    assert_eq!(
        s.get("/api/users/self", &token).json()["username"],
        "olduser"
    );

    // What the table holds now: one row per key, and no column equal to any key.
    let url = s.db.url.clone();
    let fresh = {
        let (_, t) = s.register("keys2");
        let Auth::Token(k) = t else { unreachable!() };
        k
    };
    let rows: Vec<Vec<String>> = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            use sqlx::Row;
            // Every text column, whatever the engine calls them.
            let sql = "SELECT * FROM tokens";
            on_engine!(&url, pool => {
                let rows = sqlx::query(sql).fetch_all(&pool).await.unwrap();
                rows.iter()
                    .map(|r| (0..r.len()).filter_map(|i| r.try_get::<String, _>(i).ok()).collect())
                    .collect()
            })
        });
    assert_eq!(rows.len(), 2, "{rows:?}");
    for row in &rows {
        assert!(
            !row.iter().any(|v| v == key || *v == fresh),
            "a plain key is stored: {row:?}"
        );
    }
    assert!(rows
        .iter()
        .any(|r| r.contains(&cvat_server::store::digest(key))));
    // Logout of the imported key works as for any other.
    s.post("/api/auth/logout", &token, json!({})).expect(200);
    assert_detail(&s.get("/api/users/self", &token), 401, "Invalid token.");
}

// ---------------------------------------------------------------------------------------------
// Password change

#[test]
fn changing_ones_password_signs_out_every_other_credential() {
    let s = TestServer::start();
    let (id, registered) = s.register("changer1");
    let other_login = s.login("changer1", PASSWORD);
    let other_token = Auth::Token(key_of(&other_login));
    let other_session = session_of(&other_login);
    let pat = bearer(&s.post(
        "/api/auth/access_tokens",
        &registered,
        json!({"name": "pat"}),
    ));
    let basic = Auth::basic("changer1", PASSWORD);
    me_is(&s, &basic, id);

    // Through a session: that session stays.
    let changing = session_of(&s.login("changer1", PASSWORD));
    change_password(&s, &changing, PASSWORD, NEW_PASSWORD).expect(200);
    me_is(&s, &changing, id);
    for auth in [&registered, &other_token, &pat, &basic] {
        assert_signed_out(&s, auth);
    }
    // A deleted session is no credential at all.
    assert_detail(&s.get("/api/users/self", &other_session), 401, NOT_PROVIDED);

    // Through a Token: that token stays.
    let login = s.login("changer1", NEW_PASSWORD);
    let (token, session) = (Auth::Token(key_of(&login)), session_of(&login));
    let pat = bearer(&s.post("/api/auth/access_tokens", &token, json!({"name": "pat2"})));
    change_password(&s, &token, NEW_PASSWORD, PASSWORD).expect(200);
    me_is(&s, &token, id);
    for auth in [&changing, &session, &pat] {
        assert_signed_out(&s, auth);
    }

    // Through an access token: that access token stays.
    let pat = bearer(&s.post("/api/auth/access_tokens", &token, json!({"name": "pat3"})));
    change_password(&s, &pat, PASSWORD, NEW_PASSWORD).expect(200);
    me_is(&s, &pat, id);
    assert_signed_out(&s, &token);
    me_is(&s, &Auth::basic("changer1", NEW_PASSWORD), id);
}

#[track_caller]
fn me_is(s: &TestServer, auth: &Auth, id: i64) {
    let r = s.get("/api/users/self", auth);
    r.expect(200);
    assert_eq!(r.json()["id"], id);
}

#[test]
fn wrong_old_passwords_lock_the_account_like_failed_logins() {
    let s = TestServer::start_with(&["--login-failures-per-account", "3", "--login-lockout", "60"]);
    let (id, user) = s.register("guessed1");
    let wrong = json!({"old_password": ["Your old password was entered incorrectly. Please enter it again."]});
    for i in 0..3 {
        let r = change_password(&s, &user, &format!("guess-{i}"), NEW_PASSWORD);
        r.expect(400);
        assert_eq!(r.json(), wrong);
    }
    // Locked: even the right old password is refused, and so is a login of that account.
    assert_throttled(&change_password(&s, &user, PASSWORD, NEW_PASSWORD));
    assert_throttled(&s.login("guessed1", PASSWORD));
    // The token still reads; the password is unchanged.
    me_is(&s, &user, id);

    // The other way round: failed logins lock the password change.
    let (_, other) = s.register("guessed2");
    for i in 0..3 {
        s.login("guessed2", &format!("guess-{i}")).expect(400);
    }
    assert_throttled(&change_password(&s, &other, PASSWORD, NEW_PASSWORD));
}

// ---------------------------------------------------------------------------------------------
// Who may mint credentials

#[test]
fn only_password_credentials_create_access_tokens_or_sign_urls() {
    let s = TestServer::start();
    let (_, user) = s.register("minter1");
    let leaked = bearer(&s.post("/api/auth/access_tokens", &user, json!({"name": "rw"})));
    assert_detail(
        &s.post(
            "/api/auth/access_tokens",
            &leaked,
            json!({"name": "successor"}),
        ),
        403,
        TOKENS_NEED_PASSWORD,
    );
    assert_detail(
        &s.post(
            "/api/auth/signing",
            &leaked,
            json!({"url": "/api/users/self"}),
        ),
        403,
        SIGNING_NEEDS_PASSWORD,
    );
    // It still manages what exists; only the one token is there.
    let list = s.get("/api/auth/access_tokens", &leaked);
    assert_eq!(list.json()["count"], 1, "{}", list.text);

    // Token, Basic and session credentials do create them.
    let basic = Auth::basic("minter1", PASSWORD);
    let session = session_of(&s.login("minter1", PASSWORD));
    for auth in [&user, &basic] {
        s.post("/api/auth/access_tokens", auth, json!({"name": "ok"}))
            .expect(201);
    }
    let Auth::Session(_, csrf) = &session else {
        unreachable!()
    };
    s.send(
        s.request(Method::POST, "/api/auth/access_tokens", &session)
            .header("X-CSRFToken", csrf.as_str())
            .json(&json!({"name": "ok"})),
    )
    .expect(201);
}
