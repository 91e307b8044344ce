INSERT INTO flow_contacts (request_id, body_id, channel, seconds, decided_at)
VALUES ($1, $2, $3, $4, $5::timestamptz)
ON CONFLICT DO NOTHING
