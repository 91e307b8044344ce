"""The checked-in AsyncAPI document is the one the code generates, and it is complete."""

import yaml  # type: ignore[import-untyped]

from services.contracts.asyncapi import DOCUMENT, build, render
from services.contracts.events import EVENT_TYPES
from services.contracts.topics import ALL_TOPICS, OUTCOME_PUBLISHED


def test_checked_in_document_is_up_to_date() -> None:
    assert DOCUMENT.read_text() == render(), (
        "docs/asyncapi.yaml is stale: run `uv run python -m services.contracts.asyncapi`"
    )


def test_every_topic_and_event_is_documented() -> None:
    document = yaml.safe_load(render())
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {topic.name for topic in ALL_TOPICS}
    assert set(EVENT_TYPES) <= set(document["components"]["messages"])
    for name in EVENT_TYPES:
        assert document["components"]["schemas"][name]["type"] == "object"


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
            assert isinstance(target, dict) and part in target, f"dangling {ref}"
            target = target[part]


def test_regional_outcomes_carry_no_name_or_document_number() -> None:
    document = build()
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
    receivers = [
        op["description"]
        for op in document["operations"].values()
        if op["action"] == "receive"
        and op["channel"]["$ref"] == "#/channels/verificationOutcomesV1"
    ]
    assert sorted(receivers) == sorted(
        f"Regional system, consumer group `region-{r}`" for r in ("beijing", "tianjin", "hebei")
    )
    assert document["channels"]["verificationOutcomesV1"]["address"] == OUTCOME_PUBLISHED.name
