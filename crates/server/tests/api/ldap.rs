//! LDAP logins (issue 14, sso-and-mfa §4.10, §5.2, §5.4) against a real slapd on loopback
//! (`cvat_testkit::ldap`, started by `tests/ldap/slapd-up.sh`): search-and-bind and direct
//! bind, `POST /api/auth/login` by username and by e-mail, Basic, first-login creation, group
//! mapping and its removal, disabled and locked directory users, bad usernames (nothing
//! created), the directory down (503, local admin still in), StartTLS and LDAPS.

use serde_json::json;

use crate::common::ldap::{Slapd, ADMINS_GROUP, PEOPLE};
use crate::common::*;

const BAD_LOGIN: &str = r#"{"non_field_errors":["Unable to log in with provided credentials."]}"#;

/// A server on `slapd` with its test configuration; `extra` flags replace those it names.
fn start(slapd: &Slapd, extra: &[&str]) -> TestServer {
    let base = slapd.server_args();
    let mut args: Vec<&str> = vec![base[0].as_str()]; // --ldap-enabled, then flag-value pairs
    for pair in base[1..].chunks(2) {
        if !extra.contains(&pair[0].as_str()) {
            args.extend(pair.iter().map(String::as_str));
        }
    }
    args.extend(extra);
    TestServer::start_with(&args)
}

fn user_count(s: &TestServer, admin: &Auth) -> i64 {
    let r = s.get("/api/users?page_size=1", admin);
    r.expect(200);
    r.json()["count"].as_i64().unwrap()
}

#[test]
fn first_login_creates_the_account_with_the_mapped_role() {
    let slapd = Slapd::shared();
    let s = start(slapd, &[]);
    let admin = s.admin();
    let before = user_count(&s, &admin);

    let r = s.login("alice", "alicepw");
    r.expect(200);
    assert_eq!(r.json()["key"].as_str().unwrap().len(), 40);
    assert!(r.cookie("sessionid").is_some() && r.cookie("csrftoken").is_some());
    let me = s.me(&Auth::Token(r.json()["key"].as_str().unwrap().into()));
    assert_eq!(me["username"], "alice");
    assert_eq!(me["first_name"], "Alice");
    assert_eq!(me["last_name"], "Admin");
    assert_eq!(me["email"], "alice@example.test");
    assert_eq!(me["groups"], json!(["admin"]));
    assert_eq!(me["is_staff"], true);
    assert_eq!(me["is_superuser"], true);
    assert_eq!(user_count(&s, &admin), before + 1);

    // By e-mail address (the e-mail filter), the same account; no second one.
    let by_mail = s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": "alice@example.test", "password": "alicepw"}),
    );
    by_mail.expect(200);
    let again = s.me(&Auth::Token(by_mail.json()["key"].as_str().unwrap().into()));
    assert_eq!(again["id"], me["id"]);
    assert_eq!(
        s.me(&s.token("alice@example.test", "alicepw"))["id"],
        me["id"]
    );
    assert_eq!(user_count(&s, &admin), before + 1);

    // A worker; a username that is not a valid local one (its DN escaped in the group filter).
    let bobby = s.me(&s.token("bobby", "bobbypw"));
    assert_eq!(bobby["groups"], json!(["worker"]));
    assert_eq!(bobby["is_staff"], false);
    let dan = s.me(&s.token("dan(ops)", "dan(ops)pw"));
    assert_eq!(dan["username"], "dan_ops_");
    assert_eq!(dan["groups"], json!(["worker"]));
    assert!(
        slapd
            .log()
            .contains("(member=uid=dan\\28ops\\29,ou=people,dc=example,dc=test)"),
        "the DN is escaped in the group filter"
    );

    // The directory user has no usable local password: an administrator's view says LDAP.
    let advanced = s.get("/api/server/advanced-auth", &Auth::None);
    advanced.expect(200);
    assert_eq!(
        advanced.json()["ldap"],
        json!({"enabled": true, "email_login": true})
    );
    assert_eq!(advanced.json()["GOOGLE_ACCOUNT_AUTHENTICATION"], false);
}

#[test]
fn leaving_the_admin_group_takes_effect_at_the_next_login() {
    let slapd = Slapd::shared();
    let s = start(slapd, &[]);
    let first = s.me(&s.token("grace", "gracepw"));
    assert_eq!(first["groups"], json!(["admin"]));
    assert_eq!(first["is_superuser"], true);
    let change = |op: &str| {
        slapd.modify(&format!(
            "dn: {ADMINS_GROUP}\nchangetype: modify\n{op}: member\nmember: uid=grace,{PEOPLE}\n"
        ))
    };
    change("delete");
    let second = s.me(&s.token("grace", "gracepw"));
    change("add");
    assert_eq!(second["id"], first["id"]);
    assert_eq!(second["groups"], json!(["worker"]));
    assert_eq!(second["is_staff"], false);
    assert_eq!(second["is_superuser"], false);

    // The console's user page says where the account signs in, and its directory entry.
    let browser = Browser::new(&s);
    browser.login(ADMIN, ADMIN_PASSWORD);
    let (status, _, page) = browser.get(&format!("/admin/users/{}", first["id"]));
    assert_eq!(status, 200);
    assert!(page.contains("LDAP directory"), "{page}");
    assert!(page.contains(&format!("uid=grace,{PEOPLE}")));
    let (_, _, admin_page) = browser.get("/admin/users/1");
    assert!(admin_page.contains("local password"));
}

