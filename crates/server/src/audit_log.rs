//! The audit log's operations around the server: its settings (`--audit-retention-days`), the
//! background task that prunes old events, and `cvat-server audit verify`, which walks the hash
//! chain. The events themselves are written by the store with each change
//! (`service::audit`, `store::audit`).
//!
//! Why pruning keeps a signed checkpoint: deleting the oldest events removes the start of the
//! chain; the hash of the last deleted event, signed under a key derived from the server secret,
//! stands for them, so `verify` still checks the rest link by link and a forged checkpoint
//! (someone hiding recent events by "pruning" them) does not verify without the secret.

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::config::{ConfigFileArg, DatabaseArgs};
use crate::state::SharedState;
use crate::store::audit::{checkpoint_mac, Walker};
use crate::store::{now_micros, Db};

#[derive(Debug, Clone, Args)]
pub struct AuditArgs {
    /// Audit events older than this many days are pruned (hourly), keeping a signed checkpoint
    /// so the rest of the chain still verifies; 0 keeps every event.
    #[arg(long, env = "CVAT_AUDIT_RETENTION_DAYS", default_value_t = 0)]
    pub audit_retention_days: u32,
}

impl AuditArgs {
    pub fn to_toml(&self, out: &mut String) {
        out.push_str(&format!(
            "audit_retention_days = {}\n",
            self.audit_retention_days
        ));
    }
}

const DAY_MICROS: i64 = 86_400 * 1_000_000;

/// Starts the pruning task when a retention is set; it prunes at once, then hourly.
pub fn start(state: &SharedState, args: &AuditArgs) -> Option<tokio::task::JoinHandle<()>> {
    let days = i64::from(args.audit_retention_days);
    if days == 0 {
        return None;
    }
    let state = state.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            let before = now_micros() - days * DAY_MICROS;
            let secret = state.secret.clone();
            let sign = move |seq: i64, hash: &str| checkpoint_mac(&secret, seq, hash);
            match state.db.prune_audit_events(before, sign).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(pruned = n, days, "old audit events pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning audit events"),
            }
        }
    }))
}

#[derive(Debug, Args)]
pub struct AuditCommand {
    #[command(flatten)]
    pub config_file: ConfigFileArg,
    #[command(flatten)]
    pub db: DatabaseArgs,
    /// The server's secret (checks the retention checkpoint's signature); by default the one
    /// kept in the database.
    #[arg(long, env = "CVAT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    #[command(subcommand)]
    pub action: AuditAction,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// Walk the hash chain and report the first event that was changed, removed or inserted
    /// out of place (exit status 1), or how many events verified.
    Verify,
}

/// Rows read per query during the walk.
const WALK_PAGE: i64 = 5000;

pub async fn run(cmd: &AuditCommand) -> anyhow::Result<String> {
    let db = Db::open(&cmd.db.options()).await?;
    let result = match cmd.action {
        AuditAction::Verify => verify(&db, cmd.secret_key.as_deref()).await,
    };
    db.close().await;
    result
}

async fn verify(db: &Db, secret: Option<&str>) -> anyhow::Result<String> {
    let secret = match secret.filter(|s| !s.is_empty()) {
        Some(s) => s.to_string(),
        None => db.setting("secret_key").await?.unwrap_or_default(),
    };
    // Events appended while the walk runs are after this head: not looked at.
    let head = db.audit_head().await?;
    let mut walker =
        Walker::start(&secret, &head).map_err(|e| anyhow::anyhow!("audit chain broken: {e}"))?;
    let mut after = head.checkpoint_seq;
    loop {
        let rows = db.audit_events_after(after, head.seq, WALK_PAGE).await?;
        let Some(last) = rows.last() else { break };
        after = last.seq;
        for r in &rows {
            walker
                .feed(r)
                .map_err(|e| anyhow::anyhow!("audit chain broken: {e}"))?;
        }
    }
    walker
        .finish(&head)
        .map_err(|e| anyhow::anyhow!("audit chain broken: {e}"))?;
    let pruned = match head.checkpoint_seq {
        0 => String::new(),
        n => format!(" after the signed checkpoint of event {n} (older events pruned)"),
    };
    Ok(format!(
        "audit chain intact: {} events verified{pruned}, newest event {}\n",
        walker.checked, head.seq
    ))
}
