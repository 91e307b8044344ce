"""The verifier as a real process on real Kafka, PostgreSQL and the simulator (no registry: it
only consumes the verdicts): every channel, parallel contact, the breaker, a parked enquiry
resuming (by callback and by an operator), and a killed verifier's request finished by another
with one verdict."""

import asyncio
import dataclasses
import hashlib
import hmac
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from deploy.local.platform import Platform, Ports, service_specs
from deploy.local.processes import free_port
from deploy.local.supervisor import ServiceSpec, Supervisor
from services.contracts.events import (
    Event,
    Stage,
    VerdictReached,
    VerificationProgressed,
    VerificationRequested,
)
from services.contracts.topics import VERDICT_REACHED, VERIFICATION_PROGRESSED
from simulator.population import find
from simulator.server import RunningSimulator
from tests.infra import Infra
from tests.kafka_probe import decoded, find_event
from tests.signing import signed
from tests.verifier.support import (
    CALLBACK_SECRET,
    OPERATOR_TOKEN,
    SEED,
    clear_faults,
    request_for,
    set_faults,
    write_channel_book,
)

BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "stk-api": ("credential_api", {}),
    "stk-reg": ("public_register", {}),
    "stk-vc": ("signed_credential", {}),
    "stk-par-a": ("credential_api", {}),
    "stk-par-b": ("credential_api", {}),
    "stk-par-c": ("credential_api", {}),
    "stk-mail": ("async_enquiry", {}),
    "stk-mail-op": ("async_enquiry", {}),
    "stk-mail-late": ("async_enquiry", {"deadline_seconds": 1.5}),
    "stk-down": (
        "credential_api",
        {"failure_threshold": 2, "open_seconds": 1.0, "deadline_seconds": 20},
    ),
    "stk-slow": ("credential_api", {"timeout_seconds": 10, "deadline_seconds": 30}),
}


@dataclass
class Stack:
    infra: Infra
    database_url: str
    simulator: RunningSimulator
    supervisor: Supervisor
    producer: AIOKafkaProducer
    verifier_spec: Callable[[str], ServiceSpec]
    ops_ports: dict[str, int]

    async def publish(self, request: VerificationRequested) -> None:
        value, headers = signed(request)
        await self.producer.send_and_wait(
            request.topic.name, value, key=request.key(), headers=headers
        )

    async def start_verifier(self, name: str) -> None:
        await self.supervisor.start(self.verifier_spec(name))

    async def verdict_row(self, request_id: uuid.UUID, timeout: float = 30) -> asyncpg.Record:
        conn = await asyncpg.connect(self.database_url)
        try:
            async with asyncio.timeout(timeout):
                while True:
                    row = await conn.fetchrow(
                        "SELECT * FROM verifier.verdicts WHERE request_id = $1", request_id
                    )
                    if row is not None:
                        return row
                    await asyncio.sleep(0.1)
        finally:
            await conn.close()

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        conn = await asyncpg.connect(self.database_url)
        try:
            return list(await conn.fetch(query, *args))
        finally:
            await conn.close()

    async def event(
        self, topic: str, matches: Callable[[Event], bool], timeout: float = 30
    ) -> Event:
        return await find_event(self.infra.kafka_bootstrap_servers, topic, matches, timeout)

    async def verdict(self, request_id: uuid.UUID) -> VerdictReached:
        event = await self.event(
            VERDICT_REACHED.name,
            lambda e: isinstance(e, VerdictReached) and e.request_id == request_id,
        )
        assert isinstance(event, VerdictReached)
        return event


