INSERT INTO dead_letter_actions (topic, partition, "offset", action, actor, reason)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (topic, partition, "offset") DO NOTHING
RETURNING acted_at
