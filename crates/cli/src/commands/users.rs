//! `list`, `show`, `update`, `delete`: reading and changing users.

use std::io::{BufRead, IsTerminal};

use clap::Args;
use cvat_sdk::{OrgContext, PageSize, PatchedUserRequest, UsersListParams};
use indicatif::{ProgressBar, ProgressStyle};

use super::group_list;
use crate::context::{Context, Failure, Outcome};
use crate::output;

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Words to look for in username, first name and last name.
    #[arg(long)]
    pub search: Option<String>,
    /// A JSON-logic filter on id, username, first_name, last_name, is_active.
    #[arg(long, value_name = "JSON")]
    pub filter: Option<String>,
    /// Sort by these comma-separated fields; a leading - sorts descending (default: -id).
    #[arg(long, value_name = "FIELDS", allow_hyphen_values = true)]
    pub sort: Option<String>,
    /// Users per page (the server's default is 10).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page_size: Option<u32>,
    /// The page to show.
    #[arg(long, value_name = "N", conflicts_with = "all", value_parser = clap::value_parser!(u32).range(1..))]
    pub page: Option<u32>,
    /// Every page, one after the other (with a progress bar on a terminal).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// The user's id.
    pub id: i64,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    #[arg(long)]
    pub username: Option<String>,
    /// Replace the user's groups (comma-separated: admin, business, user, worker; "" for none).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    pub groups: Option<Vec<String>>,
    /// Activate the account.
    #[arg(long, conflicts_with = "inactive")]
    pub active: bool,
    /// Deactivate the account (the user can no longer log in).
    #[arg(long)]
    pub inactive: bool,
    /// Give staff status.
    #[arg(long, conflicts_with = "no_staff")]
    pub staff: bool,
    /// Remove staff status.
    #[arg(long)]
    pub no_staff: bool,
    /// Give superuser status.
    #[arg(long, conflicts_with = "no_superuser")]
    pub superuser: bool,
    /// Remove superuser status.
    #[arg(long)]
    pub no_superuser: bool,
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` for neither.
fn flag(on: bool, off: bool) -> Option<bool> {
    (on || off).then_some(on)
}

impl UpdateArgs {
    pub fn patch(&self) -> PatchedUserRequest {
        PatchedUserRequest {
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            groups: self.groups.as_deref().map(group_list),
            is_staff: flag(self.staff, self.no_staff),
            is_superuser: flag(self.superuser, self.no_superuser),
            is_active: flag(self.active, self.inactive),
        }
    }
}

pub fn list(ctx: &Context, args: ListArgs) -> Outcome {
    let client = ctx.logged_in()?;
    let users = client.users_api();
    let params = UsersListParams {
        page: args.page,
        page_size: args.page_size.map(PageSize::Count),
        search: args.search,
        filter: args.filter,
        sort: args.sort,
        ..Default::default()
    };
    if !args.all {
        let page = users.users_list(&params)?;
        output::print_users(&page.results, ctx.output)?;
        if page.next.is_some() && std::io::stderr().is_terminal() {
            let shown = page.results.len();
            eprintln!(
                "({shown} of {} users shown: use --page N, or --all for every page)",
                page.count
            );
        }
        return Ok(());
    }
    let bar = if std::io::stderr().is_terminal() {
        match ProgressStyle::with_template("{bar:40} {pos}/{len} users ({elapsed})") {
            Ok(style) => ProgressBar::new(0).with_style(style),
            Err(_) => ProgressBar::new(0),
        }
    } else {
        ProgressBar::hidden()
    };
    let mut all = Vec::new();
    for page in users.users_list_pages(params) {
        let page = match page {
            Ok(p) => p,
            Err(e) => {
                bar.abandon();
                return Err(e.into());
            }
        };
        bar.set_length(page.count.max(0) as u64);
        bar.inc(page.results.len() as u64);
        all.extend(page.results);
    }
    bar.finish_and_clear();
    output::print_users(&all, ctx.output)
}

pub fn show(ctx: &Context, id: i64) -> Outcome {
    let client = ctx.logged_in()?;
    let user = client
        .users_api()
        .users_retrieve(id, &OrgContext::default())?;
    output::print_user(&user, ctx.output)
}

pub fn update(ctx: &Context, args: UpdateArgs) -> Outcome {
    let patch = args.patch();
    if patch == PatchedUserRequest::default() {
        return Err(Failure::usage(
            "nothing to update: give at least one of --first-name, --last-name, --email, --username, --groups, \
             --active/--inactive, --staff/--no-staff, --superuser/--no-superuser",
        ));
    }
    let client = ctx.logged_in()?;
    let user = client.users_api().users_partial_update(args.id, &patch)?;
    output::print_user(&user, ctx.output)
}

pub fn delete(ctx: &Context, id: i64, yes: bool) -> Outcome {
    let client = ctx.logged_in()?;
    let users = client.users_api();
    if !yes {
        if !std::io::stdin().is_terminal() {
            return Err(Failure::usage(format!(
                "refusing to delete user {id} without confirmation: standard input is not a terminal; pass --yes"
            )));
        }
        let user = users.users_retrieve(id, &OrgContext::default())?;
        eprint!(
            "Delete user {} (id {id})? This cannot be undone. [y/N] ",
            user.username()
        );
        let mut answer = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut answer)
            .map_err(|e| Failure::new(format!("cannot read the answer: {e}")))?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(Failure::new(format!(
                "cancelled: user {id} was not deleted"
            )));
        }
    }
    users.users_destroy(id)?;
    println!("Deleted user {id}.");
    Ok(())
}
