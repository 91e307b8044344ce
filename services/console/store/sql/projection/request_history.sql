SELECT kind, stage, occurred_at, expected_completion_at, note::text AS note
FROM flow_events
WHERE request_id = $1
ORDER BY occurred_at, kind
