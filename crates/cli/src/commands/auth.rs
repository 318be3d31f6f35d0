//! `login`, `logout`, `whoami`: the saved personal access token.

use std::time::Duration;

use clap::Args;
use cvat_sdk::{AccessTokenWriteRequest, ApiClient, Configuration, Credentials};

use super::{prompt, read_password};
use crate::config::{self, Config};
use crate::context::{Context, Failure, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Your username (or e-mail address).
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password from standard input instead of asking for it.
    #[arg(long)]
    pub password_stdin: bool,
    /// The current code of your authenticator app, for accounts with two-factor authentication
    /// (asked for on a terminal when the server wants one).
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// Name of the access token to create [default: cvat-users@<this machine's hostname>].
    #[arg(long, value_name = "NAME")]
    pub token_name: Option<String>,
}

fn default_token_name() -> String {
    let host = gethostname::gethostname().to_string_lossy().into_owned();
    let host = if host.is_empty() {
        "unknown".to_string()
    } else {
        host
    };
    // The server takes names of up to 50 characters.
    format!("cvat-users@{host}").chars().take(50).collect()
}

pub fn login(ctx: &mut Context, args: LoginArgs) -> Outcome {
    let host = ctx.host()?;
    let password = read_password(args.password_stdin, || {
        prompt(format!("Password for {} at {host}: ", args.username))
    })?;
    let credentials = Credentials::basic(&args.username, password);
    let name = args.token_name.clone().unwrap_or_else(default_token_name);
    let create = |otp: Option<String>| -> Result<_, Failure> {
        let mut client = ctx.client(&host, Some(credentials.clone()))?;
        if let Some(otp) = otp {
            client = ApiClient::new(client.configuration().clone().with_otp(otp))?;
        }
        let request = AccessTokenWriteRequest {
            name: Some(name.clone()),
            ..Default::default()
        };
        Ok(client.auth_api().access_tokens_create(&request))
    };
    let created = match create(args.otp.clone())? {
        // Two-factor account and no --otp: ask for the code, then try once more.
        Err(e) if args.otp.is_none() && e.code() == Some("mfa_required") => {
            create(Some(super::mfa::ask_otp()?))??
        }
        other => other?,
    };
    let value = created
        .value
        .ok_or_else(|| Failure::new("the server did not return the new token's value"))?;

    // The token of an earlier login would stay valid forever: revoke it (best effort).
    if let (Some(old_host), Some(old_token)) = (ctx.config.host.clone(), ctx.config.token.clone()) {
        if old_token != value {
            revoke_quietly(&old_host, &old_token, ctx.config.token_id);
        }
    }

    ctx.config = Config {
        host: Some(host.clone()),
        username: Some(created.owner.username.clone()),
        token: Some(value),
        token_id: Some(created.id),
        token_name: Some(created.name.clone()),
    };
    config::save(&ctx.config_path, &ctx.config)?;
    println!(
        "Logged in to {host} as {}. Access token \"{}\" saved in {}.",
        created.owner.username,
        created.name,
        ctx.config_path.display()
    );
    Ok(())
}

fn revoke_quietly(host: &str, token: &str, id: Option<i64>) {
    let Ok(client) = ApiClient::new(
        Configuration::new(host)
            .with_credentials(Credentials::Bearer(token.to_string()))
            .with_timeout(Duration::from_secs(5)),
    ) else {
        return;
    };
    let auth = client.auth_api();
    let id = match id {
        Some(id) => id,
        None => match auth.access_tokens_retrieve_self() {
            Ok(t) => t.id,
            Err(_) => return,
        },
    };
    let _ = auth.access_tokens_destroy(id);
}

pub fn logout(ctx: &mut Context) -> Outcome {
    let host = ctx.host()?;
    if ctx.config.token_for(&host).is_none() {
        eprintln!("Not logged in to {host}.");
        return Ok(());
    }
    let client = ctx.logged_in()?;
    let auth = client.auth_api();
    // The saved id first; if that is not (or no longer) ours, the id the server gives the token.
    let revoked = match ctx.config.token_id.map(|id| auth.access_tokens_destroy(id)) {
        Some(Ok(())) => Ok(()),
        Some(Err(e)) if !e.is_status(404) => Err(e),
        _ => auth
            .access_tokens_retrieve_self()
            .and_then(|t| auth.access_tokens_destroy(t.id)),
    };
    match revoked {
        Ok(()) => {}
        // Already revoked or expired: there is nothing left to revoke.
        Err(e) if e.is_status(401) => {
            eprintln!("The saved access token was no longer valid ({e}).")
        }
        Err(e) => {
            return Err(Failure::new(format!(
                "could not revoke the access token, so it stays saved: {e}"
            )))
        }
    }
    let username = ctx.config.username.clone();
    ctx.config.clear_token();
    config::save(&ctx.config_path, &ctx.config)?;
    match username {
        Some(u) => println!("Logged out {u} from {host}; the access token is revoked."),
        None => println!("Logged out from {host}; the access token is revoked."),
    }
    Ok(())
}

pub fn whoami(ctx: &Context) -> Outcome {
    let client = ctx.logged_in()?;
    let me = client.users_api().users_retrieve_self()?;
    output::print_user(&me, ctx.output)
}
