"""The registry's Kafka edge (FastStream)."""
