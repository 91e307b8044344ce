"""Shared fixtures for every test: the infrastructure (Kafka, PostgreSQL) and fresh databases.

See tests/infra.py for how the infrastructure is chosen (external, testcontainers, local).
"""

import os

import pytest

import deploy.local  # noqa: F401  (sets GRPC_ENABLE_FORK_SUPPORT before grpc is imported)
from tests.browser import browser, page
from tests.infra import event_keys, fresh_database, infra, module_database
from tests.kafka_cluster import _session_cluster, secured_cluster

# The development egress allow-list, as `make run` sets it: receivers and the simulator run on
# this machine. Tests of the production rule build their policy without it.
os.environ.setdefault("QV_EGRESS_ALLOW", "127.0.0.1,::1,localhost")
# Development: the built-in webhook-secrets key (tests of the production rule set their own).
os.environ.setdefault("QV_ENV", "development")

__all__ = [
    "_session_cluster",
    "browser",
    "event_keys",
    "fresh_database",
    "infra",
    "module_database",
    "page",
    "secured_cluster",
]


# What makes a test more than a unit test: real Kafka or PostgreSQL, or a real browser.
_INTEGRATION_FIXTURES = frozenset({"infra", "browser", "secured_cluster"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses those fixtures, however indirectly, is marked `integration`, so the
    fast lane (`make unit`: neither integration nor e2e) never waits for them."""
    for item in items:
        if _INTEGRATION_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.integration)
