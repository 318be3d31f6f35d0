//! `audit [--since 1d] [--actor NAME] ...`: the server's audit log, newest first, streamed page
//! by page (`cvat_sdk::AuditApi`); `-o jsonl` and `-o csv` write each event as it arrives, for
//! exports of any size.

use std::io::Write;

use clap::Args;
use cvat_sdk::{AuditEvent, AuditFilter};

use crate::context::{Context, Failure, Outcome};
use crate::output::{self, Column, Format};

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Events since this long ago (`30m`, `12h`, `1d`, `2w`) or since a time (RFC 3339 or a
    /// date).
    #[arg(long)]
    since: Option<String>,
    /// Events before this long ago or this time.
    #[arg(long)]
    until: Option<String>,
    /// The actor's username.
    #[arg(long)]
    actor: Option<String>,
    /// The action, e.g. `update:user`, `login:user`.
    #[arg(long)]
    action: Option<String>,
    /// `user`, `organization`, `membership`, `invitation`, `access_token`, ...
    #[arg(long)]
    target_type: Option<String>,
    #[arg(long)]
    target_id: Option<i64>,
    #[arg(long)]
    client_address: Option<String>,
}

const COLUMNS: [Column; 6] = [
    ("TIME", |v| output::field(v, "timestamp")),
    ("ACTION", |v| output::field(v, "action")),
    ("ACTOR", |v| output::field(v, "actor_username")),
    ("TARGET", |v| output::field(v, "target_name")),
    ("CLIENT", |v| output::field(v, "client_address")),
    ("COUNT", |v| output::field(v, "count")),
];

/// CSV columns: every field, `changes` as JSON text.
const CSV_FIELDS: [&str; 17] = [
    "seq",
    "timestamp",
    "action",
    "actor_id",
    "actor_username",
    "auth_method",
    "target_type",
    "target_id",
    "target_name",
    "org_id",
    "client_address",
    "user_agent",
    "request_id",
    "changes",
    "count",
    "prev_hash",
    "hash",
];

/// `1d` → the time a day ago (RFC 3339); anything else is passed on as a time.
fn time_arg(raw: &str) -> Result<String, Failure> {
    let raw = raw.trim();
    let unit = match raw.chars().last() {
        Some('s') => 1,
        Some('m') => 60,
        Some('h') => 3600,
        Some('d') => 86_400,
        Some('w') => 7 * 86_400,
        _ => return Ok(raw.to_string()),
    };
    match raw[..raw.len() - 1].parse::<i64>() {
        Ok(n) if n >= 0 => {
            let at = chrono::Utc::now() - chrono::Duration::seconds(n.saturating_mul(unit));
            Ok(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        }
        _ if raw.contains('-') => Ok(raw.to_string()),
        _ => Err(Failure::usage(format!(
            "{raw:?} is neither a duration (30m, 12h, 1d, 2w) nor a time"
        ))),
    }
}

fn failure(e: impl std::fmt::Display) -> Failure {
    Failure::new(format!("cannot write the output: {e}"))
}

fn value(event: &AuditEvent) -> Result<serde_json::Value, Failure> {
    serde_json::to_value(event).map_err(failure)
}

pub fn run(ctx: &Context, args: AuditArgs) -> Outcome {
    let client = ctx.logged_in()?;
    let filter = AuditFilter {
        actor: args.actor,
        action: args.action,
        target_type: args.target_type,
        target_id: args.target_id,
        client_address: args.client_address,
        from: args.since.as_deref().map(time_arg).transpose()?,
        to: args.until.as_deref().map(time_arg).transpose()?,
        page_size: Some(1000),
        org: ctx.org.clone().filter(|o| !o.is_empty()),
        ..Default::default()
    };
    let events = client.audit_api().events(&filter);
    match ctx.output {
        Format::Jsonl => {
            let mut out = std::io::stdout().lock();
            for event in events {
                let line = serde_json::to_string(&event?).map_err(failure)?;
                writeln!(out, "{line}").map_err(failure)?;
            }
            out.flush().map_err(failure)
        }
        Format::Csv => {
            let mut w = csv::Writer::from_writer(std::io::stdout().lock());
            w.write_record(CSV_FIELDS).map_err(failure)?;
            for event in events {
                let v = value(&event?)?;
                let row = CSV_FIELDS.iter().map(|f| match &v[*f] {
                    serde_json::Value::String(s) => s.clone(),
                    serde_json::Value::Null => String::new(),
                    other => other.to_string(),
                });
                w.write_record(row).map_err(failure)?;
            }
            w.flush().map_err(failure)
        }
        Format::Json | Format::Table => {
            let values = events
                .map(|e| value(&e?))
                .collect::<Result<Vec<_>, Failure>>()?;
            output::print_records(&values, &COLUMNS, ctx.output, false)
        }
    }
}
