"""A broker outage must not flood the logs: the Kafka client's repeated errors (aiokafka retries
without pause) are rate-limited, our own log lines never are."""

import logging
from collections.abc import Iterator

import orjson
import pytest

from services.runtime.observability import configure_logging


@pytest.fixture
def restored_root_logger() -> Iterator[None]:
    """configure_logging replaces the root logger's handlers: put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.mark.usefixtures("restored_root_logger")
def test_repeated_kafka_client_errors_are_rate_limited(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("test")  # here, so that its handler writes to the captured stdout
    kafka_client = logging.getLogger("aiokafka.client")
    ours = logging.getLogger("services.registry")
    for _ in range(1000):
        kafka_client.error("Unable connect to node with id 1: [Errno 111] Connection refused")
    for n in range(3):
        ours.info("code issued", extra={"n": n})
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    flooded = [line for line in lines if line["logger"] == "aiokafka.client"]
    assert 1 <= len(flooded) <= 2
    assert [line["n"] for line in lines if line["logger"] == "services.registry"] == [0, 1, 2]
