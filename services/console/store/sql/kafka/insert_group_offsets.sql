INSERT INTO group_offset_samples (sample_id, group_id, topic, partition, position, lag, lag_seconds)
SELECT $1, group_id, topic, partition, position, lag, lag_seconds
FROM unnest(
    $2::text[], $3::text[], $4::integer[], $5::bigint[], $6::bigint[], $7::double precision[]
) AS s (group_id, topic, partition, position, lag, lag_seconds)
