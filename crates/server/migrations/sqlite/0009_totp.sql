-- TOTP second factor (RFC 6238; ../shared/spec/sso-and-mfa.md §4.13). Secrets are sealed with
-- AES-256-GCM (nonce and ciphertext, base64), recovery codes and login tickets are kept as keyed
-- or plain digests only. Deleting a user deletes all of it.

-- A confirmed factor. last_used_step only grows: a code is accepted by the compare-and-set
-- UPDATE ... SET last_used_step = s WHERE last_used_step < s, so a step is used once.
CREATE TABLE mfa_totp (
    user_id        BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc     TEXT   NOT NULL,
    confirmed_date BIGINT NOT NULL,
    last_used_step BIGINT NOT NULL,
    last_used_date BIGINT
);

-- An enrolment that waits for its first code; a new setup replaces it.
CREATE TABLE mfa_totp_pending (
    user_id    BIGINT NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret_enc TEXT   NOT NULL,
    expires    BIGINT NOT NULL
);

CREATE TABLE mfa_recovery_codes (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash      TEXT   NOT NULL,
    generated_date BIGINT NOT NULL,
    used_date      BIGINT
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes (user_id, code_hash);

-- Tickets of login step two (POST /api/auth/login/mfa), by SHA-256 digest.
CREATE TABLE mfa_tokens (
    token_hash   TEXT   NOT NULL PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose      TEXT   NOT NULL,
    first_factor TEXT   NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    expires      BIGINT NOT NULL
);
CREATE INDEX mfa_tokens_user ON mfa_tokens (user_id);
