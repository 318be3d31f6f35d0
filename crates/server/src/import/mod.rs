//! `cvat-server import-django`: loads a Django `manage.py dumpdata` JSON file from an existing
//! CVAT.
//!
//! Kept: `auth.group`, `auth.user` (ids, flags, names, e-mail, dates and password hashes, so
//! users log in with their old passwords), `authtoken.token` (old tokens keep working),
//! `organizations.organization`, `organizations.membership` and `organizations.invitation`.
//! Every other model is counted and skipped.
//!
//! The file is streamed: a reader thread parses one record at a time (skipped models are
//! never built in memory) and hands the kept ones over a bounded channel to the importer,
//! which writes everything in ONE transaction of the store (`crate::store::BulkTx`, which owns
//! the SQL). Users go in as they arrive, in batches; the other kept records are small, so they
//! wait until the end, when every user they name is known. Any error (malformed file, unknown
//! user, collision) rolls everything back.
//!
//! Steps: `read` (the dump, one record at a time), `records` (Django's rows, typed), `write`
//! (records to store rows, collisions).

use std::collections::BTreeMap;
use std::fmt;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use tokio::sync::mpsc;

use crate::config::DatabaseArgs;

mod read;
mod records;
mod write;

use crate::store::Db;
use read::{read_dump, Msg};
use write::Importer;

/// Records in flight between the reader thread and the importer.
const CHANNEL_DEPTH: usize = 1024;
/// Collisions named in the error message (the rest are counted).
pub(super) const NAMED_COLLISIONS: usize = 10;

/// What to import and how.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub file: PathBuf,
    /// Delete existing users, organizations, memberships, invitations, tokens and sessions
    /// first (in the same transaction).
    pub replace: bool,
    /// Print a progress line on standard error while reading.
    pub progress: bool,
}

/// What an import did, for the final report.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub file: String,
    pub records: u64,
    pub bytes: u64,
    pub replaced: bool,
    /// Kept models and how many records of each were imported.
    pub imported: Vec<(&'static str, u64)>,
    /// Other models and how many records of each were skipped.
    pub skipped: BTreeMap<String, u64>,
    pub seconds: f64,
    /// Active users in group `admin` after the import.
    pub active_admins: i64,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Imported {} ({} records, {}) in {:.1} s{}.",
            self.file,
            self.records,
            human_bytes(self.bytes),
            self.seconds,
            if self.replaced {
                ", replacing the existing users and organizations"
            } else {
                ""
            }
        )?;
        let width = self
            .imported
            .iter()
            .map(|(m, _)| m.len())
            .chain(self.skipped.keys().map(String::len))
            .max()
            .unwrap_or(0);
        writeln!(f, "Imported models:")?;
        for (model, n) in &self.imported {
            writeln!(f, "  {model:<width$}  {n:>9}")?;
        }
        let skipped: u64 = self.skipped.values().sum();
        if self.skipped.is_empty() {
            writeln!(f, "Skipped models: none")?;
        } else {
            writeln!(
                f,
                "Skipped models ({skipped} records of {} models this server does not serve):",
                self.skipped.len()
            )?;
            for (model, n) in &self.skipped {
                writeln!(f, "  {model:<width$}  {n:>9}")?;
            }
        }
        if self.active_admins == 0 {
            writeln!(
                f,
                "Note: there is no active admin; create one with `cvat-server createsuperuser`."
            )?;
        }
        Ok(())
    }
}

pub(super) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["bytes", "KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} bytes");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// Opens (creating and migrating if needed) the database of `db_args` and imports into it.
pub async fn import_django_file(
    db_args: &DatabaseArgs,
    opts: &ImportOptions,
) -> anyhow::Result<Summary> {
    // Fail on a missing file before creating a database for nothing.
    std::fs::File::open(&opts.file)
        .with_context(|| format!("cannot open {}", opts.file.display()))?;
    let db = Db::open(&db_args.options()).await?;
    let result = import_django(&db, opts).await;
    db.close().await;
    result
}

/// Imports `opts.file` into `db` in one transaction: all of it, or (on any error) nothing.
pub async fn import_django(db: &Db, opts: &ImportOptions) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let file = std::fs::File::open(&opts.file)
        .with_context(|| format!("cannot open {}", opts.file.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);

    let tx = db
        .begin_bulk()
        .await
        .context("cannot start a write transaction (is the database busy?)")?;
    let (sender, receiver) = mpsc::channel(CHANNEL_DEPTH);
    let progress = opts.progress;
    let reader = std::thread::Builder::new()
        .name("import-reader".into())
        .spawn(move || {
            let outcome = read_dump(file, size, &sender, progress);
            // The importer may be gone already (it failed); then nobody needs the outcome.
            let _ = sender.blocking_send(Msg::Done(outcome));
        })
        .context("cannot start the reader thread")?;

    let mut importer = Importer::new(tx, opts.replace);
    // On error the receiver is dropped when `run` returns, so the reader stops at its next
    // record and ends on its own.
    let outcome = importer.run(receiver).await;
    drop(reader);
    let (importer, stats) = match outcome {
        Ok(stats) => (importer, stats),
        Err(e) => {
            importer.tx.rollback().await;
            return Err(e);
        }
    };
    let imported = importer.counts();
    let mut tx = importer.tx;
    let active_admins = tx.active_admins().await?;
    tx.commit().await?;
    Ok(Summary {
        file: opts.file.display().to_string(),
        records: stats.records,
        bytes: stats.bytes,
        replaced: opts.replace,
        imported,
        skipped: stats.skipped,
        seconds: started.elapsed().as_secs_f64(),
        active_admins,
    })
}

/// The default for `--progress`: only when standard error is a terminal.
pub fn progress_default() -> bool {
    std::io::stderr().is_terminal()
}

/// Used by the binary: the absolute-or-relative path as given.
pub fn options(file: &Path, replace: bool) -> ImportOptions {
    ImportOptions {
        file: file.to_path_buf(),
        replace,
        progress: progress_default(),
    }
}
