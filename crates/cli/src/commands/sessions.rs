//! `sessions list|revoke|revoke-all [--user ID]`: your sessions, login tokens and access
//! tokens (or, for administrators, anybody's), revoking one, signing out everywhere.

use clap::Subcommand;

use crate::context::{Context, Failure, Outcome};
use crate::output::{self, Column};

#[derive(Debug, Subcommand)]
pub enum SessionsCommand {
    /// List the credentials: kind, when and where each was made.
    List {
        /// Another user's (administrators only).
        #[arg(long)]
        user: Option<i64>,
    },
    /// Revoke one credential, by the ID the list shows.
    Revoke {
        id: String,
        #[arg(long)]
        user: Option<i64>,
    },
    /// Sign out everywhere (yours: all but this client's access token).
    RevokeAll {
        #[arg(long)]
        user: Option<i64>,
    },
}

const COLUMNS: [Column; 6] = [
    ("ID", |v| output::field(v, "id")),
    ("NAME", |v| output::field(v, "name")),
    ("CREATED", |v| output::field(v, "created_date")),
    ("CLIENT", |v| output::field(v, "client_address")),
    ("USER AGENT", |v| output::field(v, "user_agent")),
    ("CURRENT", |v| output::field(v, "current")),
];

pub fn run(ctx: &Context, command: SessionsCommand) -> Outcome {
    let client = ctx.logged_in()?;
    let (auth, users) = (client.auth_api(), client.users_api());
    match command {
        SessionsCommand::List { user } => {
            let list = match user {
                Some(id) => users.users_sessions(id)?,
                None => auth.sessions_list()?,
            };
            let values = list
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| Failure::new(format!("cannot format the output: {e}")))?;
            output::print_records(&values, &COLUMNS, ctx.output, false)
        }
        SessionsCommand::Revoke { id, user } => {
            match user {
                Some(u) => users.users_sessions_revoke(u, &id)?,
                None => auth.sessions_revoke(&id)?,
            }
            println!("Revoked {id}.");
            Ok(())
        }
        SessionsCommand::RevokeAll { user } => {
            let done = match user {
                Some(u) => users.users_sessions_revoke_all(u)?,
                None => auth.sessions_revoke_all()?,
            };
            println!("{}", done.detail);
            Ok(())
        }
    }
}
