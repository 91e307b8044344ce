"""A steady stream of verifications through intake while something is killed, and the checks
that nothing was lost or done twice: shared by the replica and broker-loss tests."""

import asyncio
import itertools
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import orjson
from aiokafka import AIOKafkaConsumer
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from deploy.local.processes import free_port
from services.contracts.events import OutcomePublished
from services.contracts.topics import OUTCOME_PUBLISHED
from services.intake.admin import register_employer
from services.runtime.kafka_cluster import DEVELOPMENT, KafkaCluster
from services.runtime.lifecycle import http_server
from simulator.population import population_for
from simulator.settings import SimulatorSettings
from tests.kafka_probe import decoded

FINAL = {"authentic", "not_authentic", "unable_to_verify", "needs_review"}
COMPLETED = "verification.completed"
# What a client does when intake is away or dies mid-request: the same request again, with the
# same Idempotency-Key, until it is answered.
RETRIED_STATUSES = {502, 503, 504}


@dataclass(frozen=True)
class Hook:
    webhook_id: str
    type: str
    request_id: str
    arrived: float  # time.monotonic()


@dataclass
class HookLog:
    """The employer's webhook receiver: every webhook that arrives, duplicates included."""

    url: str
    hooks: list[Hook] = field(default_factory=list)

    async def receive(self, request: Request) -> Response:
        message = orjson.loads(await request.body())
        self.hooks.append(
            Hook(
                request.headers["webhook-id"],
                message["type"],
                str(message["data"]["request_id"]),
                time.monotonic(),
            )
        )
        return Response(status_code=204)

    def completed_at(self) -> dict[str, float]:
        """When each request's completion first arrived."""
        first: dict[str, float] = {}
        for hook in self.hooks:
            if hook.type == COMPLETED:
                first.setdefault(hook.request_id, hook.arrived)
        return first


