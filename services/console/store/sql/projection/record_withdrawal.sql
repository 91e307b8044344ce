-- The latest announcement of a qualification's withdrawal (it may be rescheduled).
INSERT INTO catalogue_withdrawals AS w (
    qualification_id, edition_id, withdrawn_on, reason, announced_at)
VALUES ($1, $2, $3, $4, $5::timestamptz)
ON CONFLICT (qualification_id) DO UPDATE SET
    edition_id = EXCLUDED.edition_id,
    withdrawn_on = EXCLUDED.withdrawn_on,
    reason = EXCLUDED.reason,
    announced_at = EXCLUDED.announced_at
WHERE EXCLUDED.announced_at >= w.announced_at
