"""Shared fixtures for every test: the infrastructure (Kafka, PostgreSQL) and fresh databases.

See tests/infra.py for how the infrastructure is chosen (external, testcontainers, local).
"""

from tests.infra import event_keys, fresh_database, infra, module_database

__all__ = ["event_keys", "fresh_database", "infra", "module_database"]
