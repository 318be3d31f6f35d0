//! The audit log's hash chain: each event's `hash` is SHA-256 over the previous event's hash
//! and the event's canonical serialization, so changing, removing or inserting a row breaks
//! the chain at that row (`verify`). A pruned prefix is summed up by a checkpoint, the last
//! pruned event's seq and hash, signed with an HMAC under a key derived from the server secret
//! (HKDF-SHA256, info `cvat-audit-checkpoint`), so the rest still verifies and the checkpoint
//! cannot be moved without the secret.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use super::AuditRecord;

/// The `prev_hash` of the first event ever.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields the hash covers, in this order; `repeats` (failed logins counted within a minute)
/// is outside it.
pub fn event_hash(prev_hash: &str, r: &AuditRecord) -> String {
    let canonical = serde_json::json!([
        r.seq,
        r.at,
        r.action,
        r.actor_id,
        r.actor_username,
        r.auth_method,
        r.target_type,
        r.target_id,
        r.target_name,
        r.org_id,
        r.client_address,
        r.user_agent,
        r.request_id,
        r.changes,
    ]);
    let mut h = Sha256::new();
    h.update(prev_hash.as_bytes());
    h.update(b"\n");
    h.update(canonical.to_string().as_bytes());
    hex::encode(h.finalize())
}

fn checkpoint_key(secret: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    // 32 bytes is always a valid HKDF-SHA256 output length.
    let _ = hkdf::Hkdf::<Sha256>::new(None, secret.as_bytes())
        .expand(b"cvat-audit-checkpoint", &mut out);
    out
}

fn checkpoint_hmac(secret: &str) -> Hmac<Sha256> {
    // Any key length is valid for HMAC.
    #[allow(clippy::expect_used)]
    Hmac::<Sha256>::new_from_slice(&checkpoint_key(secret)).expect("HMAC takes any key length")
}

