-- The audit log (issue 16): one row per security-relevant change or event, written in the
-- change's own transaction. `seq` numbers the hash chain (1, 2, 3, ... without gaps; a pruned
-- prefix is summed up by the checkpoint in audit_chain); `hash` is SHA-256 over `prev_hash`
-- and the row's canonical serialization (store/audit.rs). Failed logins are aggregated: the
-- first failure of a minute per account and client address is a chained row with
-- `repeat_key` set; further ones only count up `repeats`, which is outside the hash.
CREATE TABLE audit_events (
    seq            BIGINT PRIMARY KEY,
    at             BIGINT NOT NULL,
    action         TEXT NOT NULL,
    actor_id       BIGINT,
    actor_username TEXT NOT NULL DEFAULT '',
    auth_method    TEXT NOT NULL DEFAULT '',
    target_type    TEXT NOT NULL DEFAULT '',
    target_id      BIGINT,
    target_name    TEXT NOT NULL DEFAULT '',
    org_id         BIGINT,
    client_address TEXT NOT NULL DEFAULT '',
    user_agent     TEXT NOT NULL DEFAULT '',
    request_id     TEXT NOT NULL DEFAULT '',
    changes        TEXT NOT NULL DEFAULT '{}',
    repeat_key     TEXT UNIQUE,
    repeats        BIGINT NOT NULL DEFAULT 0,
    prev_hash      TEXT NOT NULL,
    hash           TEXT NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at, seq);
CREATE INDEX audit_events_actor ON audit_events (actor_id, seq);
CREATE INDEX audit_events_target ON audit_events (target_type, target_id, seq);
CREATE INDEX audit_events_org ON audit_events (org_id, seq);

-- The chain's head, one row: appenders lock it (an UPDATE, held to commit), so writers on
-- several replicas of one PostgreSQL append in turn and never fork the chain. The checkpoint
-- is the last pruned event (retention), its hash signed with a key derived from the secret.
CREATE TABLE audit_chain (
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    seq             BIGINT NOT NULL,
    hash            TEXT NOT NULL,
    checkpoint_seq  BIGINT NOT NULL DEFAULT 0,
    checkpoint_hash TEXT NOT NULL DEFAULT '',
    checkpoint_mac  TEXT NOT NULL DEFAULT ''
);
INSERT INTO audit_chain (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');
