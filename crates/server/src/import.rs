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
//! which writes everything in ONE transaction. Users go in as they arrive; the other kept
//! records are small, so they wait until the end, when every user they name is known.
//! Any error (malformed file, unknown user, collision) rolls everything back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::io::{BufReader, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use crate::config::DatabaseArgs;
use crate::store::{digest, fold, Db};

/// Records in flight between the reader thread and the importer.
const CHANNEL_DEPTH: usize = 1024;
/// Collisions named in the error message (the rest are counted).
const NAMED_COLLISIONS: usize = 10;

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

fn human_bytes(n: u64) -> String {
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

    let tx = Tx::begin(db).await?;
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
    let active_admins = importer.tx.commit().await?;
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

// ---------------------------------------------------------------------------------------------
// Reading: one record at a time.

/// The models kept, in the order they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Group,
    User,
    Token,
    Organization,
    Membership,
    Invitation,
}

impl Kind {
    const ALL: [Kind; 6] = [
        Kind::Group,
        Kind::User,
        Kind::Token,
        Kind::Organization,
        Kind::Membership,
        Kind::Invitation,
    ];

    fn of(model: &str) -> Option<Kind> {
        Some(match model {
            "auth.group" => Kind::Group,
            "auth.user" => Kind::User,
            "authtoken.token" => Kind::Token,
            "organizations.organization" => Kind::Organization,
            "organizations.membership" => Kind::Membership,
            "organizations.invitation" => Kind::Invitation,
            _ => return None,
        })
    }

    fn model(self) -> &'static str {
        match self {
            Kind::Group => "auth.group",
            Kind::User => "auth.user",
            Kind::Token => "authtoken.token",
            Kind::Organization => "organizations.organization",
            Kind::Membership => "organizations.membership",
            Kind::Invitation => "organizations.invitation",
        }
    }
}

/// A kept record, still untyped.
struct Raw {
    /// 1-based position in the file.
    index: u64,
    kind: Kind,
    pk: Value,
    fields: Value,
}

impl Raw {
    fn context(&self) -> String {
        format!(
            "record {} ({} pk {})",
            self.index,
            self.kind.model(),
            self.pk
        )
    }
}

enum Msg {
    Record(Raw),
    Done(anyhow::Result<ReadStats>),
}

#[derive(Debug, Default)]
struct ReadStats {
    records: u64,
    bytes: u64,
    skipped: BTreeMap<String, u64>,
}

/// Counts the bytes read, for progress and the summary.
struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

struct ReaderState<'a> {
    sender: &'a mpsc::Sender<Msg>,
    /// Records completely read.
    records: u64,
    skipped: BTreeMap<String, u64>,
    /// Set when the importer went away: the parse stops and its error is not reported.
    cancelled: bool,
    bytes: Arc<AtomicU64>,
    size: u64,
    progress: bool,
    last_progress: Instant,
    started: Instant,
}

impl ReaderState<'_> {
    /// At most once a second (checked every 1024 records).
    fn maybe_progress(&mut self) {
        if !self.progress || self.records & 1023 != 0 {
            return;
        }
        if self.last_progress.elapsed() >= Duration::from_secs(1) {
            self.last_progress = Instant::now();
            self.print_progress();
        }
    }

    fn print_progress(&self) {
        let bytes = self.bytes.load(Ordering::Relaxed);
        let pct = if self.size > 0 {
            format!(" ({:.0}%)", bytes as f64 * 100.0 / self.size as f64)
        } else {
            String::new()
        };
        let mut err = std::io::stderr().lock();
        let _ = write!(
            err,
            "\rimport-django: {} records, {} of {}{pct}, {:.0} s   ",
            self.records,
            human_bytes(bytes),
            human_bytes(self.size),
            self.started.elapsed().as_secs_f64()
        );
        let _ = err.flush();
    }
}

fn read_dump(
    file: std::fs::File,
    size: u64,
    sender: &mpsc::Sender<Msg>,
    progress: bool,
) -> anyhow::Result<ReadStats> {
    let bytes = Arc::new(AtomicU64::new(0));
    let reader = BufReader::with_capacity(
        1 << 20,
        Counting {
            inner: file,
            count: bytes.clone(),
        },
    );
    let mut de = serde_json::Deserializer::from_reader(reader);
    let mut state = ReaderState {
        sender,
        records: 0,
        skipped: BTreeMap::new(),
        cancelled: false,
        bytes: bytes.clone(),
        size,
        progress,
        last_progress: Instant::now(),
        started: Instant::now(),
    };
    let parsed = de::Deserializer::deserialize_seq(&mut de, DumpVisitor { state: &mut state })
        .and_then(|()| de.end());
    if state.progress {
        state.print_progress();
        eprintln!();
    }
    match parsed {
        Ok(()) => Ok(ReadStats {
            records: state.records,
            bytes: bytes.load(Ordering::Relaxed),
            skipped: state.skipped,
        }),
        Err(_) if state.cancelled => Err(anyhow!("import cancelled")),
        Err(e) if state.records == 0 && e.is_eof() => Err(anyhow!(
            "malformed dump: the file ends before the first record ({e})"
        )),
        Err(e) => Err(anyhow!(
            "malformed dump at record {} ({} records read): {e}",
            state.records + 1,
            state.records
        )),
    }
}

