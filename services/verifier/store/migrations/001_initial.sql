CREATE TABLE verdicts (
    request_id uuid PRIMARY KEY,
    verdict text NOT NULL,
    reason jsonb NOT NULL,
    checks jsonb NOT NULL,
    verification_code text,
    decided_at timestamptz NOT NULL
);

-- Every contact with an awarding body, so an auditor can reconstruct each verdict.
CREATE TABLE evidence (
    id bigserial PRIMARY KEY,
    request_id uuid NOT NULL,
    body_id text NOT NULL,
    channel text NOT NULL,
    status text NOT NULL,
    detail text NOT NULL,
    answer_digest text,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX evidence_by_request ON evidence (request_id);

CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    topic text NOT NULL,
    key bytea,
    value bytea NOT NULL,
    headers jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
