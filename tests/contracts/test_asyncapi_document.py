"""The checked-in AsyncAPI document is the one FastStream generates from the services' routers
(deploy/asyncapi.py), and it shows every topic with its one producer and its consumers."""

from collections import defaultdict
from typing import Any
from urllib.parse import unquote

import yaml  # type: ignore[import-untyped]

from deploy.asyncapi import COMMAND, DOCUMENT, build, render
from services.contracts.events import EVENT_TYPES
from services.contracts.topics import ALL_TOPICS, OUTCOME_PUBLISHED, PRODUCER_OF

# The one-way flow (docs/architecture.md): who consumes each topic, by consumer group.
CONSUMERS = {
    "verification.requested.v1": {"verifier", "console"},
    "verification.verdicts.v1": {"registry", "console"},
    "verification.progress.v1": {"intake", "notifier", "console"},
    "verification.results.v1": {"intake", "notifier", "console"},
    "verification.outcomes.v1": {"console", "region-beijing", "region-tianjin", "region-hebei"},
    "catalogue.changes.v1": {"intake", "console"},
    "employer.webhooks.v1": {"notifier"},
    "employer.mail.v1": {"notifier"},
    "employer.replays.v1": {"notifier"},
    "employer.deliveries.v1": {"intake"},
}


def channel_of(document: dict[str, Any], operation: dict[str, Any]) -> dict[str, Any]:
    name = unquote(operation["channel"]["$ref"].removeprefix("#/channels/"))
    channel: dict[str, Any] = document["channels"][name.replace("~1", "/").replace("~0", "~")]
    return channel


def flow(document: dict[str, Any]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Per topic, the services that publish it and the consumer groups that receive it."""
    senders: dict[str, set[str]] = defaultdict(set)
    receivers: dict[str, set[str]] = defaultdict(set)
    for operation in document["operations"].values():
        channel = channel_of(document, operation)
        if operation["action"] == "send":
            servers = {ref["$ref"].removeprefix("#/servers/") for ref in channel["servers"]}
            senders[channel["address"]] |= servers
        else:
            group = operation["bindings"]["kafka"]["groupId"]["enum"]
            receivers[channel["address"]] |= set(group)
    return senders, receivers


def test_checked_in_document_is_up_to_date() -> None:
    assert DOCUMENT.read_text() == render(), f"docs/asyncapi.yaml is stale: run `{COMMAND}`"


def test_every_topic_has_its_owner_as_only_producer_and_its_consumers() -> None:
    senders, receivers = flow(build())
    topics = {topic.name for topic in ALL_TOPICS if not topic.name.endswith(".dlq")}
    assert set(CONSUMERS) == topics
    for topic in sorted(topics):
        assert senders[topic] == {PRODUCER_OF[topic]}, topic
        assert receivers[topic] == CONSUMERS[topic], topic


def test_every_event_has_its_schema_and_the_signature_headers() -> None:
    document = build()
    schemas = document["components"]["schemas"]
    assert set(EVENT_TYPES) <= set(schemas)
    for name in EVENT_TYPES:
        assert schemas[name]["type"] == "object"
    assert {"qv-signer", "qv-signature"} <= set(schemas["EventHeaders"]["required"])
    for message in document["components"]["messages"].values():
        assert message["headers"] == {"$ref": "#/components/schemas/EventHeaders"}


def test_references_all_resolve() -> None:
    document = build()

    def refs(node: object) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for item in node for r in refs(item)]
        return []

    for ref in refs(document):
        target: object = document
        for part in ref.removeprefix("#/").split("/"):
            key = unquote(part).replace("~1", "/").replace("~0", "~")
            assert isinstance(target, dict) and key in target, f"dangling {ref}"
            target = target[key]


def test_regional_outcomes_carry_no_name_or_document_number() -> None:
    document = yaml.safe_load(render())
    schema = document["components"]["schemas"]["OutcomePublished"]
    assert set(schema["properties"]) == {
        "event_id",
        "occurred_at",
        "request_id",
        "region",
        "qualification_id",
        "holder_ref",
        "verdict",
        "verification_code",
        "decided_at",
    }
    regional = [
        channel
        for channel in document["channels"].values()
        if channel["servers"] == [{"$ref": "#/servers/regions"}]
    ]
    assert len(regional) == 3
    for channel in regional:
        assert channel["address"] == OUTCOME_PUBLISHED.name
        assert "no name and no identity document number" in channel["description"]
