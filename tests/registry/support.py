"""Helpers shared by the registry's integration tests: settings on free ports, issue requests,
and stubs that call over mutual TLS as the identity each RPC needs."""

import atexit
import contextlib
import functools
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from google.type.date_pb2 import Date

from deploy.pki.make_dev_pki import make_dev_pki
from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api.status import ERROR_CODE_KEY
from services.registry.domain.verifications import new_issue_request
from services.registry.settings import RegistrySettings
from services.registry.store.codes import CodeRepository
from tests.infra import Infra

HOLDER = "ZHANG Wei"
QUALIFICATION = "acca-f491547a"  # ACCA, awarded by "acca" alone
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
        "tls_dir": session_pki(),
        "signing_key_passphrase": "registry-tests",
    }
    return RegistrySettings(**(values | overrides))


def issue_request(request_id: str | None = None, **fields: Any) -> registry_pb2.IssueCodeRequest:
    verified_at = Timestamp()
    verified_at.FromDatetime(VERIFIED_AT)
    values: dict[str, Any] = {
        "request_id": request_id or str(uuid.uuid4()),
        "qualification_id": QUALIFICATION,
        "body_ids": ["acca"],
        "holder_ref": "hr-" + uuid.uuid4().hex[:12],
        "holder_name": HOLDER,
        "region": "beijing",
        "employer_id": "91110108MA01ABCD2X",
        "verified_at": verified_at,
    }
    values |= fields
    values["region"] = region_value(values["region"])
    return registry_pb2.IssueCodeRequest(**values)


def date_message(day: date) -> Date:
    return Date(year=day.year, month=day.month, day=day.day)


def region_value(region: str) -> registry_pb2.Region.ValueType:
    """The Region enum value of "beijing" etc.; "" is REGION_UNSPECIFIED."""
    if not region:
        return registry_pb2.REGION_UNSPECIFIED
    return registry_pb2.Region.Value(f"REGION_{region.upper()}")


@functools.cache
def session_pki() -> Path:
    """One development PKI (CA, registry, regions, operator, verifier) for the test session."""
    directory = Path(tempfile.mkdtemp(prefix="qv-test-pki-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    return make_dev_pki(directory)


def secure_channel(address: str, identity: str, pki: Path | None = None) -> Any:
    """A grpc.aio channel presenting `<identity>.pem` of the test PKI (or of `pki`)."""
    directory = pki or session_pki()
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(session_pki() / "ca.pem").read_bytes(),
        private_key=(directory / f"{identity}-key.pem").read_bytes(),
        certificate_chain=(directory / f"{identity}.pem").read_bytes(),
    )
    return grpc.aio.secure_channel(address, credentials)


_CALLER_OF: dict[str, str] = {
    "IssueCode": "verifier",
    "RevokeCode": "operator",
    "WithdrawQualification": "operator",
    "RotateSigningKey": "operator",
    "ListCodeAccess": "operator",
    "ListOutcomeSubscribers": "operator",
}


_REGION_NAMES = {
    registry_pb2.REGION_BEIJING: "beijing",
    registry_pb2.REGION_TIANJIN: "tianjin",
    registry_pb2.REGION_HEBEI: "hebei",
}


class TrustedStub:
    """Calls each RPC as an identity the access table allows to: the verifier issues, the
    operator revokes and withdraws, a region streams its own outcomes, Beijing reads the rest.
    Every call still goes through mutual TLS and authorisation."""

    def __init__(self, address: str) -> None:
        self._address = address
        self._channels: dict[str, Any] = {}

    def as_identity(self, identity: str) -> Any:
        if identity not in self._channels:
            self._channels[identity] = secure_channel(self._address, identity)
        return registry_pb2_grpc.RegistryServiceStub(self._channels[identity])

    def __getattr__(self, rpc: str) -> Callable[..., Any]:
        def call(request: Any, *args: Any, **kwargs: Any) -> Any:
            identity = _CALLER_OF.get(rpc, "beijing")
            if rpc == "StreamOutcomes" and request.region in _REGION_NAMES:
                identity = _REGION_NAMES[request.region]
            return getattr(self.as_identity(identity), rpc)(request, *args, **kwargs)

        return call

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close()


@contextlib.asynccontextmanager
async def trusted_stub(address: str) -> AsyncIterator[Any]:
    stub = TrustedStub(address)
    try:
        yield stub
    finally:
        await stub.close()


async def refusal(call: Any) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return caught.value


def error_code(error: grpc.aio.AioRpcError) -> str | None:
    return dict(error.trailing_metadata() or ()).get(ERROR_CODE_KEY)


async def issue_code(codes: CodeRepository) -> str:
    """Issues a code for a fresh AWS verification straight through the repository."""
    request = new_issue_request(
        request_id=str(uuid.uuid4()),
        qualification_id="aws-e94e5145",
        body_ids=["aws"],
        holder_ref="f" * 64,
        holder_name="Kenji Nguyen",
        region="beijing",
        employer_id=str(uuid.uuid4()),
        verified_at=datetime.now(UTC),
    )
    return str((await codes.issue(request)).verification.code)
