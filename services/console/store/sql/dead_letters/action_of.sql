SELECT action, actor, reason, acted_at
FROM dead_letter_actions
WHERE topic = $1 AND partition = $2 AND "offset" = $3
