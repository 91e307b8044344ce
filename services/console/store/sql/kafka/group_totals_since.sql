-- Per sample, group and topic: the sum of positions (records consumed), total lag and the
-- slowest partition's max lag time.
SELECT s.sampled_at, g.group_id, g.topic,
       sum(g.position)::bigint AS total,
       sum(g.lag)::bigint AS lag,
       max(g.lag_seconds) AS lag_seconds
FROM kafka_samples s
JOIN group_offset_samples g USING (sample_id)
WHERE s.sampled_at >= $1 AND s.sample_id % $2 = 0
GROUP BY s.sampled_at, g.group_id, g.topic
ORDER BY s.sampled_at, g.group_id, g.topic
