//! The commands, one module a group: logging in and out (`auth`), reading and changing users
//! (`users`), administration (`admin`, `access`), organization invitations (`invitations`), a
//! forgotten password (`password_reset`), the second factor (`mfa`), credentials
//! (`sessions`); and what they share (reading passwords, group lists).

pub mod access;
pub mod admin;
pub mod audit;
pub mod auth;
pub mod invitations;
pub mod mfa;
pub mod password_reset;
pub mod scim;
pub mod sessions;
pub mod users;

use std::io::{IsTerminal, Read};

use crate::context::Failure;

/// A password: with `--password-stdin` standard input up to its end, without the final line
/// break; else whatever `ask` asks on the terminal. Never empty.
fn read_password(
    from_stdin: bool,
    ask: impl FnOnce() -> Result<String, Failure>,
) -> Result<String, Failure> {
    let password = if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::new(format!("cannot read the password from standard input: {e}"))
        })?;
        let trimmed = s.strip_suffix('\n').unwrap_or(&s);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    } else if std::io::stdin().is_terminal() {
        ask()?
    } else {
        return Err(Failure::usage(
            "standard input is not a terminal, so the password cannot be asked for: pass --password-stdin",
        ));
    };
    if password.is_empty() {
        return Err(Failure::usage("the password is empty"));
    }
    Ok(password)
}

/// Asks for a password on the terminal, without echo.
fn prompt(text: String) -> Result<String, Failure> {
    rpassword::prompt_password(text)
        .map_err(|e| Failure::new(format!("cannot read the password: {e}")))
}

/// `--groups a, b,,` → `["a", "b"]` (`""` is no group at all).
fn group_list(groups: &[String]) -> Vec<String> {
    groups
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}
