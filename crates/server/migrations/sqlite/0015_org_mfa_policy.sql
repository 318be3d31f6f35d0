-- An organization's second-factor policy (sso-and-mfa §4.8, issue 15): since when it requires
-- TOTP of its members (NULL: it does not) and their grace period in hours.
ALTER TABLE organizations ADD COLUMN mfa_required_since BIGINT;
ALTER TABLE organizations ADD COLUMN mfa_grace_period_hours BIGINT NOT NULL DEFAULT 48;
