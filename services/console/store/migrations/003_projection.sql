-- The flow of verifications as the console sees it, projected from the platform's events
-- (requested, progress, verdicts, outcomes) and the catalogue's withdrawals. Idempotent by
-- request id and event id; events may arrive twice and out of order across topics.
-- Never a document or certificate number; the holder's name only masked, and sealed
-- (AES-256-GCM under CONSOLE_DATA_KEY) for the audited opening of one request.
CREATE TABLE flow_requests (
    request_id             uuid PRIMARY KEY,
    employer_id            uuid,
    region                 text,
    qualification_id       text,
    body_ids               text[] NOT NULL DEFAULT '{}',
    holder_name_masked     text,
    holder_name_sealed     text,
    -- Stage timestamps: the first time each stage was seen.
    accepted_at            timestamptz,
    verifying_at           timestamptz,
    waiting_at             timestamptz,
    parked_at              timestamptz,
    decided_at             timestamptz,
    notified_at            timestamptz,
    -- The verifier's latest stage (by the time it happened) and its note.
    stage                  text,
    stage_at               timestamptz,
    stage_note             jsonb,
    expected_completion_at timestamptz,
    -- Seconds the verifier expected when it took the request on (its first estimate).
    promised_seconds       double precision,
    promised_at            timestamptz,
    verdict                text,
    reason                 jsonb,
    checks                 jsonb,
    updated_at             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX flow_requests_accepted ON flow_requests (accepted_at);
CREATE INDEX flow_requests_unfinished ON flow_requests (accepted_at) WHERE notified_at IS NULL;
CREATE INDEX flow_requests_qualification ON flow_requests (qualification_id);

-- Each event once: a request's history.
CREATE TABLE flow_events (
    event_id               uuid PRIMARY KEY,
    request_id             uuid NOT NULL,
    kind                   text NOT NULL,
    stage                  text,
    occurred_at            timestamptz NOT NULL,
    expected_completion_at timestamptz,
    note                   jsonb
);
CREATE INDEX flow_events_request ON flow_events (request_id, occurred_at);

-- How long each awarding body took to answer, per request (from the verdict).
CREATE TABLE flow_contacts (
    request_id  uuid NOT NULL,
    body_id     text NOT NULL,
    channel     text NOT NULL,
    seconds     double precision NOT NULL,
    decided_at  timestamptz NOT NULL,
    PRIMARY KEY (request_id, body_id, channel)
);
CREATE INDEX flow_contacts_decided ON flow_contacts (decided_at);

-- Withdrawals the registry announced, the latest announcement of each qualification.
CREATE TABLE catalogue_withdrawals (
    qualification_id text PRIMARY KEY,
    edition_id       text NOT NULL,
    withdrawn_on     date NOT NULL,
    reason           text NOT NULL,
    announced_at     timestamptz NOT NULL
);
