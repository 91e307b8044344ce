-- Body $1's breaker opened by verifier $3, for $2 seconds; every verifier is told.
WITH opened AS (
    INSERT INTO body_breakers AS b (body_id, open_until, probe_until, changed_by)
    VALUES ($1, now() + make_interval(secs => $2), NULL, $3)
    ON CONFLICT (body_id) DO UPDATE
    SET open_until = EXCLUDED.open_until, probe_until = NULL, changed_at = now(),
        changed_by = EXCLUDED.changed_by
    RETURNING b.body_id, b.open_until
)
SELECT pg_notify('verifier_breakers', current_schema() || ':' || json_build_object(
    'body', body_id, 'by', $3::text, 'open_for', extract(epoch FROM open_until - now())
)::text) FROM opened
