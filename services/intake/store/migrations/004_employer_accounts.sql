-- The employer web platform: employers sign up, verify their e-mail and wait for an operator's
-- approval; each has users with roles, who sign in with a password and a second factor.

-- Employers registered from the command line before this change are active.
ALTER TABLE employers
    ADD COLUMN status text NOT NULL DEFAULT 'active'
        CHECK (status IN ('unverified', 'pending', 'active', 'rejected')),
    ADD COLUMN decided_at timestamptz,
    ADD COLUMN decided_by text,
    ADD COLUMN decision_reason text;

CREATE INDEX employers_pending ON employers (created_at) WHERE status = 'pending';

CREATE TABLE employer_users (
    id uuid PRIMARY KEY,
    employer_id uuid NOT NULL REFERENCES employers (id),
    email text NOT NULL UNIQUE,  -- lower-cased, as email-validator normalises it
    name text NOT NULL,
    phone text,
    role text NOT NULL CHECK (role IN ('admin', 'applicant', 'viewer')),
    password_hash text,  -- argon2; NULL until the user sets one (an invitation)
    totp_secret text,  -- sealed with AES-GCM; NULL until the second factor is enrolled
    email_verified_at timestamptz,
    failed_sign_ins integer NOT NULL DEFAULT 0,
    locked_until timestamptz,
    disabled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX employer_users_by_employer ON employer_users (employer_id, created_at);

-- The browser holds a signed cookie carrying the token; only its hash is stored. A session is
-- `password` until the second factor is given, then `full`.
CREATE TABLE web_sessions (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES employer_users (id),
    stage text NOT NULL CHECK (stage IN ('password', 'full')),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);

CREATE INDEX web_sessions_by_user ON web_sessions (user_id);

-- One-time links sent by e-mail; only hashes are stored, each used once.
CREATE TABLE account_tokens (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES employer_users (id),
    purpose text NOT NULL CHECK (purpose IN ('verify-email', 'reset-password', 'invitation')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Who did what in an employer's account (sign-ins, users, keys, webhooks, reports).
CREATE TABLE account_audit (
    id bigserial PRIMARY KEY,
    employer_id uuid,
    user_id uuid,
    action text NOT NULL,
    target text,
    outcome text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX account_audit_by_employer ON account_audit (employer_id, at DESC);

ALTER TABLE api_keys
    ADD COLUMN name text NOT NULL DEFAULT 'default',
    ADD COLUMN created_by uuid REFERENCES employer_users (id);

-- The registry's signed statement of an authentic verdict, for the employer's report.
ALTER TABLE requests ADD COLUMN statement text;
