//! `cvat-users`: manage the users of a CVAT server from the command line.
//!
//! `login` creates a personal access token and keeps it, with the server's address, in
//! `$XDG_CONFIG_HOME/cvat-users/config.toml` (mode 0600); every other command authenticates
//! with it (`Authorization: Bearer`). Failures print one line, `cvat-users: <what went wrong>`,
//! on stderr and exit with a non-zero code.

mod config;
mod output;

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cvat_sdk::{
    AccessTokenWriteRequest, ApiClient, Configuration, Credentials, OrgContext, PageSize,
    PatchedUserRequest, UsersListParams,
};
use indicatif::{ProgressBar, ProgressStyle};

use config::Config;
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
  printf '%s' \"$PASSWORD\" | cvat-users passwd 42 --password-stdin")]
    Passwd {
        /// The user's id.
        id: i64,
        /// Read the new password from standard input instead of asking for it.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Args)]
struct LoginArgs {
    /// Your username (or e-mail address).
    #[arg(long, short = 'u')]
    username: String,
    /// Read the password from standard input instead of asking for it.
    #[arg(long)]
    password_stdin: bool,
    /// Name of the access token to create [default: cvat-users@<this machine's hostname>].
    #[arg(long, value_name = "NAME")]
    token_name: Option<String>,
}

#[derive(Debug, Args)]
struct ListArgs {
    /// Words to look for in username, first name and last name.
    #[arg(long)]
    search: Option<String>,
    /// A JSON-logic filter on id, username, first_name, last_name, is_active.
    #[arg(long, value_name = "JSON")]
    filter: Option<String>,
    /// Sort by these comma-separated fields; a leading - sorts descending (default: -id).
    #[arg(long, value_name = "FIELDS", allow_hyphen_values = true)]
    sort: Option<String>,
    /// Users per page (the server's default is 10).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    page_size: Option<u32>,
    /// The page to show.
    #[arg(long, value_name = "N", conflicts_with = "all", value_parser = clap::value_parser!(u32).range(1..))]
    page: Option<u32>,
    /// Every page, one after the other (with a progress bar on a terminal).
    #[arg(long)]
    all: bool,
}

#[derive(Debug, Args)]
struct UpdateArgs {
    /// The user's id.
    id: i64,
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    username: Option<String>,
    /// Replace the user's groups (comma-separated: admin, business, user, worker; "" for none).
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    groups: Option<Vec<String>>,
    /// Activate the account.
    #[arg(long, conflicts_with = "inactive")]
    active: bool,
    /// Deactivate the account (the user can no longer log in).
    #[arg(long)]
    inactive: bool,
    /// Give staff status.
    #[arg(long, conflicts_with = "no_staff")]
    staff: bool,
    /// Remove staff status.
    #[arg(long)]
    no_staff: bool,
    /// Give superuser status.
    #[arg(long, conflicts_with = "no_superuser")]
    superuser: bool,
    /// Remove superuser status.
    #[arg(long)]
    no_superuser: bool,
}

/// `Some(true)` for `--x`, `Some(false)` for `--no-x`, `None` for neither.
fn flag(on: bool, off: bool) -> Option<bool> {
    (on || off).then_some(on)
}

impl UpdateArgs {
    fn patch(&self) -> PatchedUserRequest {
        PatchedUserRequest {
            username: self.username.clone(),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            email: self.email.clone(),
            groups: self.groups.as_ref().map(|g| {
                g.iter()
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            }),
            is_staff: flag(self.staff, self.no_staff),
            is_superuser: flag(self.superuser, self.no_superuser),
            is_active: flag(self.active, self.inactive),
        }
    }
}

/// A failed command: the one line printed after `cvat-users: `, and the exit code.
#[derive(Debug)]
pub struct Failure {
    message: String,
    code: u8,
    status: Option<u16>,
}

impl Failure {
    pub fn new(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 1,
            status: None,
        }
    }

    fn usage(message: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            code: 2,
            status: None,
        }
    }
}

impl From<cvat_sdk::Error> for Failure {
    fn from(e: cvat_sdk::Error) -> Self {
        Failure {
            message: e.to_string(),
            code: 1,
            status: e.status().map(|s| s.as_u16()),
        }
    }
}

type Outcome = Result<(), Failure>;

/// What every command needs: the server, the organization, the output format, the config.
struct Context {
    host: Option<String>,
    org: Option<String>,
    output: Format,
    config_path: PathBuf,
    config: Config,
}

/// `cvat.example.com/` → `https://cvat.example.com`.
fn normalize_host(host: &str) -> String {
    let host = host.trim().trim_end_matches('/');
    if host.contains("://") {
        host.to_string()
    } else {
        format!("https://{host}")
    }
}

impl Context {
    /// The server: `--host`/`CVAT_HOST`, else the one of the last login.
    fn host(&self) -> Result<String, Failure> {
        self.host.clone().or_else(|| self.config.host.clone()).ok_or_else(|| {
            Failure::usage("no server given: pass --host URL or set CVAT_HOST (then log in with 'cvat-users login')")
        })
    }

    fn client(&self, host: &str, credentials: Option<Credentials>) -> Result<ApiClient, Failure> {
        let mut config = Configuration::new(host).with_user_agent(format!(
            "cvat-users/{} cvat-sdk-rust",
            env!("CARGO_PKG_VERSION")
        ));
        config.credentials = credentials;
        config.organization = self.org.clone();
        Ok(ApiClient::new(config)?)
    }

