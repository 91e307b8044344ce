DELETE FROM kafka_samples WHERE sampled_at < $1
