use std::io::{IsTerminal, Read};

use clap::{Parser, Subcommand};
use cvat_server::config::{DatabaseArgs, ServeArgs};

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
        db: DatabaseArgs,
    },
    /// Import users, groups, tokens and organizations from a CVAT `manage.py dumpdata` JSON
    /// file (all or nothing, in one transaction; other models are counted and skipped).
    ImportDjango {
        /// The JSON file written by `python manage.py dumpdata` (streamed; any size).
        file: std::path::PathBuf,
        /// Delete the existing users, organizations, memberships, invitations, tokens and
        /// sessions first, instead of refusing when ids or usernames collide.
        #[arg(long)]
        replace: bool,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn init_tracing(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("CVAT_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
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
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => {
            init_tracing(args.log_format == "json");
            cvat_server::serve(args).await
        }
        Command::Createsuperuser {
            username,
            email,
            password_stdin,
            db,
        } => {
            init_tracing(false);
            match read_password(password_stdin) {
                Ok(password) => cvat_server::create_superuser(&db, &username, &email, &password)
                    .await
                    .map(|id| println!("Superuser {username} created (id {id}).")),
                Err(e) => Err(e),
            }
        }
        Command::ImportDjango { file, replace, db } => {
            init_tracing(false);
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
