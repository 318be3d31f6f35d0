-- Login token keys are no longer kept, only their SHA-256 digests (stored since 0001, so every
-- existing key keeps working and nobody is logged out). Without the key a login cannot give
-- it back: each login issues a new key, so a user may hold several until logout.
ALTER TABLE tokens DROP COLUMN key;
ALTER TABLE tokens DROP CONSTRAINT tokens_user_id_key;
ALTER TABLE tokens DROP CONSTRAINT tokens_digest_key;
ALTER TABLE tokens ADD PRIMARY KEY (digest);
CREATE INDEX tokens_user ON tokens (user_id, created);
