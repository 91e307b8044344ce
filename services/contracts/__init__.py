"""Contracts shared by every service: Kafka topics and event schemas, defined once."""
