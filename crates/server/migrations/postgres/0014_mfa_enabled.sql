-- Whether the user has a confirmed TOTP factor, kept in step with `mfa_totp` by enabling and
-- removing it: the enrolment policy (issue 15) reads it with the user, at no extra statement.
ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE users SET mfa_enabled = TRUE WHERE id IN (SELECT user_id FROM mfa_totp);