/// The signature of the checkpoint `(seq, hash)`.
pub fn checkpoint_mac(secret: &str, seq: i64, hash: &str) -> String {
    let mut mac = checkpoint_hmac(secret);
    mac.update(format!("{seq}:{hash}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn checkpoint_valid(secret: &str, seq: i64, hash: &str, mac_hex: &str) -> bool {
    let Ok(given) = hex::decode(mac_hex) else {
        return false;
    };
    let mut mac = checkpoint_hmac(secret);
    mac.update(format!("{seq}:{hash}").as_bytes());
    mac.verify_slice(&given).is_ok()
}

/// The chain's head row (`audit_chain`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChainHead {
    pub seq: i64,
    pub hash: String,
    pub checkpoint_seq: i64,
    pub checkpoint_hash: String,
    pub checkpoint_mac: String,
}

/// Walks the chain in `seq` order (`feed` each row in turn, then `finish`); the first problem
/// found ends the walk.
pub struct Walker {
    expected_seq: i64,
    prev_hash: String,
    pub checked: i64,
}

impl Walker {
    pub fn start(secret: &str, head: &ChainHead) -> Result<Walker, String> {
        let (expected_seq, prev_hash) = if head.checkpoint_seq > 0 {
            if !checkpoint_valid(
                secret,
                head.checkpoint_seq,
                &head.checkpoint_hash,
                &head.checkpoint_mac,
            ) {
                return Err(format!(
                    "the retention checkpoint (event {}) does not carry a valid signature: it was \
                     changed, or the server secret differs",
                    head.checkpoint_seq
                ));
            }
            (head.checkpoint_seq + 1, head.checkpoint_hash.clone())
        } else {
            (1, GENESIS.to_string())
        };
        Ok(Walker {
            expected_seq,
            prev_hash,
            checked: 0,
        })
    }

    pub fn feed(&mut self, r: &AuditRecord) -> Result<(), String> {
        if r.seq > self.expected_seq {
            return Err(if self.expected_seq + 1 == r.seq {
                format!("event {} was removed", self.expected_seq)
            } else {
                format!("events {} to {} were removed", self.expected_seq, r.seq - 1)
            });
        }
        if r.seq < self.expected_seq {
            return Err(format!(
                "event {} was inserted out of place (expected event {} next)",
                r.seq, self.expected_seq
            ));
        }
        if r.prev_hash != self.prev_hash {
            return Err(format!(
                "event {} was inserted out of place, or the event before it was changed: its \
                 link to the previous event does not match",
                r.seq
            ));
        }
        if event_hash(&r.prev_hash, r) != r.hash {
            return Err(format!(
                "event {} was changed: its contents no longer match its hash",
                r.seq
            ));
        }
        self.prev_hash = r.hash.clone();
        self.expected_seq += 1;
        self.checked += 1;
        Ok(())
    }

    /// After the last row: the head must point at it.
    pub fn finish(&self, head: &ChainHead) -> Result<(), String> {
        let last = self.expected_seq - 1;
        if head.seq > last {
            return Err(if head.seq == last + 1 {
                format!("event {} (the newest) was removed", head.seq)
            } else {
                format!(
                    "events {} to {} (the newest) were removed",
                    last + 1,
                    head.seq
                )
            });
        }
        if head.seq < last || head.hash != self.prev_hash {
            return Err(format!(
                "event {last} was inserted out of place: the chain's head is event {}",
                head.seq
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: i64, prev: &str) -> AuditRecord {
        let mut r = AuditRecord {
            seq,
            at: seq * 10,
            action: "update:user".into(),
            prev_hash: prev.into(),
            changes: "{}".into(),
            ..Default::default()
        };
        r.hash = event_hash(prev, &r);
        r
    }

    fn chain(n: i64) -> Vec<AuditRecord> {
        let mut out: Vec<AuditRecord> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_string(), |r| r.hash.clone());
            out.push(record(seq, &prev));
        }
        out
    }

    fn head(rows: &[AuditRecord]) -> ChainHead {
        ChainHead {
            seq: rows.last().map_or(0, |r| r.seq),
            hash: rows.last().map_or(GENESIS.into(), |r| r.hash.clone()),
            checkpoint_seq: 0,
            checkpoint_hash: String::new(),
            checkpoint_mac: String::new(),
        }
    }

    fn walk(rows: &[AuditRecord], head: &ChainHead) -> Result<i64, String> {
        let mut w = Walker::start("s3cret", head)?;
        for r in rows {
            w.feed(r)?;
        }
        w.finish(head)?;
        Ok(w.checked)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let rows = chain(5);
        assert_eq!(walk(&rows, &head(&rows)), Ok(5));
    }

    #[test]
    fn changes_removals_and_insertions_are_named() {
        let rows = chain(5);
        let h = head(&rows);
        let mut changed = rows.clone();
        changed[2].actor_username = "mallory".into();
        assert!(walk(&changed, &h)
            .unwrap_err()
            .contains("event 3 was changed"));
        let mut removed = rows.clone();
        removed.remove(1);
        assert!(walk(&removed, &h)
            .unwrap_err()
            .contains("event 2 was removed"));
        let newest_removed = &rows[..4];
        assert!(walk(newest_removed, &h)
            .unwrap_err()
            .contains("event 5 (the newest)"));
        let mut rehashed = rows.clone();
        rehashed[1].action = "login:user".into();
        rehashed[1].hash = event_hash(&rehashed[1].prev_hash.clone(), &rehashed[1]);
        assert!(walk(&rehashed, &h)
            .unwrap_err()
            .contains("event 3 was inserted"));
    }

    #[test]
    fn a_signed_checkpoint_stands_for_the_pruned_prefix() {
        let rows = chain(5);
        let mut h = head(&rows);
        h.checkpoint_seq = 2;
        h.checkpoint_hash = rows[1].hash.clone();
        h.checkpoint_mac = checkpoint_mac("s3cret", 2, &rows[1].hash);
        assert_eq!(walk(&rows[2..], &h), Ok(3));
        h.checkpoint_mac = checkpoint_mac("other", 2, &rows[1].hash);
        assert!(walk(&rows[2..], &h).unwrap_err().contains("checkpoint"));
    }
}
