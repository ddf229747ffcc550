-- Single sign-on (SPID / SAML2, later OIDC and smart cards): people matched by codice fiscale, the
-- authentication requests we sent, and the assertions already used (no replay).

ALTER TABLE users ADD COLUMN fiscal_code TEXT NULL;
ALTER TABLE users ADD CONSTRAINT users_fiscal_code_key UNIQUE (fiscal_code);
ALTER TABLE users ADD CONSTRAINT users_fiscal_code_format CHECK (fiscal_code ~ '^[A-Z0-9]{11,16}$');

-- One row per AuthnRequest sent. The ACS accepts a response only for a row still unanswered and
-- unexpired; a verified response fills `identity` and a one-time completion token, and the browser's
-- session must be the one that sent the request (`session_ref`) to complete the login.
CREATE TABLE sso_requests (
    id               TEXT PRIMARY KEY,           -- the AuthnRequest ID (or OIDC state)
    protocol         TEXT NOT NULL CHECK (protocol IN ('saml', 'oidc')),
    provider         TEXT NOT NULL,              -- IdP entityID or OIDC provider name
    level            SMALLINT NOT NULL,
    comparison       TEXT NOT NULL,
    session_ref      TEXT NOT NULL,              -- SHA-256 of a secret kept in the sender's session
    next             TEXT NULL,
    secret           JSONB NULL,                 -- OIDC: the nonce and the PKCE verifier
    created_at       TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL,
    answered_at      TIMESTAMPTZ NULL,
    identity         JSONB NULL,
    completion_hash  BYTEA NULL,
    completed_at     TIMESTAMPTZ NULL
);
CREATE INDEX sso_requests_expires_idx ON sso_requests (expires_at);
CREATE UNIQUE INDEX sso_requests_completion_idx ON sso_requests (completion_hash) WHERE completion_hash IS NOT NULL;

-- Assertion IDs already accepted, kept until they expire: the same assertion never logs in twice.
CREATE TABLE sso_assertions (
    issuer       TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    seen_at      TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (issuer, assertion_id)
);