/// The top-level array.
struct DumpVisitor<'s, 'a> {
    state: &'s mut ReaderState<'a>,
}

impl<'de> Visitor<'de> for DumpVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of dumpdata records (manage.py dumpdata --format json)")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(rec) = seq.next_element_seed(RecordSeed)? {
            let state = &mut *self.state;
            state.records += 1;
            match Kind::of(&rec.model) {
                Some(kind) => {
                    let raw = Raw {
                        index: state.records,
                        kind,
                        pk: rec.pk,
                        fields: rec.fields.unwrap_or(Value::Null),
                    };
                    if state.sender.blocking_send(Msg::Record(raw)).is_err() {
                        state.cancelled = true;
                        return Err(de::Error::custom("import cancelled"));
                    }
                }
                None => {
                    // Models only: `get_mut` first so the name is not copied per record.
                    match state.skipped.get_mut(rec.model.as_str()) {
                        Some(n) => *n += 1,
                        None => {
                            state.skipped.insert(rec.model, 1);
                        }
                    }
                }
            }
            state.maybe_progress();
        }
        Ok(())
    }
}

/// One `{"model": ..., "pk": ..., "fields": {...}}` record. `fields` of skipped models are
/// walked over without being built.
struct RecordSeed;

struct Record {
    model: String,
    pk: Value,
    fields: Option<Value>,
}

impl<'de> DeserializeSeed<'de> for RecordSeed {
    type Value = Record;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Record, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed {
    type Value = Record;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a record object with \"model\", \"pk\" and \"fields\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Record, A::Error> {
        let mut model: Option<String> = None;
        let mut pk = Value::Null;
        let mut fields: Option<Value> = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "model" => model = Some(map.next_value()?),
                "pk" => pk = map.next_value()?,
                "fields" => match model.as_deref().map(Kind::of) {
                    // A skipped model: walk over its fields without building them.
                    Some(None) => {
                        map.next_value::<IgnoredAny>()?;
                    }
                    // Kept, or the model is not known yet (it comes after "fields").
                    _ => fields = Some(map.next_value()?),
                },
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        let model = model.ok_or_else(|| de::Error::missing_field("model"))?;
        if Kind::of(&model).is_none() {
            fields = None;
        }
        Ok(Record { model, pk, fields })
    }
}

// ---------------------------------------------------------------------------------------------
// Typed records.

/// A reference to another row: an id, or a natural key (`["admin1"]` for a user, `["admin"]`
/// for a group).
#[derive(Debug, Clone)]
enum Ref {
    Id(i64),
    Key(String),
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Id(id) => write!(f, "id {id}"),
            Ref::Key(k) => write!(f, "[{}]", Value::String(k.clone())),
        }
    }
}

fn parse_ref(field: &str, v: &Value) -> anyhow::Result<Ref> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(Ref::Id)
            .ok_or_else(|| anyhow!("field `{field}`: {n} is not a valid id")),
        Value::Array(items) if items.len() == 1 => match &items[0] {
            Value::String(s) => Ok(Ref::Key(s.clone())),
            other => bail!("field `{field}`: natural key [{other}] is not a string"),
        },
        other => {
            bail!("field `{field}`: expected an id or a natural key like [\"admin1\"], got {other}")
        }
    }
}

fn parse_opt_ref(field: &str, v: &Option<Value>) -> anyhow::Result<Option<Ref>> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(v) => parse_ref(field, v).map(Some),
    }
}

/// Django's date-times: `2021-12-14T18:04:57Z`, `...57.795Z`, `...57+03:00`, or naive (UTC).
fn parse_time(field: &str, s: &str) -> anyhow::Result<i64> {
    use chrono::{DateTime, NaiveDateTime};
    let t = s.trim();
    let normalized;
    let t = if t.len() > 10 && t.as_bytes()[10] == b' ' {
        normalized = format!("{}T{}", &t[..10], &t[11..]);
        normalized.as_str()
    } else {
        t
    };
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.timestamp_micros());
    }
    if let Ok(dt) = DateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f%z") {
        return Ok(dt.timestamp_micros());
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"] {
        if let Ok(dt) = NaiveDateTime::parse_from_str(t, fmt) {
            return Ok(dt.and_utc().timestamp_micros());
        }
    }
    bail!("field `{field}`: {s:?} is not a date-time")
}