@pytest.fixture(scope="module")
async def stack(
    infra: Infra,
    module_database: str,
    simulator: RunningSimulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Stack]:
    root = tmp_path_factory.mktemp("verifier-stack")
    channels = write_channel_book(root / "channels.json", BODIES)
    platform = Platform(infra.kafka_bootstrap_servers, module_database, Ports.free())
    specs = {s.name: s for s in service_specs(platform, root)}
    ops_ports: dict[str, int] = {}

    def verifier_spec(name: str) -> ServiceSpec:
        port = ops_ports.setdefault(name, free_port())
        base = specs["verifier"]
        env = dict(base.env) | {
            "VERIFIER_OPS_PORT": str(port),
            "VERIFIER_BODIES_BASE_URL": simulator.base_url,
            "VERIFIER_CHANNELS_FILE": str(channels),
            "VERIFIER_SMTP_PORT": str(simulator.smtp_port),
            "VERIFIER_CALLBACK_BASE_URL": f"http://127.0.0.1:{port}",
            "VERIFIER_CALLBACK_SECRET": CALLBACK_SECRET,
            "VERIFIER_OPERATOR_TOKEN": OPERATOR_TOKEN,
            "VERIFIER_LEASE_SECONDS": "2",
            "VERIFIER_BACKOFF_BASE_SECONDS": "0.05",
        }
        return dataclasses.replace(
            base,
            name=name,
            env=env,
            health_url=f"http://127.0.0.1:{port}/healthz",
            log_path=Path(root) / f"{name}.log",
        )

    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap_servers)
    await producer.start()
    async with Supervisor() as supervisor:
        running = Stack(
            infra, module_database, simulator, supervisor, producer, verifier_spec, ops_ports
        )
        await running.start_verifier("verifier-a")
        try:
            yield running
        finally:
            await producer.stop()


async def test_every_synchronous_channel_authentic_and_failing(stack: Stack) -> None:
    api, api_revoked = find(SEED, "stk-api"), find(SEED, "stk-api", "revoked")
    reg, reg_expired = find(SEED, "stk-reg"), find(SEED, "stk-reg", "expired")
    vc = find(SEED, "stk-vc")
    async with httpx.AsyncClient(base_url=stack.simulator.base_url) as client:
        genuine = (await client.get(f"/vc/stk-vc/credentials/{vc.certificate_number}.jwt")).text
        tampered = (
            await client.get(
                f"/vc/stk-vc/credentials/{vc.certificate_number}.jwt",
                params={"variant": "tampered"},
            )
        ).text
    cases = [
        (request_for(["stk-api"], api.certificate_number, api.claimed_name), "authentic"),
        (
            request_for(["stk-api"], api_revoked.certificate_number, api_revoked.claimed_name),
            "not_authentic",
        ),
        (request_for(["stk-reg"], reg.certificate_number, reg.claimed_name), "authentic"),
        (
            request_for(["stk-reg"], reg_expired.certificate_number, reg_expired.claimed_name),
            "not_authentic",
        ),
        (
            request_for(
                ["stk-vc"], vc.certificate_number, vc.claimed_name, {"credential_jwt": genuine}
            ),
            "authentic",
        ),
        (
            request_for(
                ["stk-vc"], vc.certificate_number, vc.claimed_name, {"credential_jwt": tampered}
            ),
            "not_authentic",
        ),
    ]
    for request, _ in cases:
        await stack.publish(request)
    for request, expected in cases:
        row = await stack.verdict_row(request.request_id)
        assert row["verdict"] == expected, (request.body_ids, row["checks"])
    verdict = await stack.verdict(cases[0][0].request_id)
    assert [c.body_id for c in verdict.contacts] == ["stk-api"]
    assert verdict.contacts[0].seconds > 0
    # The registry issues the code from this event; only an authentic one names the holder.
    assert verdict.holder_name == api.claimed_name
    assert (await stack.verdict(cases[1][0].request_id)).holder_name is None
    evidence = await stack.fetch(
        "SELECT * FROM verifier.evidence WHERE request_id = $1", cases[5][0].request_id
    )
    assert [(e["body_id"], e["channel"], e["status"]) for e in evidence] == [
        ("stk-vc", "signed_credential", "signature_invalid")
    ]
    assert evidence[0]["answer_digest"] and evidence[0]["asked_at"] is not None
    # No "verifying" progress: a request answered at once says nothing before its verdict.
    progressed = await count_events(
        stack.infra.kafka_bootstrap_servers,
        VERIFICATION_PROGRESSED.name,
        lambda e: isinstance(e, VerificationProgressed) and e.request_id == cases[0][0].request_id,
    )
    assert progressed == 0


