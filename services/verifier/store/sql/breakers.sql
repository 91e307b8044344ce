-- Every body's breaker as the cluster has it, for a verifier catching up (NULL: closed).
SELECT body_id, extract(epoch FROM open_until - now())::float8 AS open_for FROM body_breakers
