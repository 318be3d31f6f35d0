-- LDAP logins (issue 14, sso-and-mfa §4.10, §4.13): the directory entry of an account whose
-- auth_source is 'ldap' (its DN and stable UUID, by which the next login finds it even after a
-- rename) and when the directory last vouched for it (the last successful login).
ALTER TABLE users ADD COLUMN ldap_dn TEXT;
ALTER TABLE users ADD COLUMN ldap_uuid TEXT;
ALTER TABLE users ADD COLUMN ldap_checked_date BIGINT;
CREATE UNIQUE INDEX users_ldap_uuid ON users (ldap_uuid) WHERE ldap_uuid IS NOT NULL;
CREATE INDEX users_ldap_dn ON users (ldap_dn) WHERE ldap_dn IS NOT NULL;