    /// A client with the saved access token of the server.
    fn logged_in(&self) -> Result<ApiClient, Failure> {
        let host = self.host()?;
        let Some(token) = self.config.token_for(&host) else {
            return Err(Failure::new(format!(
                "not logged in to {host}: run 'cvat-users login --username NAME' first"
            )));
        };
        self.client(&host, Some(Credentials::Bearer(token.to_string())))
    }
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
    let uses_saved_token = !matches!(cli.command, Command::Login(_));
    let result = match cli.command {
        Command::Login(args) => login(&mut ctx, args),
        Command::Logout => logout(&mut ctx),
        Command::Whoami => whoami(&ctx),
        Command::List(args) => list(&ctx, args),
        Command::Show { id } => show(&ctx, id),
        Command::Update(args) => update(&ctx, args),
        Command::Delete { id, yes } => delete(&ctx, id, yes),
        Command::Create(args) => create(&ctx, args),
        Command::Passwd { id, password_stdin } => passwd(&ctx, id, password_stdin),
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

fn read_password(args: &LoginArgs, host: &str) -> Result<String, Failure> {
    let password = if args.password_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::new(format!("cannot read the password from standard input: {e}"))
        })?;
        let trimmed = s.strip_suffix('\n').unwrap_or(&s);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    } else if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Password for {} at {host}: ", args.username))
            .map_err(|e| Failure::new(format!("cannot read the password: {e}")))?
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

fn login(ctx: &mut Context, args: LoginArgs) -> Outcome {
    let host = ctx.host()?;
    let password = read_password(&args, &host)?;
    let client = ctx.client(&host, Some(Credentials::basic(&args.username, password)))?;
    let name = args.token_name.clone().unwrap_or_else(default_token_name);
    let created = client
        .auth_api()
        .access_tokens_create(&AccessTokenWriteRequest {
            name: Some(name),
            ..Default::default()
        })?;
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

fn logout(ctx: &mut Context) -> Outcome {
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

fn whoami(ctx: &Context) -> Outcome {
    let client = ctx.logged_in()?;
    let me = client.users_api().users_retrieve_self()?;
    output::print_user(&me, ctx.output)
}

fn list(ctx: &Context, args: ListArgs) -> Outcome {
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
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} users ({elapsed})")
            .expect("valid template");
        ProgressBar::new(0).with_style(style)
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

fn show(ctx: &Context, id: i64) -> Outcome {
    let client = ctx.logged_in()?;
    let user = client
        .users_api()
        .users_retrieve(id, &OrgContext::default())?;
    output::print_user(&user, ctx.output)
}

fn update(ctx: &Context, args: UpdateArgs) -> Outcome {
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

fn delete(ctx: &Context, id: i64, yes: bool) -> Outcome {
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

#[cfg(test)]
mod tests {
    use super::*;

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

#[derive(Debug, Args)]
struct CreateArgs {
    /// The new user's username (5 to 150 letters, digits and @/./+/-/_).
    #[arg(long, short = 'u')]
    username: String,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    /// The user's groups (comma-separated: admin, business, user, worker) [default: user].
    #[arg(long, value_delimiter = ',', value_name = "A,B")]
    groups: Option<Vec<String>>,
    /// Give staff status.
    #[arg(long)]
    staff: bool,
    /// Give superuser status (with --staff: the admin group too).
    #[arg(long)]
    superuser: bool,
    /// Create the account deactivated.
    #[arg(long)]
    inactive: bool,
    /// Read the password from standard input instead of asking for it.
    #[arg(long)]
    password_stdin: bool,
}

/// A new password: standard input (one line), or asked twice on the terminal.
fn read_new_password(from_stdin: bool, whose: &str) -> Result<String, Failure> {
    let password = if from_stdin {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::new(format!("cannot read the password from standard input: {e}"))
        })?;
        let trimmed = s.strip_suffix('\n').unwrap_or(&s);
        trimmed.strip_suffix('\r').unwrap_or(trimmed).to_string()
    } else if std::io::stdin().is_terminal() {
        let ask = |prompt: String| {
            rpassword::prompt_password(prompt)
                .map_err(|e| Failure::new(format!("cannot read the password: {e}")))
        };
        let first = ask(format!("New password for {whose}: "))?;
        if ask(format!("New password for {whose} again: "))? != first {
            return Err(Failure::usage("the two passwords differ"));
        }
        first
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

fn create(ctx: &Context, args: CreateArgs) -> Outcome {
    let client = ctx.logged_in()?;
    let password = read_new_password(args.password_stdin, &args.username)?;
    let request = cvat_sdk::UserCreateRequest {
        username: args.username,
        password,
        email: args.email,
        first_name: args.first_name,
        last_name: args.last_name,
        groups: args.groups.map(|g| {
            g.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        }),
        is_staff: args.staff.then_some(true),
        is_superuser: args.superuser.then_some(true),
        is_active: args.inactive.then_some(false),
    };
    let user = client.users_api().users_create(&request)?;
    output::print_user(&cvat_sdk::MetaUser::Full(user), ctx.output)
}

fn passwd(ctx: &Context, id: i64, password_stdin: bool) -> Outcome {
    let client = ctx.logged_in()?;
    let password = read_new_password(password_stdin, &format!("user {id}"))?;
    let done = client
        .users_api()
        .users_create_password(id, &cvat_sdk::PasswordSetRequest { password })?;
    println!("{}", done.detail);
    Ok(())
}
