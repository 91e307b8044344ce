-- Body $1's breaker closed by verifier $2 (its probe succeeded); told only if it was open.
WITH closed AS (
    UPDATE body_breakers SET open_until = NULL, probe_until = NULL, changed_at = now(),
        changed_by = $2
    WHERE body_id = $1 AND open_until IS NOT NULL
    RETURNING body_id
)
SELECT pg_notify('verifier_breakers', current_schema() || ':' || json_build_object(
    'body', body_id, 'by', $2::text, 'open_for', NULL
)::text) FROM closed
