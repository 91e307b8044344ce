CREATE TABLE employers (
    id uuid PRIMARY KEY,
    credit_code text NOT NULL UNIQUE,
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- API keys are stored only as SHA-256 hashes of their secret part.
CREATE TABLE api_keys (
    key_id text PRIMARY KEY,
    secret_hash bytea NOT NULL,
    employer_id uuid NOT NULL REFERENCES employers (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    revoked_at timestamptz
);

CREATE TABLE requests (
    id uuid PRIMARY KEY,
    employer_id uuid NOT NULL REFERENCES employers (id),
    qualification_id text NOT NULL,
    body_ids text[] NOT NULL,
    region text NOT NULL,
    holder_name text NOT NULL,
    holder_name_zh text,
    nationality text NOT NULL,
    holder_ref text NOT NULL,
    certificate_number text NOT NULL,
    issued_on date NOT NULL,
    expires_on date,
    channel_fields jsonb NOT NULL DEFAULT '{}',
    status text NOT NULL,
    reason jsonb,
    checks jsonb,
    verification_code text,
    accepted_at timestamptz NOT NULL,
    expected_completion_at timestamptz NOT NULL,
    decided_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- One request in flight per employer and certificate: a second application returns the first.
CREATE UNIQUE INDEX requests_in_flight
    ON requests (employer_id, qualification_id, certificate_number, holder_ref)
    WHERE status IN ('accepted', 'verifying');

CREATE INDEX requests_by_employer ON requests (employer_id, accepted_at DESC, id);

CREATE TABLE idempotency_keys (
    employer_id uuid NOT NULL,
    key text NOT NULL,
    body_hash bytea NOT NULL,
    request_id uuid NOT NULL,
    created boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employer_id, key)
);

CREATE TABLE webhook_endpoints (
    employer_id uuid NOT NULL REFERENCES employers (id),
    url text NOT NULL,
    secret text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (employer_id, url)
);

CREATE TABLE applied_events (
    event_id uuid PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
