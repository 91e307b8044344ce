SELECT qualification_id, region, count(*) AS requests
FROM flow_requests
WHERE qualification_id IS NOT NULL AND region IS NOT NULL
GROUP BY qualification_id, region