async def test_a_three_body_certificate_takes_as_long_as_its_slowest_body(stack: Stack) -> None:
    delays = {"stk-par-a": 300, "stk-par-b": 500, "stk-par-c": 800}
    for body, ms in delays.items():
        await set_faults(stack.simulator.base_url, body, latency_median_ms=ms, latency_p99_ms=ms)
    cert = find(SEED, "stk-par-a")
    request = request_for(list(delays), cert.certificate_number, cert.claimed_name)
    await stack.publish(request)
    row = await stack.verdict_row(request.request_id)
    assert row["verdict"] == "needs_review"  # only stk-par-a knows the number: they disagree
    evidence = await stack.fetch(
        "SELECT body_id, asked_at, seconds FROM verifier.evidence WHERE request_id = $1",
        request.request_id,
    )
    assert {e["body_id"] for e in evidence} == set(delays)
    first_asked = min(e["asked_at"] for e in evidence)
    last_answer = max(e["asked_at"] + timedelta(seconds=e["seconds"]) for e in evidence)
    assert max(e["asked_at"] for e in evidence) - first_asked < timedelta(seconds=0.2)
    span = (last_answer - first_asked).total_seconds()
    assert 0.75 <= span < 1.3, span  # the sum of the three would be 1.6 s
    verdict = await stack.verdict(request.request_id)
    seconds = {c.body_id: c.seconds for c in verdict.contacts}
    assert seconds["stk-par-c"] >= 0.75 and seconds["stk-par-a"] < seconds["stk-par-c"]


async def test_a_down_body_makes_requests_wait_then_they_complete(stack: Stack) -> None:
    body = "stk-down"
    await set_faults(stack.simulator.base_url, body, outage=True)
    cert = find(SEED, body)
    request = request_for([body], cert.certificate_number, cert.claimed_name)
    await stack.publish(request)
    waiting = await stack.event(
        VERIFICATION_PROGRESSED.name,
        lambda e: (
            isinstance(e, VerificationProgressed)
            and e.request_id == request.request_id
            and e.stage == Stage.WAITING_FOR_BODY
        ),
    )
    assert isinstance(waiting, VerificationProgressed)
    assert waiting.expected_completion_at and waiting.note
    await clear_faults(stack.simulator.base_url, body)
    row = await stack.verdict_row(request.request_id)
    assert row["verdict"] == "authentic"


async def test_a_parked_enquiry_resumes_when_the_body_calls_back(stack: Stack) -> None:
    cert = find(SEED, "stk-mail")
    request = request_for(["stk-mail"], cert.certificate_number, cert.claimed_name)
    await stack.publish(request)
    parked = await stack.event(
        VERIFICATION_PROGRESSED.name,
        lambda e: (
            isinstance(e, VerificationProgressed)
            and e.request_id == request.request_id
            and e.stage == Stage.PARKED
        ),
    )
    assert isinstance(parked, VerificationProgressed)
    assert parked.expected_completion_at is not None
    assert parked.expected_completion_at - parked.occurred_at >= timedelta(seconds=2.9)
    row = await stack.verdict_row(request.request_id)  # the simulator answers after ~1 s
    assert row["verdict"] == "authentic"
    verdict = await stack.verdict(request.request_id)
    assert verdict.contacts[0].body_id == "stk-mail" and verdict.contacts[0].seconds >= 0.5
    evidence = await stack.fetch(
        "SELECT status FROM verifier.evidence WHERE request_id = $1 ORDER BY id",
        request.request_id,
    )
    assert [e["status"] for e in evidence] == ["pending", "confirmed"]


