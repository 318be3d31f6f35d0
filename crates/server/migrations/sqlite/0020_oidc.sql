-- OpenID Connect sign-in (issue 14, sso-and-mfa §4.9, §4.13): the server-side state of each
-- authorization-code flow, so that any replica can finish a flow another one started. Only
-- digests of the flow id (the browser's cookie) and of `state` are kept; `nonce` and the PKCE
-- `code_verifier` must be kept as they are (the ID token is compared with the first, the
-- token endpoint is sent the second). A flow is taken once (`used`) and expires.
CREATE TABLE oidc_flows (
    flow_hash       TEXT PRIMARY KEY,
    provider        TEXT NOT NULL,
    state_hash      TEXT NOT NULL,
    nonce           TEXT NOT NULL,
    code_verifier   TEXT NOT NULL,
    next            TEXT NOT NULL,
    process         TEXT NOT NULL DEFAULT 'login',
    link_user_id    BIGINT REFERENCES users (id) ON DELETE CASCADE,
    redirect_uri    TEXT NOT NULL,
    expires         BIGINT NOT NULL,
    used            BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX oidc_flows_expires ON oidc_flows (expires);
