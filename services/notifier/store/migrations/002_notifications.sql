-- Secret rotation: the previous secret keeps signing (alongside the new one) until it expires.
ALTER TABLE webhook_endpoints
    ADD COLUMN previous_secret text,
    ADD COLUMN previous_secret_expires_at timestamptz;

CREATE TABLE email_recipients (
    employer_id uuid PRIMARY KEY,
    addresses text[] NOT NULL,
    configured_at timestamptz NOT NULL
);

-- What the employer was last told about each request in flight; finished once decided.
CREATE TABLE request_progress (
    request_id uuid PRIMARY KEY,
    stage text NOT NULL,
    expected_completion_at timestamptz,
    finished boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- E-mails are deliveries too (url 'mailto:<address>'), so they share ordering and retries.
ALTER TABLE deliveries
    ADD COLUMN channel text NOT NULL DEFAULT 'webhook',
    ADD COLUMN event_type text NOT NULL DEFAULT 'verification.completed',
    ADD COLUMN replayed_at timestamptz;
CREATE INDEX deliveries_by_employer ON deliveries (employer_id, seq DESC);
