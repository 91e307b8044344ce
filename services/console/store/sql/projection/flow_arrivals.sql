-- Requests accepted since $1 arriving at each stage, counted per slot of $2 seconds (the slot
-- is the arrival's epoch second divided by $2, rounded down).
WITH windowed AS MATERIALIZED (
    SELECT accepted_at, LEAST(waiting_at, parked_at) AS waited_at, decided_at, notified_at
    FROM flow_requests
    WHERE accepted_at >= $1::timestamptz
), arrivals (stage, at) AS (
    SELECT 'accepted', accepted_at FROM windowed
    UNION ALL SELECT 'waiting_for_body', waited_at FROM windowed WHERE waited_at >= $1::timestamptz
    UNION ALL SELECT 'decided', decided_at FROM windowed WHERE decided_at >= $1::timestamptz
    UNION ALL SELECT 'notified', notified_at FROM windowed WHERE notified_at >= $1::timestamptz
)
SELECT stage, floor(extract(epoch FROM at) / $2::float8)::bigint AS slot, count(*) AS arrived
FROM arrivals
GROUP BY stage, slot
