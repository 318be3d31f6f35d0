-- Must change the password (issue 15): set by an administrator (on creation, with a new
-- password, or by itself); until the user sets a new password, every request but the password
-- change, logout and reading oneself is refused.
ALTER TABLE users ADD COLUMN must_change_password BOOLEAN NOT NULL DEFAULT FALSE;
