SELECT body_id, channel, seconds, decided_at
FROM flow_contacts
WHERE request_id = $1
ORDER BY body_id, channel
