//! `cvat-users`: manage the users of a CVAT server from the command line.
//!
//! `login` creates a personal access token and keeps it, with the server's address, in
//! `$XDG_CONFIG_HOME/cvat-users/config.toml` (mode 0600); every other command authenticates
//! with it (`Authorization: Bearer`). Failures print one line, `cvat-users: <what went wrong>`,
//! on stderr and exit with a non-zero code. This file parses the command line and dispatches;
//! the commands live in `commands/`.

mod commands;
mod config;
mod context;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use commands::admin::{self, CreateArgs};
use commands::auth::{self, LoginArgs};
use commands::users::{self, ListArgs, UpdateArgs};
use context::{normalize_host, Context, Outcome};
use output::Format;

const EXAMPLES: &str = "\
Examples:
  cvat-users --host https://cvat.example.com login --username admin
  cvat-users whoami
  cvat-users list --search smith --sort=-id
  cvat-users list --all --output csv > users.csv
  cvat-users show 42
  cvat-users update 42 --inactive --groups user,worker
  cvat-users delete 42 --yes
  cvat-users --org my-team invitations invite bob@example.com
  cvat-users password-reset request ada@example.com
  cvat-users logout

Environment:
  CVAT_HOST        the server (like --host)
  CVAT_ORG         an organization slug (like --org)
  XDG_CONFIG_HOME  where config.toml lives (default ~/.config): cvat-users/config.toml";

/// Manage the users of a CVAT server.
///
/// Log in once with `login`: it creates a personal access token on the server and saves it,
/// with the server's address, in $XDG_CONFIG_HOME/cvat-users/config.toml (readable by you
/// only). The other commands use that token.
#[derive(Debug, Parser)]
#[command(name = "cvat-users", version, after_help = EXAMPLES)]
struct Cli {
    /// The CVAT server, e.g. https://cvat.example.com (default: the one you logged in to;
    /// https:// is assumed when no scheme is given).
    #[arg(long, env = "CVAT_HOST", global = true, value_name = "URL")]
    host: Option<String>,
    /// Work in this organization (sent as X-Organization; "" is the personal workspace).
    #[arg(long, env = "CVAT_ORG", global = true, value_name = "SLUG")]
    org: Option<String>,
    /// Output format of the commands that print users.
    #[arg(
        long,
        short = 'o',
        value_enum,
        default_value = "table",
        global = true,
        value_name = "FORMAT"
    )]
    output: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Log in: create a personal access token and save it with the server's address.
    #[command(after_help = "\
Examples:
  cvat-users --host https://cvat.example.com login --username admin
  printf '%s' \"$PASSWORD\" | cvat-users --host http://localhost:8080 login --username admin --password-stdin
  cvat-users login --username admin --token-name laptop")]
    Login(LoginArgs),
    /// Log out: revoke the saved access token on the server and remove it from the config.
    #[command(after_help = "\
Examples:
  cvat-users logout")]
    Logout,
    /// Create a SCIM provisioning token for an identity provider (administrators; asks for
    /// your password; the token is printed once and valid under /scim/v2 only).
    #[command(after_help = "\
Examples:
  cvat-users scim-token --username admin --name okta
  printf '%s' \"$PASSWORD\" | cvat-users scim-token --username admin --password-stdin > scim-token.txt")]
    ScimToken(commands::scim::ScimTokenArgs),
    /// Show the user you are logged in as.
    #[command(after_help = "\
Examples:
  cvat-users whoami
  cvat-users whoami --output json")]
    Whoami,
    /// List users (one page by default, every page with --all).
    #[command(after_help = "\
Examples:
  cvat-users list
  cvat-users list --search smith --sort username
  cvat-users list --filter '{\"==\": [{\"var\": \"is_active\"}, false]}'
  cvat-users list --page 2 --page-size 50
  cvat-users list --all --output json > users.json
  cvat-users --org my-team list --all --output csv")]
    List(ListArgs),
    /// Show one user.
    #[command(after_help = "\
Examples:
  cvat-users show 42
  cvat-users show 42 --output json")]
    Show {
        /// The user's id.
        id: i64,
    },
    /// Change fields of a user (only the ones given).
    #[command(after_help = "\