#[test]
fn refused_logins_answer_like_a_wrong_password_and_create_nothing() {
    let slapd = Slapd::shared();
    let s = start(slapd, &[]);
    let admin = s.admin();
    let before = user_count(&s, &admin);
    let long = "a".repeat(10_000);
    let cases: Vec<(&str, &str)> = vec![
        ("carol", "carolpw"),   // locked by the password policy
        ("evelyn", "evelynpw"), // left out by the user filter
        ("bobby", "nope"),
        ("nobody", "nobodypw"),
        ("*", "x"),
        ("*)(uid=*", "x"),
        ("admin)(|(x=*", "x"),
        ("alice)(uid=*", "alicepw"),
        ("admin*", "x"),
        ("ali*", "alicepw"),
        ("\\", "x"),
        ("ali\0ce", "alicepw"),
        (&long, "x"),
    ];
    for (username, password) in &cases {
        let r = s.login(username, password);
        assert_eq!(r.status.as_u16(), 400, "{username:.40}: {}", r.text);
        if username.contains('\0') {
            // CVAT's field check comes first.
            assert_eq!(
                r.text,
                r#"{"username":["Null characters are not allowed."]}"#
            );
        } else {
            assert_eq!(r.text, BAD_LOGIN, "{username:.40}");
        }
        r.expect_no_cookies("a refused login");
        let basic = s.get("/api/users/self", &Auth::basic(username, password));
        assert_eq!(basic.status.as_u16(), 401, "Basic {username:.40}");
    }
    // An empty password never reaches the directory (CVAT's own 400).
    s.login("alice", "").expect(400);
    assert_eq!(user_count(&s, &admin), before, "nothing was created");
    let log = slapd.log();
    assert!(
        log.contains("(uid=\\2A)") || log.contains("(uid=\\2a)"),
        "escaped *"
    );
    assert!(
        log.contains("uid=\\2A\\29\\28uid=\\2A") || log.contains("uid=\\2a\\29\\28uid=\\2a"),
        "escaped parentheses"
    );
}

#[test]
fn basic_credentials_of_the_directory() {
    let slapd = Slapd::shared();
    // Every Basic request asks the directory: a disabled user is out at once.
    let s = start(slapd, &["--ldap-basic-cache-seconds", "0"]);
    let isaac = Auth::basic("isaac", "isaacpw");
    let me = s.me(&isaac);
    assert_eq!(me["username"], "isaac");
    assert_eq!(me["groups"], json!(["worker"]));
    assert_eq!(s.me(&isaac)["id"], me["id"]);
    s.assert_me_refused(&Auth::basic("isaac", "wrong"), "Invalid username/password.");

    let henry = Auth::basic("henry", "henrypw");
    s.me(&henry);
    let token = s.token("henry", "henrypw");
    let flag = |op: &str| {
        slapd.modify(&format!(
            "dn: uid=henry,{PEOPLE}\nchangetype: modify\n{op}: employeeType\nemployeeType: disabled\n"
        ))
    };
    flag("add");
    let refused = s.get("/api/users/self", &henry);
    let login = s.login("henry", "henrypw");
    flag("delete");
    assert_eq!(refused.status.as_u16(), 401, "{}", refused.text);
    assert_eq!(login.text, BAD_LOGIN);
    // Tokens made before stay valid (the directory is asked at logins).
    s.me(&token);
}

#[test]
fn the_directory_down_is_503_for_its_users_and_local_admins_still_log_in() {
    let port = cvat_testkit::ldap::closed_port();
    let url = format!("ldap://127.0.0.1:{port}");
    let slapd = Slapd::shared();
    let s = start(
        slapd,
        &["--ldap-url", &url, "--ldap-connect-timeout-seconds", "2"],
    );
    let r = s.login("alice", "alicepw");
    assert_eq!(r.status.as_u16(), 503, "{}", r.text);
    assert_eq!(r.json()["code"], "ldap_unavailable");
    assert!(r.json()["detail"].as_str().unwrap().contains("directory"));
    assert_eq!(r.header("retry-after").as_deref(), Some("30"));
    r.expect_no_cookies("a 503");
    let basic = s.get("/api/users/self", &Auth::basic("alice", "alicepw"));
    assert_eq!(basic.status.as_u16(), 503);
    // The break-glass admin is a local account: checked locally, never by the directory.
    s.me(&s.admin());
    s.me(&Auth::basic(ADMIN, ADMIN_PASSWORD));
}

