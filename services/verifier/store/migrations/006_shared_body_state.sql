-- State every verifier replica shares about the awarding bodies (store/breakers.py,
-- store/replicas.py). Written only on transitions and heartbeats, never per body call.

-- A body's circuit breaker, cluster-wide: open until `open_until` (NULL: closed); once that
-- has passed, the one verifier holding the probe (`probe_until` in the future) calls the body.
CREATE TABLE body_breakers (
    body_id text PRIMARY KEY,
    open_until timestamptz,
    probe_until timestamptz,
    changed_at timestamptz NOT NULL DEFAULT now(),
    changed_by text NOT NULL
);

-- The live verifiers, which split each body's concurrency between them.
CREATE TABLE verifier_replicas (
    replica text PRIMARY KEY,
    joined_at timestamptz NOT NULL DEFAULT now(),
    seen_until timestamptz NOT NULL
);
