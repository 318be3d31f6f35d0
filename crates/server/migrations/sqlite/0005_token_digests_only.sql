-- Login token keys are no longer kept, only their SHA-256 digests (stored since 0001, so every
-- existing key keeps working and nobody is logged out). Without the key a login cannot give
-- it back: each login issues a new key, so a user may hold several until logout.
-- SQLite cannot drop a primary-key column: the table is rebuilt.
CREATE TABLE tokens_digest_only (
    digest  TEXT   NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created BIGINT NOT NULL
);
INSERT INTO tokens_digest_only (digest, user_id, created) SELECT digest, user_id, created FROM tokens;
DROP TABLE tokens;
ALTER TABLE tokens_digest_only RENAME TO tokens;
CREATE INDEX tokens_user ON tokens (user_id, created);
