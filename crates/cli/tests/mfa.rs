//! `cvat-users mfa ...` and `login --otp`, and the SDK's `MfaApi` behind them, against the real
//! server. Codes are computed here with `totp-rs` from the secret the server returned: the step
//! before a fresh base time for the enrolment, then that step, then the next one.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a test fails loudly on purpose

use cvat_sdk::{ApiClient, Configuration, Credentials, LoginRequest, MfaLoginRequest};
use cvat_testkit::cli::Cli;
use cvat_testkit::{TestServer, PASSWORD};
use totp_rs::{Algorithm, Secret, Totp};

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A base time with at least 12 s left in its step.
fn fresh_step() -> u64 {
    let t = now();
    if 30 - t % 30 < 12 {
        std::thread::sleep(std::time::Duration::from_secs(30 - t % 30 + 1));
    }
    now()
}

fn app(secret: &str) -> Totp {
    let bytes = Secret::try_from_base32(secret).unwrap().to_vec();
    totp_rs::Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_secret(bytes)
        .build()
        .unwrap()
}

fn code(app: &Totp, t: u64) -> String {
    app.generate(t).to_string()
}

#[test]
fn the_cli_enrols_logs_in_with_a_code_and_disables_with_a_recovery_code() {
    let s = TestServer::start();
    s.register("mfa_cli");
    let cli = Cli::logged_in(&s, "mfa_cli", PASSWORD);
    let stdin = Some(PASSWORD);
    let out = cli.run(&["mfa", "status"]).ok();
    assert!(out.stdout.contains("not enabled"), "{out:?}");

    let qr = cli.home.path().join("totp.svg");
    let qr_arg = qr.to_str().unwrap();
    let args = [
        "--output",
        "json",
        "mfa",
        "enable",
        "--qr",
        qr_arg,
        "--password-stdin",
    ];
    let setup = cli.run_with(&args, stdin).ok().json();
    let secret = setup["secret"].as_str().unwrap().to_string();
    assert!(setup["otpauth_url"]
        .as_str()
        .unwrap()
        .starts_with("otpauth://totp/CVAT:mfa_cli?"));
    assert!(std::fs::read_to_string(&qr).unwrap().contains("<svg"));
    // A wrong password is refused with the server's message.
    let err = cli
        .run_with(
            &["mfa", "enable", "--password-stdin"],
            Some("wrong-password"),
        )
        .fails();
    assert!(err.contains("password"), "{err}");

    let app = app(&secret);
    let t0 = fresh_step();
    let err = cli
        .run_with(&["mfa", "confirm", "000000", "--password-stdin"], stdin)
        .fails();
    assert!(err.contains("invalid"), "{err}");
    let args = [
        "--output",
        "json",
        "mfa",
        "confirm",
        &code(&app, t0 - 30),
        "--password-stdin",
    ];
    let codes = cli.run_with(&args, stdin).ok().json()["recovery_codes"].clone();
    assert_eq!(codes.as_array().unwrap().len(), 10);
    // The saved access token survives the enrolment.
    let out = cli.run(&["mfa", "status"]).ok();
    assert!(out.stdout.contains("10 of 10"), "{out:?}");

    // Login without a code, off a terminal: refused, pointing to --otp; with one: logged in.
    let other = Cli::new(&s);
    let err = other.login("mfa_cli", PASSWORD).fails();
    assert!(err.contains("--otp"), "{err}");
    let run = other.run_env(
        &[
            "--host",
            &other.host,
            "login",
            "--username",
            "mfa_cli",
            "--password-stdin",
            "--otp",
            &code(&app, t0),
        ],
        Some(PASSWORD),
        &[],
    );
    run.ok();
    other.run(&["whoami"]).ok();

    // Disable: a current code authenticates, a recovery code confirms.
    let args = [
        "mfa",
        "disable",
        "--otp",
        &code(&app, t0 + 30),
        "--recovery-code",
        codes[0].as_str().unwrap(),
        "--password-stdin",
    ];
    let out = cli.run_with(&args, stdin).ok();
    assert!(out.stdout.contains("disabled"), "{out:?}");
    let out = cli.run(&["mfa", "status"]).ok();
    assert!(out.stdout.contains("not enabled"), "{out:?}");
}

#[test]
fn the_sdk_completes_login_step_two_and_reads_the_status() {
    let s = TestServer::start();
    s.register("mfa_sdk");
    let basic = ApiClient::new(
        Configuration::new(&s.base).with_credentials(Credentials::basic("mfa_sdk", PASSWORD)),
    )
    .unwrap();
    let setup = basic.mfa_api().totp_setup(PASSWORD).unwrap();
    let app = app(&setup.secret);
    let t0 = fresh_step();
    let confirmed = basic.mfa_api().totp_confirm(&code(&app, t0 - 30)).unwrap();
    assert_eq!(confirmed.recovery_codes.len(), 10);
    // Basic alone is refused now, with the contract's code.
    let err = basic.users_api().users_retrieve_self().unwrap_err();
    assert_eq!(err.code(), Some("mfa_required"));

    let client = ApiClient::new(Configuration::new(&s.base)).unwrap();
    let err = client
        .auth_api()
        .login(&LoginRequest::new("mfa_sdk", PASSWORD))
        .unwrap_err();
    assert!(err.is_status(401));
    let ticket = err.mfa_ticket().unwrap();
    let wrong = MfaLoginRequest {
        mfa_token: ticket.clone(),
        code: Some("000000".into()),
        recovery_code: None,
    };
    assert_eq!(
        client.mfa_api().login_mfa(&wrong).unwrap_err().code(),
        Some("mfa_code_invalid")
    );
    let right = MfaLoginRequest {
        code: Some(code(&app, t0)),
        ..wrong
    };
    client.mfa_api().login_mfa(&right).unwrap();
    assert_eq!(
        client.users_api().users_retrieve_self().unwrap().username(),
        "mfa_sdk"
    );
    let status = client.mfa_api().status().unwrap();
    assert!(status.totp.enabled);
    assert_eq!(status.session_mfa, Some(true));

    // Basic with a current code passes once.
    let with_otp =
        ApiClient::new(basic.configuration().clone().with_otp(code(&app, t0 + 30))).unwrap();
    with_otp.users_api().users_retrieve_self().unwrap();
    assert_eq!(
        with_otp
            .users_api()
            .users_retrieve_self()
            .unwrap_err()
            .code(),
        Some("mfa_code_invalid")
    );
    // The admin resets it: the user's status shows it off.
    let admin = s.admin_client();
    let id = client.users_api().users_retrieve_self().unwrap().id();
    assert!(admin.mfa_api().user_status(id).unwrap().totp.enabled);
    admin.mfa_api().user_reset(id).unwrap();
    assert!(!admin.mfa_api().user_status(id).unwrap().totp.enabled);
}
