"""The registry over a real grpc.aio channel, against a real PostgreSQL (fixture `infra`)."""

import asyncio
import json
import logging
import os
import signal
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from qualverify.registry.v1 import registry_pb2
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.api.server import SERVICE_NAME
from services.registry.api.servicer import REQUEST_ID_METADATA
from services.registry.domain.codes import (
    CHECK_SYMBOLS,
    VerificationCode,
    generate_code,
    parse_code,
)
from services.registry.domain.errors import RequestConflict
from services.registry.domain.verifications import new_issue_request
from services.registry.store import SCHEMA
from services.registry.store.codes import CodeCollisionError, CodeRepository
from services.runtime.db import create_pool
from services.runtime.observability import request_id_var
from tests.infra import Infra
from tests.registry.support import (
    HOLDER,
    QUALIFICATION,
    VERIFIED_AT,
    error_code,
    issue_request,
    refusal,
    registry_settings,
    secure_channel,
    session_pki,
    trusted_stub,
)

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
async def channel(registry: RunningRegistry) -> AsyncIterator[Any]:
    async with secure_channel(registry.grpc_address, "beijing") as opened:
        yield opened


async def test_issuing_twice_returns_the_same_code(stub: Any) -> None:
    request = issue_request()
    first = await stub.seed(request)
    again = await stub.seed(request)
    assert first.newly_issued and not again.newly_issued
    assert again.code == first.code
    assert first.verification == again.verification
    assert first.verification.request_id == str(request.request_id)
    assert first.verification.holder_name == HOLDER
    assert first.verification.status == registry_pb2.CODE_STATUS_VALID
    assert first.verification.verified_at.ToDatetime(tzinfo=UTC) == VERIFIED_AT
    assert not first.verification.HasField("revoked_at")


async def test_concurrent_issues_for_one_request_get_one_code(stub: Any) -> None:
    request = issue_request()
    responses = await asyncio.gather(*(stub.seed(request) for _ in range(12)))
    assert len({response.code for response in responses}) == 1
    assert sum(response.newly_issued for response in responses) == 1


async def test_reusing_a_request_id_for_another_holder_is_refused(stub: Any) -> None:
    first = await stub.seed(issue_request())
    with pytest.raises(RequestConflict):
        await stub.seed(issue_request(first.verification.request_id, holder_ref="hr-other"))


async def test_lookup_shows_the_masked_name_only(stub: Any) -> None:
    joint: dict[str, Any] = {"qualification_id": "baft-a281b26c", "body_ids": ["libf", "icc"]}
    issued = await stub.seed(issue_request(**joint))
    typed = issued.code.replace("-", "").lower()
    found = await stub.LookupCode(registry_pb2.LookupCodeRequest(code=typed))
    assert found.code == issued.code
    assert found.status == registry_pb2.CODE_STATUS_VALID
    assert found.holder_name_masked == "Z**** W**"
    assert list(found.body_ids) == ["libf", "icc"]
    assert found.qualification_id == "baft-a281b26c"
    assert found.verified_at.ToDatetime(tzinfo=UTC) == VERIFIED_AT
    assert HOLDER not in str(found)


async def test_lookup_with_a_typo_names_the_check_character(stub: Any) -> None:
    issued = await stub.seed(issue_request())
    body, check = issued.code[:-1], issued.code[-1]
    wrong = next(symbol for symbol in CHECK_SYMBOLS if symbol != check)
    error = await refusal(stub.LookupCode(registry_pb2.LookupCodeRequest(code=body + wrong)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert f"check character '{wrong}'" in (error.details() or "")
    assert "校验字符" in (error.details() or "")
    assert error_code(error) == "check-character-mismatch"


@pytest.mark.parametrize("code", ["", "7K3M-Q9XD", "7K3M-Q9XD-2HVR-B8TU-Z"])
async def test_lookup_of_a_malformed_code_is_an_invalid_argument(stub: Any, code: str) -> None:
    error = await refusal(stub.LookupCode(registry_pb2.LookupCodeRequest(code=code)))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_lookup_of_an_unknown_code_is_not_found(stub: Any) -> None:
    unknown = str(generate_code())
    error = await refusal(stub.LookupCode(registry_pb2.LookupCodeRequest(code=unknown)))
    assert error.code() == grpc.StatusCode.NOT_FOUND
    assert error_code(error) == "not-found"


async def test_a_revoked_code_looks_up_as_revoked(stub: Any, registry: RunningRegistry) -> None:
    issued = await stub.seed(issue_request())
    revoked_at = datetime(2025, 7, 1, tzinfo=UTC)
    parsed = parse_code(issued.code)
    assert await registry.codes.revoke(parsed, "certificate withdrawn by ACCA", revoked_at)
    assert await registry.codes.revoke(parsed, "twice", revoked_at) is None
    found = await stub.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code))
    assert found.status == registry_pb2.CODE_STATUS_REVOKED
    assert found.revocation_reason == "certificate withdrawn by ACCA"
    full = await stub.GetVerification(registry_pb2.GetVerificationRequest(code=issued.code))
    assert full.verification.revoked_at.ToDatetime(tzinfo=UTC) == revoked_at


