-- The verifier's median first estimate per body, over requests accepted since $1 that asked
-- that body alone (a joint award's estimate is its slowest body's).
SELECT body_ids[1] AS body_id,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY promised_seconds) AS seconds
FROM flow_requests
WHERE accepted_at >= $1::timestamptz AND cardinality(body_ids) = 1
  AND promised_seconds IS NOT NULL
GROUP BY body_ids[1]
