-- Outgoing mail, durable: a row is written in the transaction of the change that causes the
-- mail and sent later by a worker (`crate::mail::worker`), with retries. `message_id` is the
-- stable `Message-ID` header, so a resend after a crash can be recognised by the receiver.
-- `lease_until` is set while a worker sends the row: another worker (replica) skips it until
-- then, and a worker that died mid-send frees it by expiry.
CREATE TABLE mail_outbox (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id     TEXT    NOT NULL UNIQUE,
    kind           TEXT    NOT NULL,
    recipient      TEXT    NOT NULL,
    recipient_name TEXT    NOT NULL DEFAULT '',
    subject        TEXT    NOT NULL,
    body_text      TEXT    NOT NULL,
    body_html      TEXT    NOT NULL,
    status         TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts       BIGINT  NOT NULL DEFAULT 0,
    next_attempt   BIGINT  NOT NULL,
    lease_until    BIGINT,
    last_error     TEXT,
    created        BIGINT  NOT NULL,
    sent_at        BIGINT
);
CREATE INDEX mail_outbox_due ON mail_outbox (status, next_attempt);
