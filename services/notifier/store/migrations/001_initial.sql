CREATE TABLE webhook_endpoints (
    employer_id uuid NOT NULL,
    url text NOT NULL,
    secret text NOT NULL,
    configured_at timestamptz NOT NULL,
    PRIMARY KEY (employer_id, url)
);

CREATE TABLE deliveries (
    webhook_id text PRIMARY KEY,
    seq bigserial NOT NULL,
    employer_id uuid NOT NULL,
    request_id uuid NOT NULL,
    url text NOT NULL,
    payload bytea NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    attempts int NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error text,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_request ON deliveries (request_id, url, seq);

CREATE TABLE processed_events (
    event_id uuid PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
