-- Each awarding body's answer times for the requests decided since $1.
SELECT body_id, channel, count(*) AS answers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY seconds) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY seconds) AS p90
FROM flow_contacts
WHERE decided_at >= $1::timestamptz
GROUP BY body_id, channel
ORDER BY body_id, channel
