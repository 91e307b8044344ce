-- Verifier $1 is alive for $2 seconds more; a newcomer tells the others at once. Returns
-- the live verifiers and when $1 joined.
WITH beat AS (
    INSERT INTO verifier_replicas AS r (replica, seen_until)
    VALUES ($1, now() + make_interval(secs => $2))
    ON CONFLICT (replica) DO UPDATE SET seen_until = EXCLUDED.seen_until
    RETURNING (xmax = 0) AS joined
), told AS (
    SELECT pg_notify('verifier_replicas', current_schema()) FROM beat WHERE joined
)
SELECT array(SELECT replica FROM verifier_replicas WHERE seen_until > now()
             ORDER BY replica) AS live,
    (SELECT count(*) FROM told) AS told