@asynccontextmanager
async def hook_log() -> AsyncIterator[HookLog]:
    port = free_port()
    log = HookLog(f"http://127.0.0.1:{port}/hooks")
    server = http_server(
        Starlette(routes=[Route("/hooks", log.receive, methods=["POST"])]), "127.0.0.1", port
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield log
    finally:
        server.should_exit = True
        await task


def applications(region: str = "tianjin") -> list[dict[str, Any]]:
    """Every AWS certificate the simulator knows (200: authentic ones and others), each once:
    an identical application in flight would be folded into the first by intake anyway."""
    return [
        {
            "qualification_id": "aws-e94e5145",
            "region": region,
            "holder": {
                "name": certificate.claimed_name,
                "nationality": "CHN",
                "document_type": "resident_id",
                "document_number": "11010519491231002X",
            },
            "certificate": {
                "number": certificate.certificate_number,
                "issued_on": certificate.issued_on.isoformat(),
            },
            "consent": True,
        }
        for certificate in population_for(SimulatorSettings().seed, "aws")
    ]


@dataclass
class Submitted:
    """What the client learnt: request id by Idempotency-Key, and how often it had to retry."""

    ids: dict[str, str] = field(default_factory=dict)
    retries: int = 0
    answered_200: int = 0  # an earlier attempt had created it (or the identical one in flight)


async def submit_steadily(
    client: httpx.AsyncClient,
    bodies: Sequence[dict[str, Any]],
    per_second: float,
    during: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> Submitted:
    """Submits each body once at a steady pace, each retried until answered with its own
    Idempotency-Key. `during()` runs beside the stream (the test's kills)."""
    submitted = Submitted()
    started = time.monotonic()

    async def submit(index: int, body: dict[str, Any]) -> None:
        await asyncio.sleep(max(0.0, started + index / per_second - time.monotonic()))
        key = f"steady-{uuid.uuid4()}"
        async with asyncio.timeout(90):
            while True:
                try:
                    response = await client.post(
                        "/v1/verifications", json=body, headers={"Idempotency-Key": key}
                    )
                except httpx.TransportError:
                    response = None
                if response is not None and response.status_code not in RETRIED_STATUSES:
                    break
                submitted.retries += 1
                await asyncio.sleep(0.2)
        assert response.status_code in (200, 202), response.text
        submitted.answered_200 += response.status_code == 200
        submitted.ids[key] = response.json()["id"]

    async with asyncio.TaskGroup() as group:
        for index, body in enumerate(bodies):
            group.create_task(submit(index, body))
        if during is not None:
            group.create_task(during())
    return submitted


async def await_results(
    client: httpx.AsyncClient, request_ids: Sequence[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Each request's final result as intake shows it (retried while a replica dies)."""
    results: dict[str, dict[str, Any]] = {}
    async with asyncio.timeout(timeout):
        while len(results) < len(request_ids):
            for request_id in set(request_ids) - results.keys():
                try:
                    response = await client.get(f"/v1/verifications/{request_id}")
                except httpx.TransportError:
                    continue
                if response.status_code == 200 and response.json()["status"] in FINAL:
                    results[request_id] = response.json()
            await asyncio.sleep(0.5)
    return results


async def await_completions(log: HookLog, request_ids: set[str], timeout: float) -> None:
    async with asyncio.timeout(timeout):
        while not request_ids <= log.completed_at().keys():
            await asyncio.sleep(0.2)


@dataclass(frozen=True)
class Findings:
    webhook_duplicates: int  # arrivals of an id already received: retried, the same in effect
    outcome_records: int  # records on verification.outcomes.v1 of these requests
    outcome_events: int  # distinct events among them


async def check_exactly_once(
    database_url: str,
    bootstrap: str,
    submitted: Submitted,
    results: dict[str, dict[str, Any]],
    log: HookLog,
    cluster: KafkaCluster = DEVELOPMENT,
) -> Findings:
    """Nothing lost, nothing done twice: one request per submission, one code per authentic
    result (the one intake shows), one webhook id per (request, event type), every completion
    delivered, one regional outcome per request."""
    request_ids = set(submitted.ids.values())
    assert len(request_ids) == len(submitted.ids), "two submissions answered with one request"
    conn = await asyncpg.connect(database_url)
    try:
        employers = await conn.fetchval(
            "SELECT count(DISTINCT employer_id) FROM intake.requests WHERE id = ANY($1::uuid[])",
            list(request_ids),
        )
        made = await conn.fetchval(
            "SELECT count(*) FROM intake.requests WHERE employer_id IN (SELECT employer_id "
            "FROM intake.requests WHERE id = ANY($1::uuid[]))",
            list(request_ids),
        )
        codes = {
            str(row["request_id"]): row["code"]
            for row in await conn.fetch(
                "SELECT request_id, code FROM registry.verification_codes "
                "WHERE request_id = ANY($1::uuid[])",
                list(request_ids),
            )
        }
    finally:
        await conn.close()
    assert employers == 1
    assert made == len(request_ids), f"{made} requests made for {len(request_ids)} submissions"
    authentic = {r for r, result in results.items() if result["status"] == "authentic"}
    assert authentic, "no authentic result at all"
    assert codes.keys() == authentic, "a code for a request not authentic, or one missing"
    for request_id in authentic:
        shown = results[request_id]["verification_code"]  # grouped by dashes for people
        assert shown.replace("-", "") == codes[request_id], "intake shows another code"

    ids_by_event: defaultdict[tuple[str, str], set[str]] = defaultdict(set)
    for hook in log.hooks:
        ids_by_event[(hook.request_id, hook.type)].add(hook.webhook_id)
    assert request_ids <= {r for r, kind in ids_by_event if kind == COMPLETED}, "a webhook lost"
    doubled = {event: ids for event, ids in ids_by_event.items() if len(ids) > 1}
    assert not doubled, f"two webhook ids for one event: {doubled}"
    arrivals = Counter(hook.webhook_id for hook in log.hooks)

    outcomes = await outcome_events(bootstrap, request_ids, cluster)
    per_request = Counter(request_id for request_id, _ in outcomes)
    distinct = {event for _, event in outcomes}
    assert set(per_request) == request_ids, "a regional outcome missing"
    events_per_request = Counter(request_id for request_id, _ in set(outcomes))
    assert set(events_per_request.values()) == {1}, "two regional outcomes for one request"
    return Findings(
        webhook_duplicates=sum(arrivals.values()) - len(arrivals),
        outcome_records=len(outcomes),
        outcome_events=len(distinct),
    )


async def outcome_events(
    bootstrap: str, request_ids: set[str], cluster: KafkaCluster, timeout: float = 60
) -> list[tuple[str, str]]:
    """(request id, event id) of every record of these requests on the regions' topic, read
    committed from the beginning until each request has one."""
    consumer = AIOKafkaConsumer(
        OUTCOME_PUBLISHED.name,
        bootstrap_servers=bootstrap,
        group_id=f"probe-{uuid.uuid4()}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level="read_committed",
        **cluster.client_options(),
    )
    found: list[tuple[str, str]] = []

    def take(batches: dict[Any, list[Any]]) -> None:
        for record in (r for part in batches.values() for r in part):
            event = decoded(record.value, dict(record.headers))
            if isinstance(event, OutcomePublished) and str(event.request_id) in request_ids:
                found.append((str(event.request_id), str(event.event_id)))

    await consumer.start()
    try:
        async with asyncio.timeout(timeout):
            while not request_ids <= {request_id for request_id, _ in found}:
                take(await consumer.getmany(timeout_ms=500))
        take(await consumer.getmany(timeout_ms=2000))  # a duplicate published late, if any
    finally:
        await consumer.stop()
    return found


def longest_gap(times: Sequence[float], start: float, end: float) -> float:
    """The longest wait between consecutive completions within [start, end]."""
    inside = sorted(t for t in times if start <= t <= end)
    return max((b - a for a, b in itertools.pairwise(inside)), default=end - start)


async def employer_subscribed(database_url: str, intake_url: str, hook_url: str) -> str:
    """A registered employer whose webhooks go to `hook_url`, once the notifier knows it; its
    API key."""
    employer = await register_employer(CREDIT_CODE, "Steady Employer", database_url)
    api_key: str = employer["api_key"]
    headers = {"Authorization": f"Bearer {api_key}"}
    async with httpx.AsyncClient(base_url=intake_url, headers=headers) as client:
        response = await client.put("/v1/webhooks", json={"urls": [hook_url]})
        assert response.status_code == 200, response.text
    conn = await asyncpg.connect(database_url)
    try:  # the notifier learns of endpoints through Kafka
        async with asyncio.timeout(60):
            while not await conn.fetchval(
                "SELECT count(*) FROM notifier.webhook_endpoints WHERE url = $1", hook_url
            ):
                await asyncio.sleep(0.2)
    finally:
        await conn.close()
    return api_key


CREDIT_CODE = "91110108MA01ABCD2H"