async def test_an_operator_enters_the_answer_of_a_telephone_enquiry(stack: Stack) -> None:
    await set_faults(stack.simulator.base_url, "stk-mail-op", enquiry_delay_days=1000)
    cert = find(SEED, "stk-mail-op")
    request = request_for(["stk-mail-op"], cert.certificate_number, cert.claimed_name)
    await stack.publish(request)
    await stack.event(
        VERIFICATION_PROGRESSED.name,
        lambda e: (
            isinstance(e, VerificationProgressed)
            and e.request_id == request.request_id
            and e.stage == Stage.PARKED
        ),
    )
    reference = f"{request.request_id}.stk-mail-op"
    url = f"http://127.0.0.1:{stack.ops_ports['verifier-a']}/v1/enquiries/{reference}"
    answer = {"status": "revoked", "registered_name": cert.holder_name}
    async with httpx.AsyncClient() as client:
        forged = await client.post(
            f"{url}/answer", json=answer, headers={"X-Simulator-Signature": "00" * 32}
        )
        assert forged.status_code == 401
        anonymous = await client.post(f"{url}/operator-answer", json=answer)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        unknown = await client.post(
            url.replace(str(request.request_id), str(uuid.uuid4())) + "/operator-answer",
            json=answer,
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        )
        assert unknown.status_code == 404
        entered = await client.post(
            f"{url}/operator-answer",
            json=answer,
            headers={"Authorization": f"Bearer {OPERATOR_TOKEN}"},
        )
        assert entered.status_code == 200, entered.text
        row = await stack.verdict_row(request.request_id)
        assert row["verdict"] == "not_authentic"
        # A late callback from the body changes nothing: one verdict.
        body = (
            f'{{"reference": "{reference}", "status": "confirmed", '
            f'"registered_name": "{cert.holder_name}"}}'
        ).encode()
        signature = hmac.new(CALLBACK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        late = await client.post(
            f"{url}/answer", content=body, headers={"X-Simulator-Signature": signature}
        )
        assert late.status_code == 200
    await asyncio.sleep(0.5)
    rows = await stack.fetch(
        "SELECT verdict FROM verifier.verdicts WHERE request_id = $1", request.request_id
    )
    assert [r["verdict"] for r in rows] == ["not_authentic"]


async def test_an_enquiry_unanswered_by_its_deadline_is_unable_to_verify(stack: Stack) -> None:
    await set_faults(stack.simulator.base_url, "stk-mail-late", enquiry_delay_days=1000)
    cert = find(SEED, "stk-mail-late")
    request = request_for(["stk-mail-late"], cert.certificate_number, cert.claimed_name)
    await stack.publish(request)
    row = await stack.verdict_row(request.request_id, timeout=20)
    assert row["verdict"] == "unable_to_verify"
    assert "did not answer" in row["checks"]


async def count_events(bootstrap: str, topic: str, matches: Callable[[Event], bool]) -> int:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"count-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    count = 0
    try:
        while True:
            batch = await consumer.getmany(timeout_ms=1500)
            if not batch:
                return count
            for records in batch.values():
                for record in records:
                    event = decoded(record.value, dict(record.headers))
                    if event is not None and matches(event):
                        count += 1
    finally:
        await consumer.stop()


async def test_a_killed_verifiers_request_is_finished_by_another_with_one_verdict(
    stack: Stack,
) -> None:
    body = "stk-slow"
    await set_faults(stack.simulator.base_url, body, latency_median_ms=3000, latency_p99_ms=3000)
    cert = find(SEED, body)
    request = request_for([body], cert.certificate_number, cert.claimed_name)
    await stack.publish(request)
    async with asyncio.timeout(20):
        while not await stack.fetch(
            "SELECT 1 FROM verifier.work WHERE request_id = $1", request.request_id
        ):
            await asyncio.sleep(0.05)
    [first_owner] = await stack.fetch(
        "SELECT owner FROM verifier.work WHERE request_id = $1", request.request_id
    )
    await stack.supervisor.kill("verifier-a")
    await clear_faults(stack.simulator.base_url, body)
    await stack.start_verifier("verifier-b")
    row = await stack.verdict_row(request.request_id, timeout=30)
    assert row["verdict"] == "authentic"
    [work] = await stack.fetch(
        "SELECT owner, state FROM verifier.work WHERE request_id = $1", request.request_id
    )
    assert work["owner"] != first_owner["owner"] and work["state"] == "decided"
    verdicts = await count_events(
        stack.infra.kafka_bootstrap_servers,
        VERDICT_REACHED.name,
        lambda e: isinstance(e, VerdictReached) and e.request_id == request.request_id,
    )
    assert verdicts == 1
