//! `access show|block|unblock|unlock ID`: an administrator blocks an account or clears its
//! login lock (issue 15). Each prints the account's access afterwards.

use clap::Subcommand;
use cvat_sdk::AccountAccess;

use crate::context::{Context, Failure, Outcome};
use crate::output::{self, Column};

#[derive(Debug, Subcommand)]
pub enum AccessCommand {
    /// Show whether the account is blocked or its password logins locked.
    Show { id: i64 },
    /// Block the account: none of its credentials works until it is unblocked.
    Block { id: i64 },
    /// Unblock the account.
    Unblock { id: i64 },
    /// Clear the account's login lock (failed passwords and second-factor codes).
    Unlock { id: i64 },
}

const COLUMNS: [Column; 5] = [
    ("BLOCKED", |v| output::field(v, "blocked")),
    ("BLOCKED SINCE", |v| output::field(v, "blocked_date")),
    ("LOGIN LOCKED", |v| output::field(v, "login_locked")),
    ("RETRY AFTER (S)", |v| output::field(v, "login_retry_after")),
    ("MUST CHANGE PASSWORD", |v| {
        output::field(v, "must_change_password")
    }),
];

pub fn run(ctx: &Context, command: AccessCommand) -> Outcome {
    let client = ctx.logged_in()?;
    let users = client.users_api();
    let access: AccountAccess = match command {
        AccessCommand::Show { id } => users.users_access(id)?,
        AccessCommand::Block { id } => users.users_block(id)?,
        AccessCommand::Unblock { id } => users.users_unblock(id)?,
        AccessCommand::Unlock { id } => users.users_clear_login_lock(id)?,
    };
    let value = serde_json::to_value(&access)
        .map_err(|e| Failure::new(format!("cannot format the output: {e}")))?;
    output::print_records(&[value], &COLUMNS, ctx.output, true)
}
