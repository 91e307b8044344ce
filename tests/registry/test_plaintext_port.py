"""The plaintext port is an explicit opt-in (REGISTRY_PLAINTEXT_PORT), and a caller there is
anonymous: it may look a code up (masked name) and read the catalogue, nothing else."""

from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api.app import RunningRegistry, running_registry
from tests.infra import Infra
from tests.registry.support import (
    HOLDER,
    QUALIFICATION,
    issue_request,
    refusal,
    registry_settings,
    trusted_stub,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database, plaintext_port=0)
    async with running_registry(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def trusted(registry: RunningRegistry) -> AsyncIterator[Any]:
    async with trusted_stub(registry.grpc_address, registry) as routed:
        yield routed


@pytest.fixture(scope="module")
async def anonymous(registry: RunningRegistry) -> AsyncIterator[Any]:
    address = registry.grpc.plaintext_address
    assert address is not None
    async with grpc.aio.insecure_channel(address) as channel:
        yield registry_pb2_grpc.RegistryServiceStub(channel)


async def test_an_anonymous_caller_looks_codes_up_at_public_detail(
    anonymous: Any, trusted: Any
) -> None:
    issued = await trusted.seed(issue_request())
    found = await anonymous.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code))
    assert found.status == registry_pb2.CODE_STATUS_VALID
    assert found.holder_name_masked == "Z**** W**"
    assert HOLDER not in str(found)


async def test_an_anonymous_caller_reads_the_catalogue(anonymous: Any) -> None:
    found = await anonymous.GetQualification(
        registry_pb2.GetQualificationRequest(qualification_id=QUALIFICATION)
    )
    assert found.qualification.id == QUALIFICATION
    page = await anonymous.SearchCatalogue(registry_pb2.SearchCatalogueRequest(text="ACCA"))
    assert page.total >= 1


OPERATIONS: dict[str, Callable[[str], Message]] = {
    "RevokeCode": lambda code: registry_pb2.RevokeCodeRequest(code=code, reason="anyone"),
    "WithdrawQualification": lambda code: registry_pb2.WithdrawQualificationRequest(
        qualification_id=QUALIFICATION, reason="anyone"
    ),
    "RotateSigningKey": lambda code: registry_pb2.RotateSigningKeyRequest(),
    "GetVerification": lambda code: registry_pb2.GetVerificationRequest(code=code),
    "ListHolderVerifications": lambda code: registry_pb2.ListHolderVerificationsRequest(
        holder_ref="hr-anyone"
    ),
}


@pytest.mark.parametrize("rpc", sorted(OPERATIONS))
async def test_an_anonymous_caller_may_do_nothing_else(
    anonymous: Any, trusted: Any, rpc: str
) -> None:
    issued = await trusted.seed(issue_request())
    error = await refusal(getattr(anonymous, rpc)(OPERATIONS[rpc](issued.code), timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'anonymous' may not call" in (error.details() or "")
    unchanged = await trusted.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code))
    assert unchanged.status == registry_pb2.CODE_STATUS_VALID
    qualification = await trusted.GetQualification(
        registry_pb2.GetQualificationRequest(qualification_id=QUALIFICATION)
    )
    assert not qualification.qualification.withdrawn


async def test_an_anonymous_caller_may_not_stream_outcomes(anonymous: Any) -> None:
    stream = anonymous.StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_BEIJING), timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_without_the_opt_in_there_is_no_plaintext_port(
    infra: Infra, module_database: str
) -> None:
    async with running_registry(registry_settings(infra, module_database)) as running:
        assert running.grpc.plaintext_address is None
        async with grpc.aio.insecure_channel(running.grpc_address) as channel:
            error = await refusal(
                registry_pb2_grpc.RegistryServiceStub(channel).LookupCode(
                    registry_pb2.LookupCodeRequest(code="x"), timeout=5
                )
            )
        assert error.code() == grpc.StatusCode.UNAVAILABLE  # the TLS port wants a handshake
