INSERT INTO flow_events (event_id, request_id, kind, stage, occurred_at,
                         expected_completion_at, note)
VALUES ($1, $2, $3, $4, $5::timestamptz, $6::timestamptz, $7::jsonb)
ON CONFLICT (event_id) DO NOTHING
