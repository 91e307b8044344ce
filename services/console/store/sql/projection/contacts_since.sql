-- Awarding bodies' answer times of requests decided in a window, newest first, at most $2.
SELECT body_id, channel, seconds, decided_at
FROM flow_contacts
WHERE decided_at >= $1::timestamptz
ORDER BY decided_at DESC
LIMIT $2
