-- E-mail verification (spec §3, issue 13): whether the user's current address is confirmed
-- (NULL: never asked, as for accounts made while verification was off or by administrators;
-- FALSE: a confirmation is pending; TRUE: confirmed) and when the last confirmation mail was
-- queued (the re-send cooldown counts from it).
ALTER TABLE users ADD COLUMN email_verified BOOLEAN;
ALTER TABLE users ADD COLUMN verification_sent_at BIGINT;
