INSERT INTO topic_offset_samples (sample_id, topic, partition, start_offset, end_offset)
SELECT $1, topic, partition, start_offset, end_offset
FROM unnest($2::text[], $3::integer[], $4::bigint[], $5::bigint[])
    AS s (topic, partition, start_offset, end_offset)
