-- Where each credential came from (issue 15's sessions list): the client address and user
-- agent of the request that created a session, a login token or an access token, and when a
-- session was created. Not updated on use: token requests never write (decision 4).
ALTER TABLE sessions ADD COLUMN created BIGINT;
ALTER TABLE sessions ADD COLUMN client_address TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE tokens ADD COLUMN client_address TEXT;
ALTER TABLE tokens ADD COLUMN user_agent TEXT;
ALTER TABLE access_tokens ADD COLUMN client_address TEXT;
ALTER TABLE access_tokens ADD COLUMN user_agent TEXT;
