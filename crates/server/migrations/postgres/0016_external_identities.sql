-- Single sign-on (issue 14, sso-and-mfa §4.13): where an account's password is checked
-- ('local', 'ldap', 'oidc'), and the OpenID Connect identities linked to accounts, keyed by
-- (provider, subject); one identity per provider per account.
ALTER TABLE users ADD COLUMN auth_source TEXT NOT NULL DEFAULT 'local';

CREATE TABLE external_identities (
    id              BIGSERIAL PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider        TEXT NOT NULL,
    subject         TEXT NOT NULL,
    email           TEXT,
    email_verified  BOOLEAN NOT NULL DEFAULT FALSE,
    created_date    BIGINT NOT NULL,
    last_login_date BIGINT,
    UNIQUE (provider, subject),
    UNIQUE (user_id, provider)
);
