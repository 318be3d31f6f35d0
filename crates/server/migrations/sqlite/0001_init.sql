-- Tables are named after Django's so an import from CVAT is a copy.
-- Timestamps are microseconds since the Unix epoch (UTC), the same type on every engine.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    username      TEXT    NOT NULL UNIQUE,
    -- Unicode-lowercased username: case-insensitive login and registration uniqueness.
    username_folded TEXT  NOT NULL,
    password      TEXT    NOT NULL,
    email         TEXT    NOT NULL DEFAULT '',
    email_folded  TEXT    NOT NULL DEFAULT '',
    first_name    TEXT    NOT NULL DEFAULT '',
    last_name     TEXT    NOT NULL DEFAULT '',
    -- lower(username) \n lower(first_name) \n lower(last_name): the haystack of `search`.
    search_key    TEXT    NOT NULL DEFAULT '',
    is_staff      BOOLEAN NOT NULL DEFAULT 0,
    is_superuser  BOOLEAN NOT NULL DEFAULT 0,
    is_active     BOOLEAN NOT NULL DEFAULT 1,
    last_login    BIGINT,
    date_joined   BIGINT  NOT NULL
);
CREATE INDEX users_username_folded ON users (username_folded);
CREATE INDEX users_email_folded ON users (email_folded);
CREATE INDEX users_is_active ON users (is_active, id);

CREATE TABLE groups (
    id   INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE
);
INSERT INTO groups (id, name) VALUES (1, 'admin'), (2, 'business'), (3, 'user'), (4, 'worker');

CREATE TABLE user_groups (
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_id BIGINT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, group_id)
);
CREATE INDEX user_groups_group ON user_groups (group_id, user_id);

-- DRF's authtoken: one key per user, returned again by every login until logout.
CREATE TABLE tokens (
    key     TEXT   NOT NULL PRIMARY KEY,
    -- SHA-256 of the key: lookups go by digest, the key itself is compared in constant time.
    digest  TEXT   NOT NULL UNIQUE,
    user_id BIGINT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    created BIGINT NOT NULL
);

-- Only the SHA-256 of a session key is stored: a database leak does not leak sessions.
CREATE TABLE sessions (
    digest  TEXT   NOT NULL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE organizations (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    slug         TEXT   NOT NULL UNIQUE,
    name         TEXT   NOT NULL DEFAULT '',
    description  TEXT   NOT NULL DEFAULT '',
    created_date BIGINT NOT NULL,
    updated_date BIGINT NOT NULL,
    contact      TEXT   NOT NULL DEFAULT '{}',
    owner_id     BIGINT REFERENCES users (id) ON DELETE SET NULL
);

CREATE TABLE memberships (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    organization_id BIGINT  NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    is_active       BOOLEAN NOT NULL DEFAULT 0,
    joined_date     BIGINT,
    role            TEXT    NOT NULL,
    UNIQUE (user_id, organization_id)
);
CREATE INDEX memberships_org ON memberships (organization_id, user_id);

CREATE TABLE invitations (
    key           TEXT   NOT NULL PRIMARY KEY,
    created_date  BIGINT NOT NULL,
    owner_id      BIGINT REFERENCES users (id) ON DELETE SET NULL,
    membership_id BIGINT NOT NULL UNIQUE REFERENCES memberships (id) ON DELETE CASCADE
);

-- Failed password checks, for brute-force throttling shared by every replica.
CREATE TABLE login_failures (
    scope   TEXT   NOT NULL, -- 'account' or 'address'
    subject TEXT   NOT NULL, -- folded username / client address
    at      BIGINT NOT NULL
);
CREATE INDEX login_failures_subject ON login_failures (scope, subject, at);

-- Server-wide values kept with the data, e.g. the generated signing secret.
CREATE TABLE settings (
    name  TEXT NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
