"""Helpers shared by the registry's integration tests: settings on free ports, codes seeded
through the store, and stubs that call over mutual TLS as the identity each RPC needs."""

import atexit
import contextlib
import functools
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.type.date_pb2 import Date

from deploy.pki.make_dev_pki import make_dev_pki
from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api import messages
from services.registry.api.app import RunningRegistry
from services.registry.api.status import ERROR_CODE_KEY
from services.registry.domain.issuing import ensure_awarded
from services.registry.domain.verifications import IssueRequest, new_issue_request
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


def issue_request(request_id: str | None = None, **fields: Any) -> IssueRequest:
    """A code to issue, as the registry makes one of an authentic verdict."""
    values: dict[str, Any] = {
        "request_id": request_id or str(uuid.uuid4()),
        "qualification_id": QUALIFICATION,
        "body_ids": ["acca"],
        "holder_ref": "hr-" + uuid.uuid4().hex[:12],
        "holder_name": HOLDER,
        "region": "beijing",
        "employer_id": "91110108MA01ABCD2X",
        "verified_at": VERIFIED_AT,
    }
    return new_issue_request(**(values | fields))


@dataclass(frozen=True)
class Seeded:
    """A code issued for a test, with the verification as the regions read it."""

    code: str
    newly_issued: bool
    verification: registry_pb2.Verification
    statement: str


async def seed_code(registry: RunningRegistry, request: IssueRequest) -> Seeded:
    """Issues a code as the registry does when it concludes an authentic verdict (checked
    against the catalogue, signed), straight through its store: no RPC issues codes."""
    if registry.parts is not None:
        ensure_awarded(registry.parts.catalogue.loaded, request)
    issued = await registry.codes.issue(request)
    verification = issued.verification
    return Seeded(
        code=str(verification.code),
        newly_issued=issued.newly_issued,
        verification=messages.verification_message(verification, personal=True),
        statement=verification.statement or "",
    )


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
    """Calls each RPC as an identity the access table allows to: the operator revokes and
    withdraws, a region streams its own outcomes, Beijing reads the rest. Every call still goes
    through mutual TLS and authorisation. `seed` issues codes through `registry`'s store."""

    def __init__(self, address: str, registry: RunningRegistry | None = None) -> None:
        self._address = address
        self._registry = registry
        self._channels: dict[str, Any] = {}

    async def seed(self, request: IssueRequest) -> Seeded:
        if self._registry is None:
            raise RuntimeError("this stub was made without its registry: it cannot seed codes")
        return await seed_code(self._registry, request)

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
async def trusted_stub(address: str, registry: RunningRegistry | None = None) -> AsyncIterator[Any]:
    stub = TrustedStub(address, registry)
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
