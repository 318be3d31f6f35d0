//! `invitations list|invite|show|accept|decline|resend|delete`: inviting people to an
//! organization and answering invitations, with the saved access token.

use clap::Subcommand;
use cvat_sdk::{Invitation, InvitationWriteRequest, InvitationsListParams, OrgContext, PageSize};

use crate::context::{Context, Failure, Outcome};
use crate::output::{self, Column, Format};

#[derive(Debug, Subcommand)]
pub enum InvitationsCommand {
    /// List invitations: the organization's with --org, else those sent to or by you.
    List {
        /// Words to look for in the invitee's and the inviter's names.
        #[arg(long)]
        search: Option<String>,
        /// Sort by these comma-separated fields; a leading - sorts descending.
        #[arg(long, value_name = "FIELDS", allow_hyphen_values = true)]
        sort: Option<String>,
        /// Every invitation, not only the first page.
        #[arg(long)]
        all: bool,
    },
    /// Invite an e-mail address to the organization given with --org.
    Invite {
        /// The address; one without an account gets a mail with a registration link.
        email: String,
        /// The role in the organization: worker, supervisor, maintainer (or owner).
        #[arg(long, default_value = "worker")]
        role: String,
    },
    /// Show one invitation.
    Show {
        /// The invitation's key (from the mail, or from 'invitations list').
        key: String,
    },
    /// Accept an invitation sent to you: you join the organization.
    Accept { key: String },
    /// Decline an invitation sent to you.
    Decline { key: String },
    /// Send the invitation's mail again (its expiry starts over).
    Resend { key: String },
    /// Withdraw an invitation (and the membership waiting for it).
    Delete { key: String },
}

/// The columns of an invitation in `table` and `csv` output.
const COLUMNS: [Column; 7] = [
    ("KEY", |v| output::field(v, "key")),
    ("USER", |v| output::field(v, "user.username")),
    ("ROLE", |v| output::field(v, "role")),
    ("ORGANIZATION", |v| {
        output::field(v, "organization_info.slug")
    }),
    ("ACCEPTED", |v| output::field(v, "accepted")),
    ("EXPIRED", |v| output::field(v, "expired")),
    ("INVITED BY", |v| output::field(v, "owner.username")),
];

fn print(invitations: &[Invitation], format: Format, one: bool) -> Outcome {
    let values = invitations
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Failure::new(format!("cannot format the output: {e}")))?;
    if values.is_empty() && format == Format::Table {
        println!("(no invitations)");
        return Ok(());
    }
    output::print_records(&values, &COLUMNS, format, one)
}

pub fn run(ctx: &Context, command: InvitationsCommand) -> Outcome {
    let client = ctx.logged_in()?;
    let api = client.invitations_api();
    match command {
        InvitationsCommand::List { search, sort, all } => {
            let mut params = InvitationsListParams {
                search,
                sort,
                ..Default::default()
            };
            let mut found = Vec::new();
            if all {
                params.paging.page_size = Some(PageSize::All);
                for page in api.invitations_list_pages(&params) {
                    found.extend(page?.results);
                }
            } else {
                found = api.invitations_list(&params)?.results;
            }
            print(&found, ctx.output, false)
        }
        InvitationsCommand::Invite { email, role } => {
            if ctx.org.as_deref().is_none_or(str::is_empty) {
                return Err(Failure::usage(
                    "invite into which organization? pass --org SLUG (or set CVAT_ORG)",
                ));
            }
            let request = InvitationWriteRequest { role, email };
            let created = api.invitations_create(&request, &OrgContext::default())?;
            if ctx.output == Format::Table {
                let state = if created.accepted {
                    "joined at once"
                } else {
                    "mailed; waiting for an answer"
                };
                println!("Invited {} ({state}).", created.user.username);
            }
            print(&[created], ctx.output, true)
        }
        InvitationsCommand::Show { key } => {
            print(&[api.invitations_retrieve(&key)?], ctx.output, true)
        }
        InvitationsCommand::Accept { key } => {
            let joined = api.invitations_accept(&key)?;
            println!("Joined organization {}.", joined.organization_slug);
            Ok(())
        }
        InvitationsCommand::Decline { key } => {
            api.invitations_decline(&key)?;
            println!("Declined.");
            Ok(())
        }
        InvitationsCommand::Resend { key } => {
            api.invitations_resend(&key)?;
            println!("Sent again.");
            Ok(())
        }
        InvitationsCommand::Delete { key } => {
            api.invitations_destroy(&key)?;
            println!("Deleted.");
            Ok(())
        }
    }
}
