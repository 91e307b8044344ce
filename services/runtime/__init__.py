"""Adapters every service shares: logging, metrics, PostgreSQL, Kafka, the transactional outbox."""