fn parse_opt_time(field: &str, s: &Option<String>) -> anyhow::Result<Option<i64>> {
    s.as_deref().map(|s| parse_time(field, s)).transpose()
}

fn pk_int(pk: &Value) -> anyhow::Result<Option<i64>> {
    match pk {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| anyhow!("pk {n} is not a valid id")),
        Value::String(s) => s
            .parse::<i64>()
            .map(Some)
            .map_err(|_| anyhow!("pk {s:?} is not an id")),
        other => bail!("pk {other} is not an id"),
    }
}

fn pk_text(pk: &Value) -> anyhow::Result<String> {
    match pk {
        Value::String(s) if !s.is_empty() => Ok(s.clone()),
        other => bail!("pk {other} is not a key"),
    }
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
struct GroupFields {
    name: String,
}

#[derive(Deserialize)]
struct UserFields {
    password: String,
    #[serde(default)]
    last_login: Option<String>,
    #[serde(default)]
    is_superuser: bool,
    username: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    is_staff: bool,
    #[serde(default = "yes")]
    is_active: bool,
    date_joined: String,
    #[serde(default)]
    groups: Vec<Value>,
}

#[derive(Deserialize)]
struct TokenFields {
    user: Value,
    created: String,
}

#[derive(Deserialize)]
struct OrganizationFields {
    slug: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    description: Option<String>,
    created_date: String,
    updated_date: String,
    #[serde(default)]
    contact: Option<Value>,
    #[serde(default)]
    owner: Option<Value>,
}

#[derive(Deserialize)]
struct MembershipFields {
    user: Value,
    organization: i64,
    #[serde(default)]
    is_active: bool,
    #[serde(default)]
    joined_date: Option<String>,
    role: String,
}

#[derive(Deserialize)]
struct InvitationFields {
    created_date: String,
    #[serde(default)]
    owner: Option<Value>,
    membership: i64,
}

/// Kept records waiting for every user to be known (all small).
struct Token {
    ctx: String,
    key: String,
    user: Ref,
    created: i64,
}

struct Organization {
    ctx: String,
    id: Option<i64>,
    slug: String,
    name: String,
    description: String,
    created: i64,
    updated: i64,
    contact: String,
    owner: Option<Ref>,
}

struct Membership {
    ctx: String,
    id: Option<i64>,
    user: Ref,
    organization: i64,
    is_active: bool,
    joined: Option<i64>,
    role: String,
}

struct Invitation {
    ctx: String,
    key: String,
    created: i64,
    owner: Option<Ref>,
    membership: i64,
}

// ---------------------------------------------------------------------------------------------
// Writing: one transaction on either engine.

/// A bind value (the store's `Bind` has no NULL).
enum Val {
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
    Text(String),
}

macro_rules! bind_vals {
    ($query:expr, $vals:expr) => {{
        let mut q = $query;
        for v in $vals {
            q = match v {
                Val::Int(v) => q.bind(*v),
                Val::OptInt(v) => q.bind(*v),
                Val::Bool(v) => q.bind(*v),
                Val::Text(v) => q.bind(v.as_str()),
            };
        }
        q
    }};
}

enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Opens the write transaction, serialized with the server's own user writes.
    async fn begin(db: &Db) -> anyhow::Result<Tx> {
        Ok(match db {
            Db::Sqlite(p) => Tx::Sqlite(
                p.begin_with("BEGIN IMMEDIATE")
                    .await
                    .context("cannot start a write transaction (is the database busy?)")?,
            ),
            Db::Postgres(p) => {
                let mut tx = p.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock(722001)")
                    .execute(&mut *tx)
                    .await?;
                Tx::Postgres(tx)
            }
        })
    }

    fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }

    async fn exec(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<u64> {
        Ok(match self {
            Tx::Sqlite(tx) => bind_vals!(sqlx::query(sql), vals)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
            Tx::Postgres(tx) => bind_vals!(sqlx::query(sql), vals)
                .execute(&mut **tx)
                .await?
                .rows_affected(),
        })
    }

    async fn opt_i64(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<Option<i64>> {
        match self {
            Tx::Sqlite(tx) => {
                bind_vals!(sqlx::query_scalar::<_, i64>(sql), vals)
                    .fetch_optional(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_vals!(sqlx::query_scalar::<_, i64>(sql), vals)
                    .fetch_optional(&mut **tx)
                    .await
            }
        }
    }

    async fn i64(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<i64> {
        self.opt_i64(sql, vals)
            .await?
            .ok_or(sqlx::Error::RowNotFound)
    }

    async fn pairs(&mut self, sql: &str, vals: &[Val]) -> sqlx::Result<Vec<(i64, String)>> {
        match self {
            Tx::Sqlite(tx) => {
                bind_vals!(sqlx::query_as::<_, (i64, String)>(sql), vals)
                    .fetch_all(&mut **tx)
                    .await
            }
            Tx::Postgres(tx) => {
                bind_vals!(sqlx::query_as::<_, (i64, String)>(sql), vals)
                    .fetch_all(&mut **tx)
                    .await
            }
        }
    }

    async fn rollback(self) {
        let _ = match self {
            Tx::Sqlite(tx) => tx.rollback().await,
            Tx::Postgres(tx) => tx.rollback().await,
        };
    }

    /// Commits; returns the number of active admins (counted just before).
    async fn commit(mut self) -> anyhow::Result<i64> {
        let admins = self
            .i64(
                "SELECT COUNT(*) FROM users u JOIN user_groups ug ON ug.user_id = u.id \
                 JOIN groups g ON g.id = ug.group_id WHERE g.name = 'admin' AND u.is_active",
                &[],
            )
            .await?;
        match self {
            Tx::Sqlite(tx) => tx.commit().await?,
            Tx::Postgres(mut tx) => {
                sqlx::query(crate::store::FOLD_USER_COUNT)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?
            }
        }
        Ok(admins)
    }
}

/// Adds the record's context to an error.
trait Ctx<T> {
    fn ctx(self, ctx: &str) -> anyhow::Result<T>;
}

impl<T, E: Into<anyhow::Error>> Ctx<T> for Result<T, E> {
    fn ctx(self, ctx: &str) -> anyhow::Result<T> {
        self.map_err(|e| {
            let e: anyhow::Error = e.into();
            anyhow!("{ctx}: {e:#}")
        })
    }
}

struct Importer {
    tx: Tx,
    replace: bool,
    counts: HashMap<&'static str, u64>,
    /// Rows present before the import (0 after `--replace`): no collision checks when 0.
    existing_users: i64,
    existing_orgs: i64,
    existing_memberships: i64,
    existing_invitations: i64,
    existing_tokens: i64,
    /// Human descriptions of ids/usernames/slugs/keys already taken.
    collisions: Vec<String>,
    /// Imported users: username → id, and the ids.
    user_ids: HashMap<String, i64>,
    imported_ids: HashSet<i64>,
    /// Our groups by name, and the dump's group ids → names.
    groups: HashMap<String, i64>,
    dump_groups: HashMap<i64, String>,
    /// (user id, group reference, record context) for the end.
    user_groups: Vec<(i64, Ref, u64)>,
    tokens: Vec<Token>,
    organizations: Vec<Organization>,
    memberships: Vec<Membership>,
    invitations: Vec<Invitation>,
}

impl Importer {
    fn new(tx: Tx, replace: bool) -> Importer {
        Importer {
            tx,
            replace,
            counts: HashMap::new(),
            existing_users: 0,
            existing_orgs: 0,
            existing_memberships: 0,
            existing_invitations: 0,
            existing_tokens: 0,
            collisions: Vec::new(),
            user_ids: HashMap::new(),
            imported_ids: HashSet::new(),
            groups: HashMap::new(),
            dump_groups: HashMap::new(),
            user_groups: Vec::new(),
            tokens: Vec::new(),
            organizations: Vec::new(),
            memberships: Vec::new(),
            invitations: Vec::new(),
        }
    }

    fn counts(&self) -> Vec<(&'static str, u64)> {
        Kind::ALL
            .iter()
            .map(|k| (k.model(), self.counts.get(k.model()).copied().unwrap_or(0)))
            .collect()
    }

    async fn run(&mut self, mut receiver: mpsc::Receiver<Msg>) -> anyhow::Result<ReadStats> {
        self.prepare().await?;
        let stats = loop {
            match receiver.recv().await {
                Some(Msg::Record(raw)) => {
                    let ctx = raw.context();
                    if let Err(e) = self.take(raw).await {
                        return Err(anyhow!("{ctx}: {e:#}"));
                    }
                }
                Some(Msg::Done(outcome)) => break outcome?,
                None => bail!("the reader stopped unexpectedly"),
            }
        };
        drop(receiver);
        self.fail_on_collisions()?;
        self.finish().await?;
        self.fail_on_collisions()?;
        Ok(stats)
    }

    async fn prepare(&mut self) -> anyhow::Result<()> {
        let tx = &mut self.tx;
        if self.replace {
            for table in [
                "invitations",
                "memberships",
                "organizations",
                "tokens",
                "sessions",
                "user_groups",
                "users",
            ] {
                tx.exec(&format!("DELETE FROM {table}"), &[]).await?;
            }
        }
        self.existing_users = tx.i64("SELECT COUNT(*) FROM users", &[]).await?;
        self.existing_orgs = tx.i64("SELECT COUNT(*) FROM organizations", &[]).await?;
        self.existing_memberships = tx.i64("SELECT COUNT(*) FROM memberships", &[]).await?;
        self.existing_invitations = tx.i64("SELECT COUNT(*) FROM invitations", &[]).await?;
        self.existing_tokens = tx.i64("SELECT COUNT(*) FROM tokens", &[]).await?;
        for (id, name) in tx.pairs("SELECT id, name FROM groups", &[]).await? {
            self.groups.insert(name, id);
        }
        Ok(())
    }

    fn count(&mut self, kind: Kind) {
        *self.counts.entry(kind.model()).or_insert(0) += 1;
    }

    /// Handles one kept record as it streams in.
    async fn take(&mut self, raw: Raw) -> anyhow::Result<()> {
        let ctx = raw.context();
        let Raw {
            index,
            kind,
            pk,
            fields,
        } = raw;
        match kind {
            Kind::Group => {
                let f: GroupFields = serde_json::from_value(fields)?;
                if let Some(pk) = pk_int(&pk)? {
                    self.dump_groups.insert(pk, f.name.clone());
                }
                if !self.groups.contains_key(&f.name) {
                    let id = self
                        .tx
                        .i64(
                            "INSERT INTO groups (name) VALUES ($1) RETURNING id",
                            &[Val::Text(f.name.clone())],
                        )
                        .await?;
                    self.groups.insert(f.name, id);
                }
            }
            Kind::User => self.take_user(index, &pk, fields).await?,
            Kind::Token => {
                let f: TokenFields = serde_json::from_value(fields)?;
                self.tokens.push(Token {
                    key: pk_text(&pk)?,
                    user: parse_ref("user", &f.user)?,
                    created: parse_time("created", &f.created)?,
                    ctx,
                });
            }
            Kind::Organization => {
                let f: OrganizationFields = serde_json::from_value(fields)?;
                let contact = match f.contact {
                    None | Some(Value::Null) => "{}".to_string(),
                    // Very old dumps hold the JSON as a string.
                    Some(Value::String(s)) if serde_json::from_str::<Value>(&s).is_ok() => s,
                    Some(v) => v.to_string(),
                };
                self.organizations.push(Organization {
                    id: pk_int(&pk)?,
                    slug: f.slug,
                    name: f.name.unwrap_or_default(),
                    description: f.description.unwrap_or_default(),
                    created: parse_time("created_date", &f.created_date)?,
                    updated: parse_time("updated_date", &f.updated_date)?,
                    contact,
                    owner: parse_opt_ref("owner", &f.owner)?,
                    ctx,
                });
            }
            Kind::Membership => {
                let f: MembershipFields = serde_json::from_value(fields)?;
                self.memberships.push(Membership {
                    id: pk_int(&pk)?,
                    user: parse_ref("user", &f.user)?,
                    organization: f.organization,
                    is_active: f.is_active,
                    joined: parse_opt_time("joined_date", &f.joined_date)?,
                    role: f.role,
                    ctx,
                });
            }
            Kind::Invitation => {
                let f: InvitationFields = serde_json::from_value(fields)?;
                self.invitations.push(Invitation {
                    key: pk_text(&pk)?,
                    created: parse_time("created_date", &f.created_date)?,
                    owner: parse_opt_ref("owner", &f.owner)?,
                    membership: f.membership,
                    ctx,
                });
            }
        }
        self.count(kind);
        Ok(())
    }

    async fn take_user(&mut self, index: u64, pk: &Value, fields: Value) -> anyhow::Result<()> {
        let f: UserFields = serde_json::from_value(fields)?;
        let id = pk_int(pk)?;
        let first = f.first_name.unwrap_or_default();
        let last = f.last_name.unwrap_or_default();
        let email = f.email.unwrap_or_default();
        let last_login = parse_opt_time("last_login", &f.last_login)?;
        let date_joined = parse_time("date_joined", &f.date_joined)?;
        let groups = f
            .groups
            .iter()
            .map(|g| parse_ref("groups", g))
            .collect::<anyhow::Result<Vec<_>>>()?;
        if f.username.is_empty() {
            bail!("field `username` is empty");
        }
        if self.existing_users > 0 {
            let found = self
                .tx
                .pairs(
                    "SELECT id, username FROM users WHERE id = $1 OR username_folded = $2",
                    &[Val::Int(id.unwrap_or(0)), Val::Text(fold(&f.username))],
                )
                .await?;
            let mut collided = false;
            for (existing_id, existing_name) in found {
                if self.imported_ids.contains(&existing_id) {
                    continue;
                }
                collided = true;
                self.collisions.push(if Some(existing_id) == id {
                    if fold(&existing_name) == fold(&f.username) {
                        format!("user '{existing_name}' (id {existing_id})")
                    } else {
                        format!(
                            "id {existing_id} (database: '{existing_name}', dump: '{}')",
                            f.username
                        )
                    }
                } else {
                    format!(
                        "username '{}' (database: '{existing_name}' id {existing_id}, dump: id {})",
                        f.username,
                        id.map_or("none".to_string(), |i| i.to_string())
                    )
                });
            }
            if collided || !self.collisions.is_empty() {
                // Nothing will be committed: keep reading only to report every collision.
                return Ok(());
            }
        }
        let key = format!("{}\n{}\n{}", fold(&f.username), fold(&first), fold(&last));
        let mut vals = vec![
            Val::Text(f.username.clone()),
            Val::Text(fold(&f.username)),
            Val::Text(f.password),
            Val::Text(email.clone()),
            Val::Text(fold(&email)),
            Val::Text(first),
            Val::Text(last),
            Val::Text(key),
            Val::Bool(f.is_staff),
            Val::Bool(f.is_superuser),
            Val::Bool(f.is_active),
            Val::OptInt(last_login),
            Val::Int(date_joined),
        ];
        const COLUMNS: &str = "username, username_folded, password, email, email_folded, \
             first_name, last_name, search_key, is_staff, is_superuser, is_active, last_login, date_joined";
        let id = match id {
            Some(id) => {
                vals.push(Val::Int(id));
                self.tx
                    .exec(
                        &format!(
                            "INSERT INTO users ({COLUMNS}, id) VALUES \
                             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                        ),
                        &vals,
                    )
                    .await
                    .map_err(|e| duplicate(e, "user id or username"))?;
                id
            }
            // `dumpdata --natural-primary` leaves users without ids: new ones are given.
            None => self
                .tx
                .i64(
                    &format!(
                        "INSERT INTO users ({COLUMNS}) VALUES \
                         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id"
                    ),
                    &vals,
                )
                .await
                .map_err(|e| duplicate(e, "username"))?,
        };
        self.imported_ids.insert(id);
        self.user_ids.insert(f.username, id);
        for g in groups {
            self.user_groups.push((id, g, index));
        }
        Ok(())
    }

    fn fail_on_collisions(&self) -> anyhow::Result<()> {
        if self.collisions.is_empty() {
            return Ok(());
        }
        let n = self.collisions.len();
        let mut named = self.collisions[..n.min(NAMED_COLLISIONS)].join(", ");
        if n > NAMED_COLLISIONS {
            named.push_str(&format!(" and {} more", n - NAMED_COLLISIONS));
        }
        bail!(
            "the database already holds rows the dump also has ({n} collision{}): {named}. \
             Nothing was imported. To delete the existing users, organizations, memberships, \
             invitations, tokens and sessions and import the dump in their place, re-run with --replace.",
            if n == 1 { "" } else { "s" }
        )
    }

    /// A user by reference: imported ones by name, else one already in the database.
    async fn resolve_user(&mut self, r: &Ref) -> anyhow::Result<i64> {
        match r {
            Ref::Id(id) => Ok(*id),
            Ref::Key(name) => {
                if let Some(id) = self.user_ids.get(name) {
                    return Ok(*id);
                }
                self.tx
                    .opt_i64(
                        "SELECT id FROM users WHERE username = $1",
                        &[Val::Text(name.clone())],
                    )
                    .await?
                    .ok_or_else(|| anyhow!("unknown user {r}"))
            }
        }
    }

    async fn exists(&mut self, sql: &str, vals: &[Val]) -> anyhow::Result<bool> {
        Ok(self.tx.opt_i64(sql, vals).await?.is_some())
    }

    /// Writes the records that waited for the users.
    async fn finish(&mut self) -> anyhow::Result<()> {
        // Group memberships of users.
        for (user_id, g, index) in std::mem::take(&mut self.user_groups) {
            let name = match &g {
                Ref::Key(name) => name.clone(),
                Ref::Id(pk) => self.dump_groups.get(pk).cloned().ok_or_else(|| {
                    anyhow!("record {index} (auth.user pk {user_id}): unknown group {g}")
                })?,
            };
            let group_id = match self.groups.get(&name) {
                Some(id) => *id,
                None => {
                    let id = self
                        .tx
                        .i64(
                            "INSERT INTO groups (name) VALUES ($1) RETURNING id",
                            &[Val::Text(name.clone())],
                        )
                        .await?;
                    self.groups.insert(name, id);
                    id
                }
            };
            self.tx
                .exec(
                    "INSERT INTO user_groups (user_id, group_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                    &[Val::Int(user_id), Val::Int(group_id)],
                )
                .await?;
        }

        for t in std::mem::take(&mut self.tokens) {
            let user_id = self.resolve_user(&t.user).await.ctx(&t.ctx)?;
            if self.existing_tokens > 0
                && self
                    .exists(
                        "SELECT user_id FROM tokens WHERE digest = $1 OR user_id = $2",
                        &[Val::Text(digest(&t.key)), Val::Int(user_id)],
                    )
                    .await?
            {
                self.collisions
                    .push(format!("token of user {} (id {user_id})", t.user));
                continue;
            }
            self.tx
                .exec(
                    // Only the digest is stored; the imported key keeps working by it.
                    "INSERT INTO tokens (digest, user_id, created) VALUES ($1, $2, $3)",
                    &[
                        Val::Text(digest(&t.key)),
                        Val::Int(user_id),
                        Val::Int(t.created),
                    ],
                )
                .await
                .map_err(|e| duplicate(e, "token key or user"))
                .ctx(&t.ctx)?;
        }

        for o in std::mem::take(&mut self.organizations) {
            let owner = match &o.owner {
                Some(r) => Some(self.resolve_user(r).await.ctx(&o.ctx)?),
                None => None,
            };
            if self.existing_orgs > 0 {
                let found = self
                    .tx
                    .pairs(
                        "SELECT id, slug FROM organizations WHERE id = $1 OR slug = $2",
                        &[Val::Int(o.id.unwrap_or(0)), Val::Text(o.slug.clone())],
                    )
                    .await?;
                if !found.is_empty() {
                    for (id, slug) in found {
                        self.collisions.push(format!(
                            "organization id {id} '{slug}' (dump: id {} '{}')",
                            o.id.map_or("none".to_string(), |i| i.to_string()),
                            o.slug
                        ));
                    }
                    continue;
                }
            }
            let mut vals = vec![
                Val::Text(o.slug.clone()),
                Val::Text(o.name.clone()),
                Val::Text(o.description.clone()),
                Val::Int(o.created),
                Val::Int(o.updated),
                Val::Text(o.contact.clone()),
                Val::OptInt(owner),
            ];
            const COLUMNS: &str =
                "slug, name, description, created_date, updated_date, contact, owner_id";
            let result = match o.id {
                Some(id) => {
                    vals.push(Val::Int(id));
                    self.tx
                        .exec(
                            &format!(
                                "INSERT INTO organizations ({COLUMNS}, id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                            ),
                            &vals,
                        )
                        .await
                }
                None => {
                    self.tx
                        .exec(
                            &format!(
                                "INSERT INTO organizations ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                            ),
                            &vals,
                        )
                        .await
                }
            };
            result
                .map_err(|e| duplicate(e, "organization id or slug"))
                .ctx(&o.ctx)?;
        }

        for m in std::mem::take(&mut self.memberships) {
            let user_id = self.resolve_user(&m.user).await.ctx(&m.ctx)?;
            if self.existing_memberships > 0 {
                if let Some(id) = m.id {
                    if self
                        .exists("SELECT id FROM memberships WHERE id = $1", &[Val::Int(id)])
                        .await?
                    {
                        self.collisions.push(format!("membership id {id}"));
                        continue;
                    }
                }
            }
            let mut vals = vec![
                Val::Int(user_id),
                Val::Int(m.organization),
                Val::Bool(m.is_active),
                Val::OptInt(m.joined),
                Val::Text(m.role.clone()),
            ];
            const COLUMNS: &str = "user_id, organization_id, is_active, joined_date, role";
            let result = match m.id {
                Some(id) => {
                    vals.push(Val::Int(id));
                    self.tx
                        .exec(
                            &format!(
                                "INSERT INTO memberships ({COLUMNS}, id) VALUES ($1, $2, $3, $4, $5, $6)"
                            ),
                            &vals,
                        )
                        .await
                }
                None => {
                    self.tx
                        .exec(
                            &format!(
                                "INSERT INTO memberships ({COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
                            ),
                            &vals,
                        )
                        .await
                }
            };
            result
                .map_err(|e| duplicate(e, "membership (id, or user and organization)"))
                .ctx(&m.ctx)?;
        }

        for i in std::mem::take(&mut self.invitations) {
            let owner = match &i.owner {
                Some(r) => Some(self.resolve_user(r).await.ctx(&i.ctx)?),
                None => None,
            };
            if self.existing_invitations > 0
                && self
                    .exists(
                        "SELECT membership_id FROM invitations WHERE key = $1 OR membership_id = $2",
                        &[Val::Text(i.key.clone()), Val::Int(i.membership)],
                    )
                    .await?
            {
                self.collisions
                    .push(format!("invitation of membership {}", i.membership));
                continue;
            }
            self.tx
                .exec(
                    "INSERT INTO invitations (key, created_date, owner_id, membership_id) VALUES ($1, $2, $3, $4)",
                    &[
                        Val::Text(i.key.clone()),
                        Val::Int(i.created),
                        Val::OptInt(owner),
                        Val::Int(i.membership),
                    ],
                )
                .await
                .map_err(|e| duplicate(e, "invitation key or membership"))
                .ctx(&i.ctx)?;
        }

        if self.tx.is_postgres() {
            // Explicit ids went in: generated ones must start above them.
            for table in ["users", "organizations", "memberships", "groups"] {
                self.tx
                    .exec(
                        &format!(
                            "SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) \
                             FROM {table} HAVING MAX(id) IS NOT NULL"
                        ),
                        &[],
                    )
                    .await?;
            }
        }
        Ok(())
    }
}

/// Names a unique-constraint violation in the dump's terms.
fn duplicate(e: sqlx::Error, what: &str) -> anyhow::Error {
    if crate::store::is_unique_violation(&e) {
        anyhow!("duplicate {what}: {e}")
    } else {
        anyhow!(e)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn django_datetimes() {
        let z = parse_time("t", "2021-12-14T18:04:57Z").unwrap();
        assert_eq!(z, 1_639_505_097_000_000);
        assert_eq!(
            parse_time("t", "2022-12-05T07:46:24.795Z").unwrap(),
            1_670_226_384_795_000
        );
        assert_eq!(parse_time("t", "2021-12-14T21:04:57+03:00").unwrap(), z);
        assert_eq!(parse_time("t", "2021-12-14T18:04:57").unwrap(), z);
        assert_eq!(parse_time("t", "2021-12-14 18:04:57").unwrap(), z);
        assert_eq!(
            parse_time("t", "2021-12-14T18:04:57.000001Z").unwrap(),
            z + 1
        );
        assert!(parse_time("t", "yesterday").is_err());
        assert!(parse_time("t", "").is_err());
    }

    #[test]
    fn references() {
        assert!(matches!(
            parse_ref("u", &serde_json::json!(3)).unwrap(),
            Ref::Id(3)
        ));
        assert!(
            matches!(parse_ref("u", &serde_json::json!(["admin1"])).unwrap(), Ref::Key(k) if k == "admin1")
        );
        assert!(parse_ref("u", &serde_json::json!(["a", "b"])).is_err());
        assert!(parse_ref("u", &serde_json::json!("admin1")).is_err());
        assert!(parse_opt_ref("u", &Some(Value::Null)).unwrap().is_none());
    }

    fn read(text: &str) -> (anyhow::Result<ReadStats>, Vec<(u64, Kind, Value)>) {
        let dir = tempfile_dir();
        let path = dir.join(format!("dump-{}.json", rand::random::<u64>()));
        std::fs::write(&path, text).unwrap();
        let (sender, mut receiver) = mpsc::channel(1 << 16);
        let file = std::fs::File::open(&path).unwrap();
        let result = read_dump(file, text.len() as u64, &sender, false);
        drop(sender);
        let mut got = Vec::new();
        while let Ok(Msg::Record(r)) = receiver.try_recv() {
            got.push((r.index, r.kind, r.fields));
        }
        let _ = std::fs::remove_file(&path);
        (result, got)
    }

    fn tempfile_dir() -> PathBuf {
        std::env::temp_dir()
    }

    #[test]
    fn streams_kept_records_and_counts_the_rest() {
        let (r, got) = read(
            r#"[{"model": "engine.task", "pk": 1, "fields": {"name": "x", "deep": [1, {"a": null}]}},
                {"fields": {"name": "admin"}, "pk": 1, "model": "auth.group"},
                {"model": "sessions.session", "pk": "k", "fields": {"session_data": "..."}},
                {"model": "engine.task", "pk": 2, "fields": {}}]"#,
        );
        let stats = r.unwrap();
        assert_eq!(stats.records, 4);
        assert_eq!(stats.skipped.get("engine.task"), Some(&2));
        assert_eq!(stats.skipped.get("sessions.session"), Some(&1));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, 2);
        assert_eq!(got[0].1, Kind::Group);
        assert_eq!(got[0].2["name"], "admin");
    }

    #[test]
    fn malformed_files_name_the_record() {
        let (r, _) = read(
            r#"[{"model": "auth.group", "pk": 1, "fields": {}}, {"model": "a.b", "pk": 2, "fie"#,
        );
        let e = r.unwrap_err().to_string();
        assert!(e.contains("record 2"), "{e}");
        let (r, _) = read(r#"{"model": "a.b"}"#);
        assert!(r.unwrap_err().to_string().contains("array"));
        let (r, _) = read("");
        assert!(r
            .unwrap_err()
            .to_string()
            .contains("before the first record"));
        let (r, _) = read(r#"[{"pk": 1, "fields": {}}]"#);
        assert!(r.unwrap_err().to_string().contains("model"));
        let (r, _) = read(r#"[] trailing"#);
        assert!(r.is_err());
        let (r, _) = read(r#"[]"#);
        assert_eq!(r.unwrap().records, 0);
    }
}
