-- Per sample and topic: the sum of its partitions' log ends (records ever written).
SELECT s.sampled_at, t.topic, sum(t.end_offset)::bigint AS total
FROM kafka_samples s
JOIN topic_offset_samples t USING (sample_id)
WHERE s.sampled_at >= $1 AND s.sample_id % $2 = 0
GROUP BY s.sampled_at, t.topic
ORDER BY s.sampled_at, t.topic
