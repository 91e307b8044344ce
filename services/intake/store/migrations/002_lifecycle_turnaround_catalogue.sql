-- Lifecycle: when verification started, the verifier's stage and estimate, and a history.
ALTER TABLE requests
    ADD COLUMN verifying_at timestamptz,
    ADD COLUMN stage text,
    ADD COLUMN verifier_expected_at timestamptz,
    ADD COLUMN history jsonb NOT NULL DEFAULT '[]';

UPDATE requests SET history = jsonb_build_array(
    jsonb_build_object('status', 'accepted', 'at', accepted_at));

-- Pages are ordered by (accepted_at, id), both descending, so equal timestamps page stably.
DROP INDEX IF EXISTS requests_by_employer;
CREATE INDEX requests_by_employer_page ON requests (employer_id, accepted_at DESC, id DESC);

-- Observed answer times of each awarding body (exponentially weighted mean).
CREATE TABLE body_turnaround (
    body_id text PRIMARY KEY,
    mean_seconds double precision NOT NULL,
    samples bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- Withdrawals announced by the registry on catalogue.changes.v1.
CREATE TABLE catalogue_withdrawals (
    qualification_id text PRIMARY KEY,
    edition_id text NOT NULL,
    withdrawn_on date NOT NULL,
    reason text NOT NULL,
    event_id uuid NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now()
);

-- Idempotency of batch submissions: the whole answer is kept and replayed.
ALTER TABLE idempotency_keys
    ADD COLUMN kind text NOT NULL DEFAULT 'verification',
    ADD COLUMN response jsonb;
