"""Helpers shared by the registry's integration tests: settings on free ports, issue requests."""

import uuid
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from qualverify.registry.v1 import registry_pb2
from services.registry.api.status import ERROR_CODE_KEY
from services.registry.settings import RegistrySettings
from tests.infra import Infra

HOLDER = "ZHANG Wei"
VERIFIED_AT = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)


def registry_settings(infra: Infra, database_url: str, **overrides: Any) -> RegistrySettings:
    """Free ports, this session's Kafka, a consumer group of its own, a short grace period."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "kafka_bootstrap_servers": infra.kafka_bootstrap_servers,
        "consumer_group": f"registry-test-{uuid.uuid4().hex[:8]}",
        "grpc_port": 0,
        "ops_port": 0,
        "public_port": 0,
        "grace_seconds": 1,
        "stream_poll_seconds": 0.5,
    }
    return RegistrySettings(**(values | overrides))


def issue_request(request_id: str | None = None, **fields: Any) -> registry_pb2.IssueCodeRequest:
    verified_at = Timestamp()
    verified_at.FromDatetime(VERIFIED_AT)
    values: dict[str, Any] = {
        "request_id": request_id or str(uuid.uuid4()),
        "qualification_id": "int-acca",
        "body_ids": ["acca"],
        "holder_ref": "hr-" + uuid.uuid4().hex[:12],
        "holder_name": HOLDER,
        "region": "beijing",
        "employer_id": "91110108MA01ABCD2X",
        "verified_at": verified_at,
    }
    return registry_pb2.IssueCodeRequest(**(values | fields))


async def refusal(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def error_code(error: grpc.aio.AioRpcError) -> str | None:
    return dict(error.trailing_metadata() or ()).get(ERROR_CODE_KEY)
