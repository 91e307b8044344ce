-- How each qualification is used, over everything the console has seen.
SELECT qualification_id,
       count(*) AS requests,
       count(*) FILTER (WHERE verdict IS NOT NULL) AS decided,
       count(*) FILTER (WHERE verdict = 'authentic') AS authentic,
       max(accepted_at) AS last_requested_at,
       max(decided_at) AS last_decided_at
FROM flow_requests
WHERE qualification_id IS NOT NULL
GROUP BY qualification_id
