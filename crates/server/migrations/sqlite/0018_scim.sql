-- SCIM 2.0 provisioning (issue 17): access tokens that may call `/scim/v2` and nothing else,
-- the identity provider's own id of each user it provisions (SCIM `externalId`, not unique:
-- it belongs to the client), and when a user's attributes last changed (`meta.lastModified`;
-- NULL until the first change: the creation date stands).
ALTER TABLE access_tokens ADD COLUMN scim BOOLEAN NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN modified_date BIGINT;
CREATE INDEX users_external_id ON users (external_id);
