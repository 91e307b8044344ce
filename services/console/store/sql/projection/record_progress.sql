-- The verifier moved a request on. The latest stage (by when it happened) wins whatever the
-- order of arrival; each stage's timestamp is the first time it was seen; the promise is the
-- verifier's first estimate when it took the request on.
INSERT INTO flow_requests AS r (
    request_id, employer_id, verifying_at, waiting_at, parked_at,
    stage, stage_at, stage_note, expected_completion_at, promised_seconds, promised_at)
VALUES (
    $1, $2,
    CASE WHEN $3::text = 'verifying' THEN $4::timestamptz END,
    CASE WHEN $3::text = 'waiting_for_body' THEN $4::timestamptz END,
    CASE WHEN $3::text = 'parked' THEN $4::timestamptz END,
    $3::text, $4::timestamptz, $6::jsonb, $5::timestamptz,
    CASE WHEN $3::text = 'verifying' THEN extract(epoch FROM $5::timestamptz - $4::timestamptz) END,
    CASE WHEN $3::text = 'verifying' AND $5::timestamptz IS NOT NULL THEN $4::timestamptz END)
ON CONFLICT (request_id) DO UPDATE SET
    employer_id = COALESCE(r.employer_id, EXCLUDED.employer_id),
    verifying_at = LEAST(r.verifying_at, EXCLUDED.verifying_at),
    waiting_at = LEAST(r.waiting_at, EXCLUDED.waiting_at),
    parked_at = LEAST(r.parked_at, EXCLUDED.parked_at),
    stage = CASE WHEN r.stage_at IS NULL OR EXCLUDED.stage_at >= r.stage_at
                 THEN EXCLUDED.stage ELSE r.stage END,
    stage_note = CASE WHEN r.stage_at IS NULL OR EXCLUDED.stage_at >= r.stage_at
                      THEN EXCLUDED.stage_note ELSE r.stage_note END,
    expected_completion_at = CASE
        WHEN (r.stage_at IS NULL OR EXCLUDED.stage_at >= r.stage_at)
             AND EXCLUDED.expected_completion_at IS NOT NULL
        THEN EXCLUDED.expected_completion_at ELSE r.expected_completion_at END,
    stage_at = GREATEST(r.stage_at, EXCLUDED.stage_at),
    promised_seconds = CASE
        WHEN EXCLUDED.promised_at IS NOT NULL
             AND (r.promised_at IS NULL OR EXCLUDED.promised_at < r.promised_at)
        THEN EXCLUDED.promised_seconds ELSE r.promised_seconds END,
    promised_at = LEAST(r.promised_at, EXCLUDED.promised_at),
    updated_at = now()
