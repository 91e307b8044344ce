SELECT partition, "offset", action, actor, reason, acted_at
FROM dead_letter_actions
WHERE topic = $1 AND "offset" BETWEEN $2 AND $3
