"""The console's registry adapter against a real registry over mutual TLS (real PostgreSQL):
every method, and each failure turned into its domain error with both languages."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from qualverify.registry.v1 import registry_pb2
from services.console.adapters.registry import RegistryOperator, problem_of
from services.console.domain.registry import (
    AccessScope,
    CodeStatus,
    RegistryForbidden,
    RegistryInvalid,
    RegistryNotFound,
    RegistryUnavailable,
)
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.domain.codes import generate_code
from tests.infra import Infra
from tests.registry.support import issue_request, registry_settings, session_pki, trusted_stub

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database, subscriber_write_seconds=0.2)
    async with running_registry(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def stub(registry: RunningRegistry) -> AsyncIterator[Any]:
    async with trusted_stub(registry.grpc_address, registry) as routed:
        yield routed


@pytest.fixture(scope="module")
async def operator(registry: RunningRegistry) -> AsyncIterator[RegistryOperator]:
    client = RegistryOperator.connect(registry.grpc_address, session_pki())
    yield client
    await client.close()


async def issued(stub: Any) -> str:
    return str((await stub.seed(issue_request(region="tianjin"))).code)


async def test_a_code_is_read_masked_then_revoked_and_its_trail_shows_both(
    stub: Any, operator: RegistryOperator
) -> None:
    code = await issued(stub)
    looked_up = await operator.lookup(code.replace("-", "").lower())
    assert looked_up.code == code and looked_up.status is CodeStatus.VALID
    assert looked_up.holder_name_masked == "Z**** W**" and looked_up.region is None

    record = await operator.verification(code)
    assert record.region == "tianjin" and record.body_ids == ("acca",)
    assert record.qualification_id == "acca-f491547a"
    assert record.holder_name_masked == "Z**** W**"  # never the name in full
    assert record.verified_at is not None and record.revoked_at is None

    revoked = await operator.revoke(code, "  the body withdrew   the certificate ")
    assert revoked.status is CodeStatus.REVOKED
    assert revoked.revocation_reason == "the body withdrew the certificate"
    assert revoked.revoked_at is not None

    trail = await operator.access_trail(code)
    assert [(a.method, a.identity, a.outcome) for a in trail.accesses] == [
        ("RevokeCode", "operator", "revoked"),
        ("GetVerification", "operator", "found"),
        ("LookupCode", "operator", "found"),
    ]
    assert all(a.scope is AccessScope.CODE and a.at is not None for a in trail.accesses)
    assert trail.next_cursor is None

    first = await operator.access_trail(code, limit=2)
    rest = await operator.access_trail(code, limit=2, cursor=first.next_cursor)
    assert first.accesses + rest.accesses == trail.accesses and rest.next_cursor is None


async def test_missing_and_malformed_codes_are_domain_errors(operator: RegistryOperator) -> None:
    with pytest.raises(RegistryNotFound) as unknown:
        await operator.verification(str(generate_code()))
    assert unknown.value.message_en and unknown.value.message_zh == "未签发过该核验码"
    with pytest.raises(RegistryNotFound):
        await operator.access_trail(str(generate_code()))
    with pytest.raises(RegistryInvalid) as malformed:
        await operator.lookup("not a code")
    assert "code" in malformed.value.message_en and malformed.value.message_zh
    with pytest.raises(RegistryInvalid):
        await operator.access_trail(str(generate_code()), cursor="bogus")


async def test_a_reason_is_required_before_anything_is_sent(
    stub: Any, operator: RegistryOperator
) -> None:
    code = await issued(stub)
    for reason in ("", "   ", "x" * 201):
        with pytest.raises(RegistryInvalid):
            await operator.revoke(code, reason)
    assert (await operator.verification(code)).status is CodeStatus.VALID


async def test_subscribers_are_listed_while_a_region_streams(
    operator: RegistryOperator, registry: RunningRegistry
) -> None:
    async with trusted_stub(registry.grpc_address) as regions:
        stream = regions.StreamOutcomes(
            registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_HEBEI, after_cursor=0)
        )
        reading = asyncio.create_task(anext(aiter(stream), None))
        try:
            async with asyncio.timeout(10):
                while not [s for s in await operator.subscribers("hebei") if s.connected]:
                    await asyncio.sleep(0.1)
        finally:
            stream.cancel()
            reading.cancel()
    listed = [s for s in await operator.subscribers("hebei") if s.identity == "hebei"]
    assert listed and listed[0].region == "hebei" and listed[0].connected_at is not None
    assert all(s.region == "hebei" for s in await operator.subscribers("hebei"))
    with pytest.raises(RegistryInvalid):
        await operator.subscribers("shanghai")


async def test_the_whole_catalogue_is_listed_and_a_qualification_withdrawn(
    operator: RegistryOperator,
) -> None:
    catalogue = await operator.qualifications()
    assert len(catalogue) == 163  # the 2025 edition, across two pages
    assert len({q.id for q in catalogue}) == 163
    aws = next(q for q in catalogue if q.id == "aws-e94e5145")
    assert aws.body_ids == ("aws",) and aws.name and not aws.withdrawn

    later = datetime.now(UTC).date() + timedelta(days=30)
    scheduled = await operator.withdraw("aws-e94e5145", later, "superseded in the next edition")
    assert scheduled.withdrawn_on == later and not scheduled.withdrawn
    assert scheduled.withdrawal_reason == "superseded in the next edition"
    listed = {q.id: q for q in await operator.qualifications()}
    assert listed["aws-e94e5145"].withdrawn_on == later  # withdrawn ones stay listed

    with pytest.raises(RegistryInvalid) as again:  # a withdrawal is never overwritten
        await operator.withdraw("aws-e94e5145", None, "again")
    assert again.value.message_zh
    with pytest.raises(RegistryNotFound):
        await operator.withdraw("no-such-" + uuid.uuid4().hex[:6], date(2026, 1, 1), "reason")


async def test_another_identity_is_forbidden_and_still_sees_no_name_in_full(
    registry: RunningRegistry, stub: Any, tmp_path: Path
) -> None:
    # A certificate of the platform's CA whose common name is not "operator" is refused.
    pki = session_pki()
    other = tmp_path / "pki"
    other.mkdir()
    (other / "ca.pem").write_bytes((pki / "ca.pem").read_bytes())
    (other / "operator.pem").write_bytes((pki / "hebei.pem").read_bytes())
    (other / "operator-key.pem").write_bytes((pki / "hebei-key.pem").read_bytes())
    client = RegistryOperator.connect(registry.grpc_address, other)
    try:
        with pytest.raises(RegistryForbidden) as refused:
            await client.access_trail(str(generate_code()))
        assert "CONSOLE_REGISTRY_TLS_DIR" in refused.value.message_en
        # A region may read verifications in full; the console masks the name all the same.
        record = await client.verification(await issued(stub))
        assert record.holder_name_masked == "Z**** W**"
    finally:
        await client.close()


async def test_a_registry_that_does_not_answer_is_unavailable() -> None:
    client = RegistryOperator.connect("127.0.0.1:9", session_pki(), timeout_seconds=2)
    try:
        with pytest.raises(RegistryUnavailable) as away:
            await client.lookup(str(generate_code()))
        assert away.value.message_zh == "注册中心暂无响应，请稍后再试"
    finally:
        await client.close()


def test_the_registrys_two_languages_are_kept_apart() -> None:
    invalid = problem_of(grpc.StatusCode.INVALID_ARGUMENT, "reason: is required / reason：不能为空")
    assert isinstance(invalid, RegistryInvalid)
    assert (invalid.message_en, invalid.message_zh) == ("reason: is required", "reason：不能为空")
    bare = problem_of(grpc.StatusCode.NOT_FOUND, "")
    assert isinstance(bare, RegistryNotFound) and bare.message_zh == "注册中心中不存在"
    assert isinstance(problem_of(grpc.StatusCode.DEADLINE_EXCEEDED, ""), RegistryUnavailable)
    assert isinstance(problem_of(grpc.StatusCode.INTERNAL, "boom"), RegistryUnavailable)
