//! `password-reset request|confirm`: a forgotten password, by e-mail (no login needed).

use clap::Subcommand;
use cvat_sdk::PasswordResetConfirmRequest;

use super::{prompt, read_password};
use crate::context::{Context, Failure, Outcome};

#[derive(Debug, Subcommand)]
pub enum PasswordResetCommand {
    /// Ask the server to mail a reset link to this address.
    Request {
        /// The account's e-mail address.
        email: String,
    },
    /// Set a new password with the mailed link (or its uid and token).
    Confirm {
        /// The whole link from the mail.
        #[arg(long, conflicts_with_all = ["uid", "token"], required_unless_present_all = ["uid", "token"])]
        link: Option<String>,
        /// The link's uid.
        #[arg(long, requires = "token")]
        uid: Option<String>,
        /// The link's token.
        #[arg(long, requires = "uid")]
        token: Option<String>,
        /// Read the new password from standard input instead of asking for it (twice).
        #[arg(long)]
        password_stdin: bool,
    },
}

/// `uid` and `token` of a reset link's query (`...?uid=MQ&token=...`).
fn link_parts(link: &str) -> Result<(String, String), Failure> {
    let query = link.split_once('?').map_or("", |(_, q)| q);
    let query = query.split('#').next().unwrap_or(query);
    let get = |name: &str| {
        query
            .split('&')
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
            .filter(|v| !v.is_empty())
    };
    match (get("uid"), get("token")) {
        (Some(uid), Some(token)) => Ok((uid, token)),
        _ => Err(Failure::usage(
            "that is not a password reset link: it has no uid and token",
        )),
    }
}

pub fn run(ctx: &Context, command: PasswordResetCommand) -> Outcome {
    let host = ctx.host()?;
    let client = ctx.client(&host, None)?;
    match command {
        PasswordResetCommand::Request { email } => {
            let answer = client.auth_api().password_reset(&email)?;
            println!("{}", answer.detail);
            Ok(())
        }
        PasswordResetCommand::Confirm {
            link,
            uid,
            token,
            password_stdin,
        } => {
            let (uid, token) = match (link, uid, token) {
                (Some(link), _, _) => link_parts(&link)?,
                (None, Some(uid), Some(token)) => (uid, token),
                _ => return Err(Failure::usage("pass --link, or --uid and --token")),
            };
            let password = read_password(password_stdin, || {
                let first = prompt(format!("New password at {host}: "))?;
                let again = prompt("The new password again: ".to_string())?;
                if first != again {
                    return Err(Failure::usage("the two passwords differ"));
                }
                Ok(first)
            })?;
            let request = PasswordResetConfirmRequest {
                new_password1: password.clone(),
                new_password2: password,
                uid,
                token,
            };
            let answer = client.auth_api().password_reset_confirm(&request)?;
            println!("{}", answer.detail);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_give_their_uid_and_token() {
        let (uid, token) =
            link_parts("http://h/auth/password/reset/confirm?uid=MQ&token=abc-123#x").unwrap();
        assert_eq!((uid.as_str(), token.as_str()), ("MQ", "abc-123"));
        assert!(link_parts("http://h/auth/password/reset/confirm?uid=MQ").is_err());
        assert!(link_parts("no link").is_err());
    }
}
