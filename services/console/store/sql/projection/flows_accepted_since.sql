-- Requests accepted in a window, newest first, at most $2.
SELECT request_id, qualification_id, region, body_ids, accepted_at, waiting_at, parked_at,
       decided_at, notified_at, stage, stage_note::text AS stage_note, expected_completion_at,
       verdict
FROM flow_requests
WHERE accepted_at >= $1::timestamptz
ORDER BY accepted_at DESC
LIMIT $2
