-- The verifier waits on a body (slow or down, or an enquiry sent). The latest stage (by when
-- it happened) wins whatever the order of arrival; each stage's timestamp is the first time it
-- was seen.
INSERT INTO flow_requests AS r (
    request_id, employer_id, waiting_at, parked_at,
    stage, stage_at, stage_note, expected_completion_at)
VALUES (
    $1, $2,
    CASE WHEN $3::text = 'waiting_for_body' THEN $4::timestamptz END,
    CASE WHEN $3::text = 'parked' THEN $4::timestamptz END,
    $3::text, $4::timestamptz, $6::jsonb, $5::timestamptz)
ON CONFLICT (request_id) DO UPDATE SET
    employer_id = COALESCE(r.employer_id, EXCLUDED.employer_id),
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
    updated_at = now()