#[test]
fn a_local_account_is_never_taken_over_by_the_directory() {
    let slapd = Slapd::shared();
    let s = start(slapd, &[]);
    let (id, _) = s.register("julia");
    // The login names the local account: its password is checked locally only.
    assert_eq!(s.login("julia", "juliapw").text, BAD_LOGIN);
    // By the directory's address (no account has it), the directory finds its julia, whose
    // username is the local account's: refused and logged, not merged.
    let r = s.post(
        "/api/auth/login",
        &Auth::None,
        json!({"email": "julia@example.test", "password": "juliapw"}),
    );
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    assert!(s.logs().contains("not merged"), "logged: {}", s.logs());
    let me = s.me(&s.token("julia", PASSWORD));
    assert_eq!(me["id"], id);
    assert_eq!(me["last_name"], "");
}

#[test]
fn directory_users_never_fall_back_to_a_local_password_and_are_throttled() {
    let slapd = Slapd::shared();
    let s = start(slapd, &["--login-failures-per-account", "3"]);
    let me = s.me(&s.token("bobby", "bobbypw"));
    // An administrator sets a local password: the directory still decides.
    let admin = s.admin();
    s.patch(
        &user_path(me["id"].as_i64().unwrap()),
        &admin,
        json!({"password": PASSWORD}),
    );
    assert_eq!(s.login("bobby", PASSWORD).text, BAD_LOGIN);
    for _ in 0..2 {
        assert_eq!(s.login("bobby", "nope").text, BAD_LOGIN);
    }
    let locked = s.login("bobby", "bobbypw");
    assert_eq!(locked.status.as_u16(), 429, "{}", locked.text);
    assert!(locked.header("retry-after").is_some());
}

#[test]
fn starttls_and_ldaps_with_the_directory_certificate() {
    let slapd = Slapd::shared();
    let ca = slapd.ca_file();
    let s = start(slapd, &["--ldap-start-tls", "--ldap-ca-file", &ca]);
    assert_eq!(s.me(&s.token("bobby", "bobbypw"))["username"], "bobby");
    assert!(slapd.log().contains("STARTTLS"), "StartTLS was used");

    let ldaps = slapd.ldaps_url();
    let s = start(slapd, &["--ldap-url", &ldaps, "--ldap-ca-file", &ca]);
    assert_eq!(s.me(&s.token("bobby", "bobbypw"))["username"], "bobby");
    // Without the CA the certificate is not trusted: the directory counts as unreachable.
    let s = start(slapd, &["--ldap-url", &ldaps]);
    let r = s.login("bobby", "bobbypw");
    assert_eq!(r.status.as_u16(), 503, "{}", r.text);
    assert_eq!(r.json()["code"], "ldap_unavailable");
}

#[test]
fn direct_bind_still_applies_the_user_filter() {
    let slapd = Slapd::shared();
    let template = format!("uid={{username}},{PEOPLE}");
    let s = start(
        slapd,
        &[
            "--ldap-mode",
            "direct_bind",
            "--ldap-bind-dn",
            "",
            "--ldap-user-dn-template",
            &template,
        ],
    );
    assert_eq!(
        s.me(&s.token("bobby", "bobbypw"))["groups"],
        json!(["worker"])
    );
    assert_eq!(
        s.me(&s.token("dan(ops)", "dan(ops)pw"))["username"],
        "dan_ops_"
    );
    // evelyn binds (her password is right) but the filter leaves her out.
    assert_eq!(s.login("evelyn", "evelynpw").text, BAD_LOGIN);
    assert_eq!(s.login("carol", "carolpw").text, BAD_LOGIN);
    assert_eq!(s.login("bobby,ou=x", "bobbypw").text, BAD_LOGIN);
}

#[test]
fn bad_directory_settings_stop_the_start() {
    let loopback = "ldap://127.0.0.1:1";
    for (url, args, says) in [
        ("http://127.0.0.1:1", vec![], "ldap_url"),
        ("ldap://ldap.example.com", vec![], "ldap_url"),
        (
            "ldaps://127.0.0.1:1",
            vec!["--ldap-start-tls"],
            "ldap_start_tls",
        ),
        (
            loopback,
            vec!["--ldap-user-filter", "(uid=alice)"],
            "ldap_user_filter",
        ),
        (
            loopback,
            vec!["--ldap-roles-admin", "not a dn"],
            "ldap_roles_admin",
        ),
        (
            loopback,
            vec!["--ldap-bind-dn", "cn=svc"],
            "ldap_bind_password",
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let db = format!("sqlite://{}", dir.path().join("c.db").display());
        let mut all = vec![
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            &db,
            "--ldap-enabled",
            "--ldap-url",
            url,
            "--ldap-user-search-base",
            PEOPLE,
            "--ldap-group-membership",
            "none",
        ];
        all.extend(args);
        let out = std::process::Command::new(server_bin())
            .args(&all)
            .output()
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{says}: {err}");
    }
}