async def test_get_verification_by_request_id_and_by_code(stub: Any) -> None:
    issued = await stub.seed(issue_request(region="tianjin"))
    by_id = await stub.GetVerification(
        registry_pb2.GetVerificationRequest(request_id=issued.verification.request_id)
    )
    by_code = await stub.GetVerification(
        registry_pb2.GetVerificationRequest(code=issued.code.lower())
    )
    assert by_id.verification == by_code.verification == issued.verification
    assert by_id.verification.region == registry_pb2.REGION_TIANJIN
    assert by_id.verification.holder_name == HOLDER


async def test_get_verification_refusals(stub: Any) -> None:
    unknown = await refusal(
        stub.GetVerification(registry_pb2.GetVerificationRequest(request_id=str(uuid.uuid4())))
    )
    assert unknown.code() == grpc.StatusCode.NOT_FOUND
    malformed = await refusal(
        stub.GetVerification(registry_pb2.GetVerificationRequest(request_id="abc"))
    )
    assert malformed.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "must be a UUID" in (malformed.details() or "")
    no_key = await refusal(stub.GetVerification(registry_pb2.GetVerificationRequest()))
    assert no_key.code() == grpc.StatusCode.INVALID_ARGUMENT
    unknown_code = await refusal(
        stub.GetVerification(registry_pb2.GetVerificationRequest(code=str(generate_code())))
    )
    assert unknown_code.code() == grpc.StatusCode.NOT_FOUND


async def test_health_reports_serving(channel: Any) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", SERVICE_NAME):
        reply = await health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    error = await refusal(health.Check(health_pb2.HealthCheckRequest(service="no.such.Service")))
    assert error.code() == grpc.StatusCode.NOT_FOUND


async def test_reflection_lists_the_registry(channel: Any) -> None:
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    call = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    replies = [reply async for reply in call]
    names = {service.name for service in replies[0].list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names


async def test_ops_endpoints(stub: Any, registry: RunningRegistry) -> None:
    issued = await stub.seed(issue_request())
    await stub.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code))
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{registry.ops_port}") as http:
        # Lookups are served at once; readiness waits for Kafka, which connects in the
        # background (the registry keeps serving while Kafka is away).
        async with asyncio.timeout(30):
            while (health := await http.get("/healthz")).status_code != 200:
                await asyncio.sleep(0.2)
        metrics = await http.get("/metrics")
    assert health.json()["checks"] == {"database": True, "kafka": True}
    assert 'registry_rpcs_total{method="LookupCode",outcome="ok"}' in metrics.text


