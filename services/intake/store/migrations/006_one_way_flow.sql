-- The one-way flow (issue 12): intake keeps its own view of the employer's deliveries and of
-- the addresses its notifications are e-mailed to, instead of asking the notifier over HTTP.

-- The employer's delivery log, projected from the notifier's DeliveryUpdated events: one row per
-- delivery (webhook or e-mail), the latest `updated_at` wins. `seq` orders the log (newest
-- first) and is the page cursor, in the order deliveries reached intake.
CREATE TABLE deliveries (
    webhook_id text PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    employer_id uuid NOT NULL,
    request_id uuid NOT NULL,
    channel text NOT NULL,
    destination text NOT NULL,  -- an endpoint's URL, or a masked e-mail address
    event_type text NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL,
    last_error text,
    next_attempt_at timestamptz,
    delivered_at timestamptz,
    created_at timestamptz NOT NULL,
    replayed_at timestamptz,
    updated_at timestamptz NOT NULL
);

CREATE INDEX deliveries_by_employer ON deliveries (employer_id, seq DESC);

-- The addresses the employer's notifications are e-mailed to, as last saved through intake
-- (published to the notifier with EmployerWebhooksConfigured in the same transaction).
CREATE TABLE email_recipients (
    employer_id uuid PRIMARY KEY REFERENCES employers (id),
    addresses text[] NOT NULL,
    configured_at timestamptz NOT NULL DEFAULT now()
);

-- Event ids are now claimed by the consumption middleware (services/runtime/reliability.py) in
-- `consumed_events`; the ids applied before carry over, so a redelivery across the upgrade
-- still takes effect once.
CREATE TABLE IF NOT EXISTS consumed_events (
    event_id uuid PRIMARY KEY,
    consumed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO consumed_events (event_id, consumed_at)
    SELECT event_id, applied_at FROM applied_events
    ON CONFLICT DO NOTHING;
DROP TABLE applied_events;
