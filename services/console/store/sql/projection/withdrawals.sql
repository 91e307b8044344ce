SELECT qualification_id, edition_id, withdrawn_on, reason, announced_at
FROM catalogue_withdrawals
ORDER BY withdrawn_on DESC
