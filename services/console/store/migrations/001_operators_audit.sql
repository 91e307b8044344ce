-- Operators of the console, their sessions, and the audit log of every action and every
-- opening of personal data.
CREATE TABLE operators (
    username        text PRIMARY KEY,
    display_name    text NOT NULL,
    role            text NOT NULL CHECK (role IN ('viewer', 'operator')),
    password_hash   text NOT NULL,
    disabled        boolean NOT NULL DEFAULT false,
    failed_attempts integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE sessions (
    id           text PRIMARY KEY,
    username     text NOT NULL REFERENCES operators (username) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE audit_log (
    id       bigserial PRIMARY KEY,
    at       timestamptz NOT NULL DEFAULT now(),
    actor    text NOT NULL,
    action   text NOT NULL,
    target   text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_target ON audit_log (target, id DESC);
