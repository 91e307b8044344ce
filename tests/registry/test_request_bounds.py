"""Every request field is bounded: oversized text, too many entries, unknown enum values and
out-of-range page sizes are INVALID_ARGUMENT naming the field; a message beyond the size limit
is RESOURCE_EXHAUSTED at once, and none of it delays other callers. Bytes that are not a valid
request are INVALID_ARGUMENT, not UNKNOWN."""

import asyncio
import contextlib
import time
from typing import Any

import grpc
import pytest
from google.type.date_pb2 import Date

from qualverify.registry.v1 import registry_pb2
from services.registry.api.app import RunningRegistry
from services.registry.domain.codes import generate_code
from tests.registry.support import (
    QUALIFICATION,
    error_code,
    refusal,
    secure_channel,
)

pytestmark = pytest.mark.integration

LONG = "x" * 5_000  # well under the message size limit, far over any field's bound
LOOKUP = "/qualverify.registry.v1.RegistryService/LookupCode"


async def test_a_megabyte_search_is_refused_at_once_and_delays_no_one(stub: Any) -> None:
    huge = registry_pb2.SearchCatalogueRequest(text="会计" * 175_000)  # about 1 MB of UTF-8
    assert huge.ByteSize() > 1_000_000
    ordinary = registry_pb2.GetQualificationRequest(qualification_id=QUALIFICATION)

    async def timed(call: Any) -> float:
        started = time.perf_counter()
        with contextlib.suppress(grpc.aio.AioRpcError):
            await call
        return time.perf_counter() - started

    search = asyncio.ensure_future(timed(stub.SearchCatalogue(huge, timeout=30)))
    await asyncio.sleep(0.05)
    others = await asyncio.gather(
        *(timed(stub.GetQualification(ordinary, timeout=30)) for _ in range(5))
    )
    assert max(others) < 1.0, others
    assert await search < 1.0
    error = await refusal(stub.SearchCatalogue(huge, timeout=30))
    assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


async def test_long_search_text_under_the_size_limit_is_an_invalid_argument(stub: Any) -> None:
    error = await refusal(stub.SearchCatalogue(registry_pb2.SearchCatalogueRequest(text=LONG)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith("text: is longer than 200 characters")
    assert "超过 200 个字符" in (error.details() or "")
    assert error_code(error) == "invalid-field"


CODE = str(generate_code())
BOUNDS = [
    ("LookupCode", registry_pb2.LookupCodeRequest(code=LONG), "code"),
    ("GetVerification", registry_pb2.GetVerificationRequest(request_id=LONG), "request_id"),
    (
        "ListHolderVerifications",
        registry_pb2.ListHolderVerificationsRequest(holder_ref="hr-1", limit=1000),
        "limit",
    ),
    (
        "ListHolderVerifications",
        registry_pb2.ListHolderVerificationsRequest(holder_ref="hr-1", cursor=LONG),
        "cursor",
    ),
    ("RevokeCode", registry_pb2.RevokeCodeRequest(code=CODE, reason=LONG), "reason"),
    ("SearchCatalogue", registry_pb2.SearchCatalogueRequest(body=LONG), "body"),
    ("SearchCatalogue", registry_pb2.SearchCatalogueRequest(limit=1000), "limit"),
    ("SearchCatalogue", registry_pb2.SearchCatalogueRequest(list=7), "list"),  # type: ignore[arg-type]
    (
        "GetQualification",
        registry_pb2.GetQualificationRequest(qualification_id=LONG),
        "qualification_id",
    ),
    (
        "WithdrawQualification",
        registry_pb2.WithdrawQualificationRequest(qualification_id="q", reason=LONG),
        "reason",
    ),
    (
        "WithdrawQualification",
        registry_pb2.WithdrawQualificationRequest(
            qualification_id="q", reason="r", withdrawn_on=Date(year=2026, month=13, day=1)
        ),
        "withdrawn_on.month",
    ),
]


@pytest.mark.parametrize(("rpc", "request_", "field"), BOUNDS, ids=[b[2] for b in BOUNDS])
async def test_every_rpc_bounds_its_fields(stub: Any, rpc: str, request_: Any, field: str) -> None:
    error = await refusal(getattr(stub, rpc)(request_, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.details() or "").startswith(f"{field}: "), error.details()


async def test_an_unknown_region_in_a_stream_is_an_invalid_argument(stub: Any) -> None:
    stream = stub.StreamOutcomes(registry_pb2.StreamOutcomesRequest(region=42), timeout=10)  # type: ignore[arg-type]
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("region: has no value 42")


@pytest.mark.parametrize(
    "payload",
    [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x0a\x02\xff\xfe"],
    ids=["not-protobuf", "truncated", "invalid-utf8"],
)
async def test_bytes_that_are_not_a_request_are_invalid_arguments(
    registry: RunningRegistry, payload: bytes
) -> None:
    async with secure_channel(registry.grpc_address, "beijing") as channel:
        raw = channel.unary_unary(LOOKUP, request_serializer=None, response_deserializer=None)
        error = await refusal(raw(payload, timeout=10))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is not a valid protobuf LookupCodeRequest message" in (error.details() or "")
