INSERT INTO kafka_samples (sampled_at) VALUES ($1) RETURNING sample_id
