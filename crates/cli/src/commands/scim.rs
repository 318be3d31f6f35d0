//! `scim-token`: an administrator creates a SCIM provisioning token for an identity provider
//! (issue 17). Like `login` it signs in with the password (the server mints access tokens for
//! password credentials only) and does not touch the saved login; the token is printed once.

use clap::Args;
use cvat_sdk::{AccessTokenWriteRequest, ApiClient, Credentials};

use super::{prompt, read_password};
use crate::context::{Context, Failure, Outcome};

#[derive(Debug, Args)]
pub struct ScimTokenArgs {
    /// Your username (an administrator's).
    #[arg(long, short = 'u')]
    pub username: String,
    /// Read the password from standard input instead of asking for it.
    #[arg(long)]
    pub password_stdin: bool,
    /// The current code of your authenticator app, for accounts with two-factor authentication.
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,
    /// Name of the token (shown in the access-token list).
    #[arg(long, value_name = "NAME", default_value = "scim")]
    pub name: String,
    /// When the token stops working (RFC 3339, e.g. 2027-01-01T00:00:00Z); default: never.
    #[arg(long, value_name = "DATE")]
    pub expires: Option<String>,
}

pub fn scim_token(ctx: &Context, args: ScimTokenArgs) -> Outcome {
    let host = ctx.host()?;
    let password = read_password(args.password_stdin, || {
        prompt(format!("Password for {} at {host}: ", args.username))
    })?;
    let mut client = ctx.client(&host, Some(Credentials::basic(&args.username, password)))?;
    if let Some(otp) = args.otp {
        client = ApiClient::new(client.configuration().clone().with_otp(otp))?;
    }
    let created = client
        .auth_api()
        .access_tokens_create(&AccessTokenWriteRequest {
            name: Some(args.name),
            expiry_date: args.expires,
            scim: Some(true),
            ..Default::default()
        })?;
    if !created.scim {
        return Err(Failure::new(
            "the server made an ordinary access token: it does not support SCIM tokens",
        ));
    }
    let value = created
        .value
        .ok_or_else(|| Failure::new("the server did not return the new token's value"))?;
    eprintln!(
        "SCIM token \"{}\" (id {}) created. Give it to your identity provider as the bearer \
         token, with the base URL {}/scim/v2. It is shown only this once:",
        created.name,
        created.id,
        host.trim_end_matches('/')
    );
    println!("{value}");
    Ok(())
}
