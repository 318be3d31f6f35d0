//! `cvat-bench`: seeds a users database and drives a release `cvat-server` with `wrk`
//! (see `scripts/bench` and the README's "Benchmarks").

mod mfa_login;
mod names;
mod report;
mod run;
mod seed;
mod server;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "cvat-bench",
    about = "Seed a large users database and load-test cvat-server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Seed an empty database (created and migrated when missing) with N users.
    Seed {
        #[arg(long)]
        database_url: String,
        #[arg(long, default_value_t = 100_000)]
        users: u64,
        /// Organizations (default: one per 100 users, at most 1000).
        #[arg(long)]
        orgs: Option<u64>,
    },
    /// Seed fresh databases, start the server on each and print the table.
    Run(run::RunArgs),
}

pub fn default_orgs(users: u64) -> u64 {
    (users / 100).clamp(10, 1000)
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Seed {
            database_url,
            users,
            orgs,
        } => seed::seed(&database_url, users, orgs.unwrap_or(default_orgs(users)))
            .await
            .map(|f| {
                println!("admin token: {}", f.admin_token);
                println!("user token:  {}", f.user_token);
                println!("basic:       {}:{}", f.basic_login, f.basic_password);
                println!("org:         {}", f.org_slug);
            }),
        Command::Run(args) => run::run(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cvat-bench: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
