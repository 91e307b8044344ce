-- Requests whose outcome is not yet published, oldest first, at most $1.
SELECT request_id, qualification_id, region, body_ids, accepted_at, waiting_at, parked_at,
       decided_at, notified_at, stage, stage_note::text AS stage_note, expected_completion_at,
       verdict
FROM flow_requests
WHERE notified_at IS NULL
ORDER BY accepted_at NULLS FIRST
LIMIT $1
