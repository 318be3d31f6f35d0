//! The background sender started by `serve`: claims due outbox rows one at a time, sends them,
//! and on failure schedules the next attempt with exponential backoff (or marks the row
//! failed after a permanent refusal or the last attempt). It wakes when this process queues
//! mail and otherwise polls, which is how it finds rows queued by other replicas or left by a
//! process that died.

use std::time::Duration;

use tokio::sync::watch;

use super::transport::Transport;
use super::{build_message, Mailer};
use crate::store::{now_micros, Db, OutboxMail};

/// Longest wait between two attempts at one mail.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Longest wait for new rows when nothing wakes the worker.
const MAX_POLL: Duration = Duration::from_secs(5);

/// The wait after the `attempts`-th failed attempt: the base delay, doubled per attempt.
pub fn backoff(base: Duration, attempts: i64) -> Duration {
    let doublings = (attempts - 1).clamp(0, 30) as u32;
    base.saturating_mul(2u32.saturating_pow(doublings))
        .min(MAX_BACKOFF)
}

/// The running worker of `serve`.
pub struct WorkerHandle {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the worker (an SMTP URL that cannot be used fails here, at start-up).
pub fn start(state: &crate::state::AppState) -> anyhow::Result<WorkerHandle> {
    let transport = Transport::new(&state.mailer.settings)?;
    if state.mailer.settings.smtp.is_none() {
        tracing::info!(
            folder = %state.mailer.settings.dev_dir.display(),
            "no --smtp-url: mails are written to files (development backend)"
        );
    }
    let (stop, watching) = watch::channel(false);
    let task = tokio::spawn(run(
        state.db.clone(),
        state.mailer.clone(),
        transport,
        watching,
    ));
    Ok(WorkerHandle { stop, task })
}

impl WorkerHandle {
    /// Lets a send in progress finish, then stops.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Runs until `stop` turns true; a send in progress is finished first.
pub async fn run(db: Db, mailer: Mailer, transport: Transport, mut stop: watch::Receiver<bool>) {
    let settings = mailer.settings.clone();
    // A send takes a few commands, each bounded by the SMTP timeout; the lease outlasts them
    // so that no other worker takes the row meanwhile.
    let lease = (settings.smtp_timeout * 10).max(Duration::from_secs(10));
    let poll = settings.retry_delay.min(MAX_POLL);
    let wake = mailer.wake();
    loop {
        if *stop.borrow() {
            break;
        }
        match db.claim_due_mail(lease.as_micros() as i64).await {
            Ok(Some(mail)) => {
                deliver(&db, &mailer, &transport, mail).await;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "mail outbox: cannot read the queue"),
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(poll) => {}
            _ = stop.changed() => {}
        }
    }
}

async fn deliver(db: &Db, mailer: &Mailer, transport: &Transport, mail: OutboxMail) {
    let settings = &mailer.settings;
    let outcome = match build_message(&settings.from, &mail.mail) {
        Ok(message) => transport.send(mail.id, message).await,
        Err(e) => Err(super::transport::SendFailure {
            permanent: true,
            message: format!("cannot build the message: {e}"),
        }),
    };
    let recorded = match outcome {
        Ok(()) => {
            tracing::info!(mail_id = mail.id, kind = %mail.mail.kind, attempts = mail.attempts, "mail sent");
            db.mark_mail_sent(mail.id).await
        }
        Err(failure) => {
            let give_up = failure.permanent || mail.attempts >= settings.max_attempts;
            let retry_at = (!give_up).then(|| {
                now_micros() + backoff(settings.retry_delay, mail.attempts).as_micros() as i64
            });
            tracing::warn!(
                mail_id = mail.id,
                attempts = mail.attempts,
                error = %failure.message,
                gave_up = give_up,
                "mail not sent"
            );
            db.mark_mail_attempt_failed(mail.id, &failure.message, retry_at)
                .await
        }
    };
    if let Err(e) = recorded {
        // The lease runs out and the row is tried again: at worst a mail goes out twice,
        // with the same Message-ID.
        tracing::warn!(mail_id = mail.id, error = %e, "mail outbox: cannot record the outcome");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        let base = Duration::from_secs(30);
        assert_eq!(backoff(base, 1), Duration::from_secs(30));
        assert_eq!(backoff(base, 2), Duration::from_secs(60));
        assert_eq!(backoff(base, 4), Duration::from_secs(240));
        assert_eq!(backoff(base, 20), MAX_BACKOFF);
        assert_eq!(backoff(base, 1000), MAX_BACKOFF);
    }
}