class _Recorder(logging.Handler):
    """Keeps each record with the request id in context when it was logged."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: list[tuple[logging.LogRecord, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append((record, request_id_var.get()))


async def test_logs_carry_the_request_id_and_never_the_name(stub: Any) -> None:
    request = issue_request(holder_name="LIKELYUNIQUE Surname")
    recorder = _Recorder()
    logger = logging.getLogger("services.registry")
    level = logger.level
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    try:
        issued = await stub.seed(request)
        await stub.GetVerification(
            registry_pb2.GetVerificationRequest(request_id=str(request.request_id))
        )
        await stub.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code))
        await refusal(
            stub.LookupCode(
                registry_pb2.LookupCodeRequest(code="bad"),
                metadata=((REQUEST_ID_METADATA, "trace-me"),),
            )
        )
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(level)
    messages = [(record.getMessage(), request_id) for record, request_id in recorder.seen]
    assert messages == [("rpc refused", "trace-me")]
    for record, _ in recorder.seen:
        assert "LIKELYUNIQUE" not in json.dumps(record.__dict__, default=str)


async def test_a_code_collision_draws_another_code(module_database: str, stub: Any) -> None:
    taken = await stub.seed(issue_request())
    drawn = iter([parse_code(taken.code), parse_code(taken.code), VerificationCode(42)])
    pool = await create_pool(module_database, SCHEMA, min_size=1, max_size=1)
    try:
        codes = CodeRepository(pool, new_code=lambda: next(drawn))
        request = new_issue_request(
            request_id=str(uuid.uuid4()),
            qualification_id=QUALIFICATION,
            body_ids=["acca"],
            holder_ref="hr-collision",
            holder_name=HOLDER,
            region="hebei",
            employer_id="e",
            verified_at=VERIFIED_AT,
        )
        issued = await codes.issue(request)
        assert issued.newly_issued and issued.verification.code == VerificationCode(42)

        always_taken = CodeRepository(pool, new_code=lambda: parse_code(taken.code))
        with pytest.raises(CodeCollisionError):
            await always_taken.issue(
                new_issue_request(
                    request_id=str(uuid.uuid4()),
                    qualification_id="q",
                    body_ids=["b"],
                    holder_ref="h",
                    holder_name="n",
                    region="beijing",
                    employer_id="e",
                    verified_at=VERIFIED_AT,
                )
            )
    finally:
        await pool.close()


async def test_database_failures_are_internal_errors_without_details(
    infra: Infra, fresh_database: str
) -> None:
    settings = registry_settings(infra, fresh_database)
    async with (
        running_registry(settings) as running,
        trusted_stub(running.grpc_address, running) as stub,
    ):
        issued = await stub.seed(issue_request())
        connection = await asyncpg.connect(fresh_database)
        try:
            await connection.execute("DROP TABLE registry.verification_codes")
        finally:
            await connection.close()
        error = await refusal(stub.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code)))
        assert error.code() == grpc.StatusCode.INTERNAL
        assert error.details() == "internal error / 内部错误"


async def test_the_registry_waits_for_its_database_instead_of_serving(infra: Infra) -> None:
    settings = registry_settings(infra, "postgresql://postgres@127.0.0.1:1/postgres")
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(3), running_registry(settings):
            raise AssertionError("the registry served without its database")


async def test_the_entry_point_serves_and_stops_on_sigterm(
    infra: Infra, module_database: str
) -> None:
    env = os.environ | {
        "REGISTRY_DATABASE_URL": module_database,
        "REGISTRY_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap_servers,
        "REGISTRY_CONSUMER_GROUP": "registry-entry-point-test",
        "REGISTRY_GRPC_PORT": "0",
        "REGISTRY_OPS_PORT": "0",
        "REGISTRY_PUBLIC_PORT": "0",
        "REGISTRY_GRACE_SECONDS": "1",
        "REGISTRY_TLS_DIR": str(session_pki()),
        "REGISTRY_SIGNING_KEY_PASSPHRASE": "registry-tests",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "services.registry",
        cwd=REPO_ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        serving = await asyncio.wait_for(_log_line(process.stdout, "registry serving"), 30)
        async with secure_channel(serving["grpc_address"], "hebei") as channel:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=SERVICE_NAME)
            )
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        process.send_signal(signal.SIGTERM)
        logged: list[str] = []
        try:
            stopped = await asyncio.wait_for(
                _log_line(process.stdout, "registry stopped", logged), 15
            )
        except TimeoutError:
            raise AssertionError(f"not stopped 15 s after SIGTERM; it logged {logged}") from None
        assert stopped["service"] == "registry"
        assert await asyncio.wait_for(process.wait(), 15) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _log_line(
    stream: asyncio.StreamReader, message: str, logged: list[str] | None = None
) -> dict[str, Any]:
    """The first record of `message`; each record read before it is noted in `logged`."""
    while line := await stream.readline():
        record: dict[str, Any] = json.loads(line)
        if logged is not None:
            logged.append(str(record.get("message")))
        if record.get("message") == message:
            return record
    raise AssertionError(f"the registry exited without logging {message!r}")


async def test_a_holders_verifications_come_in_pages(stub: Any) -> None:
    holder_ref = "hr-pages-" + uuid.uuid4().hex[:8]
    issued = [await stub.seed(issue_request(holder_ref=holder_ref)) for _ in range(5)]
    seen: list[str] = []
    cursor = ""
    while True:
        page = await stub.ListHolderVerifications(
            registry_pb2.ListHolderVerificationsRequest(
                holder_ref=holder_ref, limit=2, cursor=cursor
            )
        )
        seen += [verification.code for verification in page.verifications]
        assert len(page.verifications) <= 2
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert sorted(seen) == sorted(response.code for response in issued)
    assert len(seen) == len(set(seen)) == 5
    bad = await refusal(
        stub.ListHolderVerifications(
            registry_pb2.ListHolderVerificationsRequest(holder_ref=holder_ref, cursor="%%%")
        )
    )
    assert bad.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (bad.details() or "").startswith("cursor: ")


async def test_an_unexpected_failure_is_internal_and_logged_without_its_text(
    stub: Any,
    registry: RunningRegistry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def choke(*_: object) -> None:
        raise ValueError("Zhang San E12345678")

    issued = await stub.seed(issue_request())
    monkeypatch.setattr(registry.codes, "by_code", choke)
    with caplog.at_level(logging.INFO):
        error = await refusal(stub.LookupCode(registry_pb2.LookupCodeRequest(code=issued.code)))
    assert error.code() == grpc.StatusCode.INTERNAL
    failed = [r for r in caplog.records if r.getMessage() == "rpc failed"]
    assert [(r.__dict__["error"], r.exc_info) for r in failed] == [("ValueError", None)]
    logged = "".join(f"{r.getMessage()}{r.__dict__}{r.exc_text}" for r in caplog.records)
    assert "Zhang San" not in logged
    assert "E12345678" not in logged
