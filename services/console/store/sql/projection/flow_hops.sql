-- Each hop between consecutive stages a request accepted since $1 went through, completed
-- between $1 and $2: how many, and their latency percentiles in seconds (linear interpolation
-- between the closest ranks). A stage not reached is skipped: accepted -> decided.
WITH windowed AS MATERIALIZED (
    SELECT accepted_at, LEAST(waiting_at, parked_at) AS waited_at, decided_at, notified_at
    FROM flow_requests
    WHERE accepted_at >= $1::timestamptz
), hops (source, target, left_at, arrived) AS (
    SELECT 'accepted', 'waiting_for_body', accepted_at, waited_at
    FROM windowed WHERE waited_at BETWEEN $1::timestamptz AND $2::timestamptz
    UNION ALL
    SELECT CASE WHEN waited_at IS NOT NULL THEN 'waiting_for_body' ELSE 'accepted' END,
           'decided', COALESCE(waited_at, accepted_at), decided_at
    FROM windowed WHERE decided_at BETWEEN $1::timestamptz AND $2::timestamptz
    UNION ALL
    SELECT CASE WHEN decided_at IS NOT NULL THEN 'decided'
                WHEN waited_at IS NOT NULL THEN 'waiting_for_body' ELSE 'accepted' END,
           'notified', COALESCE(decided_at, waited_at, accepted_at), notified_at
    FROM windowed WHERE notified_at BETWEEN $1::timestamptz AND $2::timestamptz
)
SELECT source, target, count(*) AS completed,
       percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (
           ORDER BY greatest(extract(epoch FROM arrived - left_at), 0)) AS latency
FROM hops
GROUP BY source, target