Examples:
  cvat-users update 42 --first-name Ada --last-name Lovelace
  cvat-users update 42 --email ada@example.com --username ada
  cvat-users update 42 --groups user,worker
  cvat-users update 42 --inactive
  cvat-users update 42 --staff")]
    Update(UpdateArgs),
    /// Delete a user (asks for confirmation unless --yes).
    #[command(after_help = "\
Examples:
  cvat-users delete 42
  cvat-users delete 42 --yes")]
    Delete {
        /// The user's id.
        id: i64,
        /// Do not ask for confirmation (required when standard input is not a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Create a user (administrators only). Asks for the password twice unless --password-stdin.
    #[command(after_help = "\
Examples:
  cvat-users create --username ada --email ada@example.com --first-name Ada
  printf '%s' \"$PASSWORD\" | cvat-users create --username ci-bot --groups worker --password-stdin
  cvat-users create --username root2 --staff --superuser --output json")]
    Create(CreateArgs),
    /// Set a user's password (administrators only); the user's sessions and tokens are revoked.
    #[command(after_help = "\
Examples:
  cvat-users passwd 42
  printf '%s' \"$PASSWORD\" | cvat-users passwd 42 --password-stdin
  cvat-users passwd 42 --must-change")]
    Passwd {
        /// The user's id.
        id: i64,
        /// Read the new password from standard input instead of asking for it.
        #[arg(long)]
        password_stdin: bool,
        /// The user must choose another password at the next login.
        #[arg(long)]
        must_change: bool,
    },
    /// Your two-factor authentication (TOTP): status, enable, confirm, disable, recovery codes.
    #[command(
        subcommand,
        after_help = "\
Examples:
  cvat-users mfa status
  cvat-users mfa enable --qr totp.svg
  cvat-users mfa confirm 123456
  cvat-users mfa recovery-codes --otp 123456 --code 654321
  cvat-users mfa disable --otp 123456 --recovery-code ABCDE-FGHJK
  cvat-users mfa org-policy 7 --require --grace-hours 24"
    )]
    Mfa(commands::mfa::MfaCommand),
    /// Invitations to organizations: list, invite, show, accept, decline, resend, delete.
    #[command(
        subcommand,
        after_help = "\
Examples:
  cvat-users --org my-team invitations invite bob@example.com --role supervisor
  cvat-users --org my-team invitations list --all
  cvat-users invitations list
  cvat-users invitations accept KEY
  cvat-users invitations resend KEY"
    )]
    Invitations(commands::invitations::InvitationsCommand),
    /// A forgotten password: have a reset link mailed, then set a new password with it.
    #[command(
        subcommand,
        after_help = "\
Examples:
  cvat-users --host https://cvat.example.com password-reset request ada@example.com
  cvat-users --host https://cvat.example.com password-reset confirm --link 'https://cvat.example.com/auth/password/reset/confirm?uid=...&token=...'
  printf '%s' \"$NEW_PASSWORD\" | cvat-users password-reset confirm --uid MQ --token TOKEN --password-stdin"
    )]
    PasswordReset(commands::password_reset::PasswordResetCommand),
    /// Block or unblock an account, or clear its login lock (administrators only).
    #[command(
        subcommand,
        after_help = "\
Examples:
  cvat-users access show 42
  cvat-users access block 42
  cvat-users access unblock 42
  cvat-users access unlock 42 --output json"
    )]
    Access(commands::access::AccessCommand),
    /// Your sessions, login tokens and access tokens (--user ID: anybody's, for administrators).
    #[command(
        subcommand,
        after_help = "\
Examples:
  cvat-users sessions list
  cvat-users sessions revoke token:0123456789abcdef
  cvat-users sessions revoke-all
  cvat-users sessions list --user 42 --output json"
    )]
    Sessions(commands::sessions::SessionsCommand),
    /// The server's audit log, newest first (administrators; --org: an organization's, for its
    /// owners and maintainers); -o jsonl or csv streams any number of events.
    #[command(after_help = "\
