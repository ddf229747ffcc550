-- Local accounts, their roles, second factors and the tables the login flow needs.
CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           TEXT NOT NULL,
    display_name    TEXT NOT NULL,
    password_hash   TEXT NULL,            -- NULL: no password login (SSO only)
    totp_secret     TEXT NULL,            -- base32; set at enrolment start
    totp_enabled_at TIMESTAMPTZ NULL,     -- set once a code has been verified
    totp_last_step  BIGINT NULL,          -- last accepted time step: refuses replays
    session_epoch   INTEGER NOT NULL DEFAULT 0, -- bumped to end every session of the user
    disabled_at     TIMESTAMPTZ NULL,
    created_at      TIMESTAMPTZ NOT NULL,
    CONSTRAINT users_email_lowercase CHECK (email = lower(btrim(email))),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_totp_enabled_needs_secret CHECK (totp_enabled_at IS NULL OR totp_secret IS NOT NULL)
);

CREATE TABLE user_roles (
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       TEXT NOT NULL CHECK (role IN ('member', 'applicant', 'secretariat', 'treasurer', 'president',
                                            'councillor', 'auditor', 'video_officer', 'video_manager', 'admin')),
    granted_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE recovery_codes (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id   BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BYTEA NOT NULL,
    used_at   TIMESTAMPTZ NULL,
    CONSTRAINT recovery_codes_hash_key UNIQUE (user_id, code_hash)
);

CREATE TABLE password_reset_tokens (
    token_hash BYTEA PRIMARY KEY,
    user_id    BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ NULL
);
CREATE INDEX password_reset_tokens_user_idx ON password_reset_tokens (user_id);

-- Failed-login counters, one row per throttled key ('account:<email>' or 'ip:<address>').
-- In PostgreSQL so that several app processes share them.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    locked_until TIMESTAMPTZ NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Server-side sessions (layout required by tower-sessions-sqlx-store).
CREATE SCHEMA IF NOT EXISTS tower_sessions;
CREATE TABLE tower_sessions.session (
    id          TEXT PRIMARY KEY NOT NULL,
    data        BYTEA NOT NULL,
    expiry_date TIMESTAMPTZ NOT NULL
);
CREATE INDEX session_expiry_idx ON tower_sessions.session (expiry_date);
