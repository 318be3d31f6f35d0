//! `create` and `passwd`: administration (issue 8).

use clap::Args;
use cvat_sdk::{MetaUser, PasswordSetRequest, UserCreateRequest};

use super::{group_list, prompt, read_password};
use crate::context::{Context, Failure, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The new user's username (5 to 150 letters, digits and @/./+/-/_).
    #[arg(long, short = 'u')]
    pub username: String,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// The user's groups (comma-separated: admin, business, user, worker) [default: user].
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub groups: Option<Vec<String>>,
    /// Give staff status.
    #[arg(long)]
    pub staff: bool,
    /// Give superuser status (with --staff: the admin group too).
    #[arg(long)]
    pub superuser: bool,
    /// Create the account deactivated.
    #[arg(long)]
    pub inactive: bool,
    /// The user must choose a new password at the first login.
    #[arg(long)]
    pub must_change_password: bool,
    /// Read the password from standard input instead of asking for it.
    #[arg(long)]
    pub password_stdin: bool,
}

/// A new password: standard input (one line), or asked twice on the terminal.
fn read_new_password(from_stdin: bool, whose: &str) -> Result<String, Failure> {
    read_password(from_stdin, || {
        let first = prompt(format!("New password for {whose}: "))?;
        if prompt(format!("New password for {whose} again: "))? != first {
            return Err(Failure::usage("the two passwords differ"));
        }
        Ok(first)
    })
}

pub fn create(ctx: &Context, args: CreateArgs) -> Outcome {
    let client = ctx.logged_in()?;
    let password = read_new_password(args.password_stdin, &args.username)?;
    let request = UserCreateRequest {
        username: args.username,
        password,
        email: args.email,
        first_name: args.first_name,
        last_name: args.last_name,
        groups: args.groups.as_deref().map(group_list),
        is_staff: args.staff.then_some(true),
        is_superuser: args.superuser.then_some(true),
        is_active: args.inactive.then_some(false),
        must_change_password: args.must_change_password.then_some(true),
    };
    let user = client.users_api().users_create(&request)?;
    output::print_user(&MetaUser::Full(user), ctx.output)
}

pub fn passwd(ctx: &Context, id: i64, password_stdin: bool, must_change: bool) -> Outcome {
    let client = ctx.logged_in()?;
    let password = read_new_password(password_stdin, &format!("user {id}"))?;
    let request = PasswordSetRequest {
        password,
        must_change_password: must_change.then_some(true),
    };
    let done = client.users_api().users_create_password(id, &request)?;
    println!("{}", done.detail);
    Ok(())
}
