-- Verifier asks for body $1's half-open probe, to hold it $2 seconds. Exactly one verifier
-- gets it (the row lock of the UPDATE); the others learn how long to wait, or that the
-- breaker is closed (no row, or no open_until) and they may call.
WITH claimed AS (
    UPDATE body_breakers SET probe_until = now() + make_interval(secs => $2)
    WHERE body_id = $1 AND open_until <= now() AND (probe_until IS NULL OR probe_until <= now())
    RETURNING body_id
)
SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
    coalesce((SELECT b.open_until IS NULL FROM body_breakers b WHERE b.body_id = $1), true)
        AS closed,
    coalesce((SELECT greatest(extract(epoch FROM b.open_until - now()),
                              extract(epoch FROM b.probe_until - now()), 0)::float8
              FROM body_breakers b WHERE b.body_id = $1), 0) AS wait_seconds