Examples:
  cvat-users audit --since 1d --actor bob
  cvat-users audit --since 2026-12-01 --action update:user -o csv > changes.csv
  cvat-users --org my-team audit --since 1w -o jsonl")]
    Audit(commands::audit::AuditArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("cvat-users: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Outcome {
    let config_path = config::path()?;
    let config = config::load(&config_path)?;
    let mut ctx = Context {
        host: cli
            .host
            .as_deref()
            .filter(|h| !h.trim().is_empty())
            .map(normalize_host),
        org: cli.org,
        output: cli.output,
        config_path,
        config,
    };
    let uses_saved_token = !matches!(
        cli.command,
        Command::Login(_) | Command::PasswordReset(_) | Command::ScimToken(_)
    );
    let result = match cli.command {
        Command::Login(args) => auth::login(&mut ctx, args),
        Command::Logout => auth::logout(&mut ctx),
        Command::ScimToken(args) => commands::scim::scim_token(&ctx, args),
        Command::Whoami => auth::whoami(&ctx),
        Command::List(args) => users::list(&ctx, args),
        Command::Show { id } => users::show(&ctx, id),
        Command::Update(args) => users::update(&ctx, args),
        Command::Delete { id, yes } => users::delete(&ctx, id, yes),
        Command::Create(args) => admin::create(&ctx, args),
        Command::Passwd {
            id,
            password_stdin,
            must_change,
        } => admin::passwd(&ctx, id, password_stdin, must_change),
        Command::Mfa(command) => commands::mfa::run(&ctx, command),
        Command::Invitations(command) => commands::invitations::run(&ctx, command),
        Command::PasswordReset(command) => commands::password_reset::run(&ctx, command),
        Command::Access(command) => commands::access::run(&ctx, command),
        Command::Sessions(command) => commands::sessions::run(&ctx, command),
        Command::Audit(args) => commands::audit::run(&ctx, args),
    };
    result.map_err(|mut f| {
        if uses_saved_token && f.status == Some(401) {
            f.message.push_str(
                " (the saved access token no longer works: log in again with 'cvat-users login')",
            );
        }
        f
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use config::Config;

    #[test]
    fn hosts_get_a_scheme_and_lose_trailing_slashes() {
        assert_eq!(
            normalize_host("cvat.example.com/"),
            "https://cvat.example.com"
        );
        assert_eq!(
            normalize_host(" http://localhost:8080// "),
            "http://localhost:8080"
        );
    }

    #[test]
    fn update_flags_make_a_patch_of_the_given_fields_only() {
        let cli = Cli::try_parse_from([
            "cvat-users",
            "update",
            "7",
            "--groups",
            "user, worker",
            "--inactive",
            "--staff",
        ])
        .unwrap();
        let Command::Update(args) = cli.command else {
            panic!()
        };
        let patch = args.patch();
        assert_eq!(
            patch.groups,
            Some(vec!["user".to_string(), "worker".to_string()])
        );
        assert_eq!(
            (patch.is_active, patch.is_staff, patch.is_superuser),
            (Some(false), Some(true), None)
        );
        assert_eq!(patch.first_name, None);

        let cli = Cli::try_parse_from(["cvat-users", "update", "7", "--groups", ""]).unwrap();
        let Command::Update(args) = cli.command else {
            panic!()
        };
        assert_eq!(args.patch().groups, Some(vec![]));

        assert!(
            Cli::try_parse_from(["cvat-users", "update", "7", "--staff", "--no-staff"]).is_err()
        );
        assert!(Cli::try_parse_from(["cvat-users", "list", "--all", "--page", "2"]).is_err());
        assert!(Cli::try_parse_from(["cvat-users", "list", "--page-size", "0"]).is_err());
    }

    #[test]
    fn the_config_round_trips_and_names_its_host() {
        let dir = std::env::temp_dir().join(format!("cvat-users-test-{}", std::process::id()));
        let path = dir.join("cvat-users").join("config.toml");
        let config = Config {
            host: Some("https://h".into()),
            username: Some("u".into()),
            token: Some("t".into()),
            token_id: Some(3),
            token_name: Some("n".into()),
        };
        config::save(&path, &config).unwrap();
        let loaded = config::load(&path).unwrap();
        assert_eq!(loaded, config);
        assert_eq!(loaded.token_for("https://h"), Some("t"));
        assert_eq!(loaded.token_for("https://other"), None);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(config::load(&path).unwrap(), Config::default());
    }
}
