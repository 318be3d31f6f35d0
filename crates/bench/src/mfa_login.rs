//! The login with step two, timed (issue 15): fresh users enrol TOTP through the API, then each
//! logs in once (the password, answered 401 with a ticket, then the current code). One client
//! after the other: a code's step is accepted once per user, so this cannot run under `wrk`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{ensure, Context};
use reqwest::blocking::Client;
use serde_json::{json, Value};
use totp_rs::{Algorithm, Secret, Totp};

const PASSWORD: &str = "Bench-Step-Two-2026";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn post(&self, path: &str, token: Option<&str>, body: Value) -> anyhow::Result<(u16, Value)> {
        let mut rb = self.client.post(format!("{}{path}", self.base)).json(&body);
        if let Some(t) = token {
            rb = rb.header("Authorization", format!("Token {t}"));
        }
        let r = rb.send()?;
        let status = r.status().as_u16();
        Ok((status, r.json().unwrap_or(Value::Null)))
    }

    /// A new user with a confirmed factor (its code of the previous step): its authenticator.
    fn enrolled(&self, username: &str) -> anyhow::Result<Totp> {
        let body = json!({"username": username, "email": format!("{username}@example.com"),
                          "password1": PASSWORD, "password2": PASSWORD});
        let (status, registered) = self.post("/api/auth/register", None, body)?;
        ensure!(status == 201, "register {username}: {status} {registered}");
        let key = registered["key"].as_str().context("no key")?.to_string();
        let (status, setup) = self.post(
            "/api/auth/mfa/totp/setup",
            Some(&key),
            json!({"password": PASSWORD}),
        )?;
        ensure!(status == 200, "setup {username}: {status} {setup}");
        let secret = setup["secret"].as_str().context("no secret")?;
        let bytes = Secret::try_from_base32(secret)
            .map_err(|e| anyhow::anyhow!("secret: {e:?}"))?
            .to_vec();
        let app = totp_rs::Builder::new()
            .with_algorithm(Algorithm::SHA1)
            .with_secret(bytes)
            .build()
            .map_err(|e| anyhow::anyhow!("totp: {e:?}"))?;
        let code = app.generate(now().saturating_sub(30));
        let (status, done) = self.post(
            "/api/auth/mfa/totp/confirm",
            Some(&key),
            json!({"code": code.to_string()}),
        )?;
        ensure!(status == 200, "confirm {username}: {status} {done}");
        Ok(app)
    }
}

/// p50 and p99 of `n` logins with step two, with the summary line of the report.
pub fn measure(port: u16, n: usize) -> anyhow::Result<String> {
    let api = Api {
        client: Client::builder().timeout(Duration::from_secs(60)).build()?,
        base: format!("http://127.0.0.1:{port}"),
    };
    let mut users = Vec::with_capacity(n);
    for i in 0..n {
        let username = format!("mfa_bench_{i:04}");
        users.push((api.enrolled(&username)?, username));
    }
    let mut times = Vec::with_capacity(n);
    for (app, username) in &users {
        let started = Instant::now();
        let (status, answer) = api.post(
            "/api/auth/login",
            None,
            json!({"username": username, "password": PASSWORD}),
        )?;
        ensure!(status == 401, "login {username}: {status} {answer}");
        let ticket = answer["mfa_token"].as_str().context("no ticket")?;
        let code = app.generate(now()).to_string();
        let body = json!({"mfa_token": ticket, "code": code});
        let (status, answer) = api.post("/api/auth/login/mfa", None, body)?;
        ensure!(status == 200, "step two {username}: {status} {answer}");
        times.push(started.elapsed());
    }
    times.sort();
    let at = |q: f64| times[((times.len() as f64 - 1.0) * q).round() as usize];
    Ok(format!(
        "login with step two (the password, a 401 with a ticket, then a TOTP code; {n} users one after the other): p50 {:.1} ms, p99 {:.1} ms",
        at(0.5).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3
    ))
}
