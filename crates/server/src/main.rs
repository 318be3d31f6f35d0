use std::io::{IsTerminal, Read};

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use cvat_server::config::{ConfigFileArg, DatabaseArgs, ServeArgs};

#[derive(Parser)]
#[command(
    name = "cvat-server",
    version,
    about = "A CVAT-compatible Users API server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (SQLite under ./cvat-data/ by default, created on first start).
    Serve(ServeArgs),
    /// Print the effective configuration (flags > environment > file > defaults) as TOML,
    /// secrets masked.
    Config(ServeArgs),
    /// Create an active staff superuser in group `admin`.
    Createsuperuser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        config_file: ConfigFileArg,
        #[command(flatten)]
        db: DatabaseArgs,
    },
    /// Import users, groups, tokens and organizations from a CVAT `manage.py dumpdata` JSON
    /// file (all or nothing, in one transaction; other models are counted and skipped).
    /// The outgoing mail queue: `mail list [--status S]`, `mail retry ID` (database options
    /// go before the action, or in `CVAT_DATABASE_URL` / the configuration file).
    Mail(cvat_server::mail::cli::MailCommand),
    /// The audit log: `audit verify` walks its hash chain and names the first event changed,
    /// removed or inserted out of place (exit status 1).
    Audit(cvat_server::audit_log::AuditCommand),
    ImportDjango {
        /// The JSON file written by `python manage.py dumpdata` (streamed; any size).
        file: std::path::PathBuf,
        /// Delete the existing users, organizations, memberships, invitations, tokens and
        /// sessions first, instead of refusing when ids or usernames collide.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        config_file: ConfigFileArg,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

/// `filter` as given (`--log` / `CVAT_LOG`), with `sqlx` held at `warn` unless it names
/// `sqlx`: its per-statement events (SQL text; bound values are never logged) only on request,
/// e.g. `debug,sqlx::query=debug`.
fn init_tracing(filter: &str, json: bool) {
    let mut directives = if filter.trim().is_empty() {
        "info".to_string()
    } else {
        filter.trim().to_string()
    };
    if !directives.contains("sqlx") {
        directives.push_str(",sqlx=warn");
    }
    let filter = tracing_subscriber::EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("cvat-server: ignoring the log filter {filter:?}: {e}");
        tracing_subscriber::EnvFilter::new("info,sqlx=warn")
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colours only on a terminal: log files and collectors get plain `key=value` text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        return Ok(s.trim_end_matches(['\r', '\n']).to_string());
    }
    let first = rpassword::prompt_password("Password: ")?;
    let again = rpassword::prompt_password("Password (again): ")?;
    anyhow::ensure!(first == again, "the two passwords differ");
    Ok(first)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let command = match cvat_server::config::with_config_file(Cli::command(), &argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("cvat-server: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let cli = Cli::from_arg_matches(&command.get_matches_from(&argv)).unwrap_or_else(|e| e.exit());
    let result = match cli.command {
        Command::Serve(args) => {
            init_tracing(&args.log, args.log_format == "json");
            let url = args.db.database_url.clone();
            cvat_server::serve(args).await.map_err(|e| {
                anyhow::anyhow!(cvat_server::config::redact_database_password(
                    &format!("{e:#}"),
                    &url
                ))
            })
        }
        Command::Config(args) => {
            print!("{}", args.to_toml());
            Ok(())
        }
        Command::Createsuperuser {
            username,
            email,
            password_stdin,
            db,
            ..
        } => {
            init_tracing(&std::env::var("CVAT_LOG").unwrap_or_default(), false);
            match read_password(password_stdin) {
                Ok(password) => cvat_server::create_superuser(&db, &username, &email, &password)
                    .await
                    .map(|id| println!("Superuser {username} created (id {id}).")),
                Err(e) => Err(e),
            }
        }
        Command::Mail(cmd) => {
            init_tracing(&std::env::var("CVAT_LOG").unwrap_or_default(), false);
            cvat_server::mail::cli::run(&cmd)
                .await
                .map(|out| print!("{out}"))
        }
        Command::Audit(cmd) => {
            init_tracing(&std::env::var("CVAT_LOG").unwrap_or_default(), false);
            cvat_server::audit_log::run(&cmd)
                .await
                .map(|out| print!("{out}"))
        }
        Command::ImportDjango {
            file, replace, db, ..
        } => {
            init_tracing(&std::env::var("CVAT_LOG").unwrap_or_default(), false);
            let opts = cvat_server::import::options(&file, replace);
            cvat_server::import::import_django_file(&db, &opts)
                .await
                .map(|summary| print!("{summary}"))
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cvat-server: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
