-- Personal access tokens (`Authorization: Bearer`), as the newest CVAT has them. Only the
-- SHA-256 of a token's value is kept; the value is shown once, on creation.
CREATE TABLE access_tokens (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id        BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name           TEXT    NOT NULL,
    digest         TEXT    NOT NULL UNIQUE,
    read_only      BOOLEAN NOT NULL DEFAULT 0,
    expiry_date    BIGINT,
    created_date   BIGINT  NOT NULL,
    updated_date   BIGINT  NOT NULL,
    last_used_date BIGINT
);
CREATE INDEX access_tokens_user ON access_tokens (user_id, id);
