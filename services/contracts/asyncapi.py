"""The AsyncAPI 3.0 document of every Kafka topic, generated from the code.

Topics come from `topics.py`, message payloads from the pydantic event schemas, so the
document cannot drift from what is published. Regenerate after changing either:

    uv run python -m services.contracts.asyncapi            # writes docs/asyncapi.yaml
    uv run python -m services.contracts.asyncapi --check    # fails if the file is stale
"""

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; it comes with uvicorn

from services.contracts.events import EVENT_TYPES, Event
from services.contracts.topics import ALL_TOPICS, TopicSpec

DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
REF = "#/components/schemas/{model}"

PRODUCERS = {
    "VerificationRequested": "intake",
    "VerificationProgressed": "verifier",
    "VerdictReached": "verifier",
    "OutcomePublished": "notifier",
    "EmployerWebhooksConfigured": "intake",
    "AccountMailRequested": "intake",
    "QualificationWithdrawn": "registry",
}
REGIONAL_GROUPS = ("region-beijing", "region-tianjin", "region-hebei")

OUTCOME_FIELDS = """\
Every regional system (Beijing, Tianjin, Hebei) consumes every outcome with its own consumer
group (`region-beijing`, `region-tianjin`, `region-hebei`), each from its own offsets. A region
gets only what it needs: the request id, the region the employer named, the qualification,
the verdict, the verification code (authentic certificates only) and the decision time. The
holder appears only as `holder_ref`, a keyed hash of the identity document (the record key, so
one holder's outcomes stay in order); no name and no identity document number is published.
A region needing the holder's masked name looks the code up over gRPC (`LookupCode`).
"""

HEADERS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["event-type", "schema-version", "event-id", "qv-signer", "qv-signature"],
    "properties": {
        "event-type": {"type": "string", "description": "Class name of the event"},
        "schema-version": {"type": "string", "description": "Version of that event's schema"},
        "event-id": {"type": "string", "format": "uuid", "description": "De-duplication key"},
        "traceparent": {"type": "string", "description": "W3C trace context"},
        "qv-signer": {
            "type": "string",
            "description": "The producing service; consumers accept only the topic's owner",
        },
        "qv-signature": {
            "type": "string",
            "description": (
                "Base64 Ed25519 signature of the signer over topic, key, value and the other "
                "headers (docs/event-authenticity.md)"
            ),
        },
    },
}


def build() -> dict[str, Any]:
    schemas: dict[str, Any] = {"EventHeaders": HEADERS_SCHEMA}
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    by_topic: dict[str, list[type[Event]]] = {}
    for name, cls in sorted(EVENT_TYPES.items()):
        by_topic.setdefault(cls.topic.name, []).append(cls)
        messages[name] = _message(name, cls, schemas)
    for topic in ALL_TOPICS:
        channel_id = _channel_id(topic)
        events = by_topic.get(topic.name, [])
        channels[channel_id] = _channel(topic, [cls.__name__ for cls in events])
        for cls in events:
            operations[f"publish{cls.__name__}"] = _operation(
                "send", channel_id, cls.__name__, f"Published by {PRODUCERS.get(cls.__name__)}"
            )
    for group in REGIONAL_GROUPS:
        operations[f"consumeOutcomes_{group.replace('-', '_')}"] = _operation(
            "receive",
            "verificationOutcomesV1",
            "OutcomePublished",
            f"Regional system, consumer group `{group}`",
        )
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Qualification verification platform — events",
            "version": "1.0.0",
            "description": (
                "Kafka topics of the Beijing–Tianjin–Hebei verification platform. Each record "
                "is a JSON event; its type and schema version travel in headers. A schema "
                "changes only compatibly (new optional fields); an incompatible change is a new "
                "topic (`.v2`). Consumers de-duplicate by `event-id`."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "local": {"host": "127.0.0.1:19092", "protocol": "kafka", "description": "make run"}
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def _channel_id(topic: TopicSpec) -> str:
    words = topic.name.replace("-", ".").split(".")
    return words[0] + "".join(w[:1].upper() + w[1:] for w in words[1:])


def _channel(topic: TopicSpec, event_names: list[str]) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "address": topic.name,
        "messages": {n: {"$ref": f"#/components/messages/{n}"} for n in event_names},
        "bindings": {
            "kafka": {
                "bindingVersion": "0.5.0",
                "topic": topic.name,
                "partitions": topic.partitions,
            }
        },
        "x-topic-configs": dict(sorted(topic.configs.items())),
    }
    if topic.name.endswith(".dlq"):
        channel["description"] = (
            "Dead-letter topic: records a consumer could not decode or handle, parked with a "
            "`dead-letter-reason` header, never dropped."
        )
    elif topic.name == "verification.outcomes.v1":
        channel["description"] = " ".join(OUTCOME_FIELDS.split())
    return channel


def _message(name: str, cls: type[Event], schemas: dict[str, Any]) -> dict[str, Any]:
    payload = cls.model_json_schema(ref_template=REF)
    schemas.update(payload.pop("$defs", {}))
    schemas[name] = payload
    return {
        "name": name,
        "title": name,
        "summary": (cls.__doc__ or name).strip().splitlines()[0],
        "contentType": "application/json",
        "headers": {"$ref": "#/components/schemas/EventHeaders"},
        "payload": {"$ref": f"#/components/schemas/{name}"},
        "bindings": {"kafka": {"bindingVersion": "0.5.0", "key": {"type": "string"}}},
        "x-schema-version": cls.schema_version,
    }


def _operation(action: str, channel_id: str, message: str, description: str) -> dict[str, Any]:
    return {
        "action": action,
        "description": description,
        "channel": {"$ref": f"#/channels/{channel_id}"},
        "messages": [{"$ref": f"#/channels/{channel_id}/messages/{message}"}],
    }


def render() -> str:
    text: str = yaml.safe_dump(build(), sort_keys=False, allow_unicode=True, width=100)
    return "# Generated by `python -m services.contracts.asyncapi`; do not edit.\n" + text


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m services.contracts.asyncapi")
    parser.add_argument("--check", action="store_true", help="fail if the file is stale")
    parser.add_argument("--output", type=Path, default=DOCUMENT)
    args = parser.parse_args()
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            sys.exit(f"{args.output} is stale: run python -m services.contracts.asyncapi")
        return
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
