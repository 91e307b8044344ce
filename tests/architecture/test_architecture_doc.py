"""docs/architecture.md's topic table is the code's: each topic's event, its one producer (the
signing rule and the service that declares the publisher) and its consumers (the services'
FastStream subscribers, by group)."""

import re
from pathlib import Path

from deploy.asyncapi import SERVICE_ROUTERS
from services.contracts.events import EVENT_TYPES
from services.contracts.topics import ALL_TOPICS, PRODUCER_OF

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"
CONSUMER = re.compile(r"(\w+) \((\w+)\)")


def documented() -> dict[str, tuple[str, str, set[tuple[str, str]]]]:
    section = DOC.read_text().split("## Topics", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, tuple[str, str, set[tuple[str, str]]]] = {}
    for line in section.splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip("|").split("|")]
        if len(cells) != 4 or not cells[0].endswith(".v1"):
            continue
        topic, event, producer, consumers = cells
        services = consumers.split(";")[0]  # after ";": systems outside the platform
        rows[topic] = (event, producer, set(CONSUMER.findall(services)))
    return rows


def in_code() -> dict[str, tuple[str, str, set[tuple[str, str]]]]:
    events = {cls.topic.name: name for name, cls in EVENT_TYPES.items()}
    publishers = {
        getattr(publisher, "topic", ""): service
        for service, router in SERVICE_ROUTERS.items()
        for publisher in router.publishers
    }
    rows: dict[str, tuple[str, str, set[tuple[str, str]]]] = {}
    for spec in ALL_TOPICS:
        if spec.name.endswith(".dlq"):
            continue
        assert publishers.get(spec.name) == PRODUCER_OF[spec.name], spec.name
        consumers = {
            (service, getattr(subscriber, "group_id", ""))
            for service, router in SERVICE_ROUTERS.items()
            for subscriber in router.subscribers
            if spec.name in getattr(subscriber, "topic_names", ())
        }
        rows[spec.name] = (events[spec.name], PRODUCER_OF[spec.name], consumers)
    return rows


def test_the_topic_table_is_the_codes() -> None:
    assert documented() == in_code()


def test_every_service_is_in_the_table() -> None:
    named = {
        service
        for _, producer, consumers in documented().values()
        for service in {producer, *(s for s, _ in consumers)}
    }
    assert named == set(SERVICE_ROUTERS)
