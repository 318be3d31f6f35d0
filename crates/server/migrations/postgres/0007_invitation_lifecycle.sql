-- Invitations people accept, decline and resend (spec §4): when the invitation mail was last
-- sent (NULL: accepted at creation, no mail), from which the expiry counts; how a user's
-- account came to be (spec §6 `created_via`: 'registration', 'invitation', ...; NULL before
-- this migration and for accounts made by administrators); and the resends per user, counted
-- here so that replicas share the limit (5 per hour).
ALTER TABLE invitations ADD COLUMN sent_date BIGINT;
ALTER TABLE users ADD COLUMN created_via TEXT;
CREATE INDEX invitations_created ON invitations (created_date);

CREATE TABLE invitation_resends (
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at      BIGINT NOT NULL
);
CREATE INDEX invitation_resends_user ON invitation_resends (user_id, at);
