"""Shared fixtures for every test: the infrastructure (Kafka, PostgreSQL) and fresh databases.

See tests/infra.py for how the infrastructure is chosen (external, testcontainers, local).
"""

import os

import deploy.local  # noqa: F401  (sets GRPC_ENABLE_FORK_SUPPORT before grpc is imported)
from tests.browser import browser, page
from tests.infra import event_keys, fresh_database, infra, module_database

# The development egress allow-list, as `make run` sets it: receivers and the simulator run on
# this machine. Tests of the production rule build their policy without it.
os.environ.setdefault("QV_EGRESS_ALLOW", "127.0.0.1,::1,localhost")
# Development: the built-in webhook-secrets key (tests of the production rule set their own).
os.environ.setdefault("QV_ENV", "development")

__all__ = ["browser", "event_keys", "fresh_database", "infra", "module_database", "page"]
