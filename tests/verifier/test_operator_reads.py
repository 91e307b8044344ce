"""The operators' read API of the verifier (GET /v1/bodies, GET /v1/enquiries) on real
PostgreSQL and the awarding-body simulator: the operator token is required, breaker state and
recent errors follow real failures, open enquiries are listed without personal data."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from starlette.applications import Starlette

from services.contracts.events import Stage, VerificationProgressed, VerificationRequested
from services.reference.channels import ChannelType
from services.runtime.db import apply_migrations, create_pool, read_migrations
from services.verifier.api.enquiries import enquiry_routes
from services.verifier.api.operations import operator_routes
from services.verifier.channels.contact import BodyContacts, Channel, Contacted
from services.verifier.channels.credential_api import CredentialApiChannel
from services.verifier.channels.http_clients import BodyClients
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus
from services.verifier.store.open_enquiries import OpenEnquiryReader
from services.verifier.store.repository import MIGRATIONS, Enquiry, VerifierStore
from simulator.population import find
from simulator.server import RunningSimulator
from tests.verifier.support import (
    OPERATOR_TOKEN,
    SEED,
    channel_book,
    clear_faults,
    request_for,
    set_faults,
)

pytestmark = pytest.mark.integration

BODIES = {
    "ops-ok": "credential_api",
    "ops-down": "credential_api",
    "ops-flaky": "credential_api",
    "ops-mail-a": "async_enquiry",
    "ops-mail-b": "async_enquiry",
}
AUTH = {"Authorization": f"Bearer {OPERATOR_TOKEN}"}


@pytest.fixture(scope="module")
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(module_database, "verifier")
    await apply_migrations(pool, read_migrations(MIGRATIONS))
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def contacts(simulator: RunningSimulator) -> BodyContacts:
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients())
    }
    book = channel_book(BODIES, failure_threshold=2, max_attempts=2, open_seconds=30)
    return BodyContacts(book, simulator.base_url, channels, backoff_base=0.01)


@pytest.fixture(scope="module")
async def client(pool: asyncpg.Pool, contacts: BodyContacts) -> AsyncIterator[httpx.AsyncClient]:
    async def no_sink(_reference: str, _answer: BodyAnswer) -> bool:
        return False

    app = Starlette(
        routes=[
            *enquiry_routes(no_sink, "secret", OPERATOR_TOKEN),
            *operator_routes(
                contacts,
                OpenEnquiryReader(pool),
                OPERATOR_TOKEN,
                instance="test-verifier",
                body_names={"ops-ok": "Operations OK Body"},
            ),
        ]
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://verifier") as client:
        yield client


def body_of(report: dict[str, object], body_id: str) -> dict[str, object]:
    bodies = report["bodies"]
    assert isinstance(bodies, list)
    [found] = [b for b in bodies if b["body_id"] == body_id]
    assert isinstance(found, dict)
    return found


def breaker_gauge(body_id: str) -> float | None:
    return REGISTRY.get_sample_value("verifier_breaker_open", {"body": body_id})


@pytest.mark.parametrize("path", ["/v1/bodies", "/v1/enquiries?state=open"])
@pytest.mark.parametrize("token", [None, "wrong-token", "令牌"])
async def test_reads_without_the_operator_token_are_refused(
    client: httpx.AsyncClient, path: str, token: str | None
) -> None:
    headers = {} if token is None else {b"Authorization": f"Bearer {token}".encode()}
    response = await client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == "Bearer"
    problem = response.json()
    assert problem["type"] == "/problems/unauthenticated"
    assert problem["message"] == {"zh": "需要操作员令牌", "en": "Operator token required"}


async def test_every_body_of_the_channel_book_is_reported_with_its_channel(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/v1/bodies", headers=AUTH)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["instance"] == "test-verifier" and report["window_seconds"] == 300
    assert {b["body_id"] for b in report["bodies"]} >= set(BODIES)
    mail = body_of(report, "ops-mail-a")
    assert mail["channel"] == "async_enquiry"
    assert mail["expected_answer_seconds"] == 3 and mail["deadline_seconds"] == 20
    quiet = body_of(report, "ops-ok")
    assert quiet["name"] == "Operations OK Body"
    assert quiet["breaker"] == {
        "state": "closed",
        "since": None,
        "consecutive_failures": 0,
        "failure_threshold": 2,
        "open_seconds": 30,
    }
    assert quiet["recent"] == {"attempts": 0, "failed_attempts": 0, "error_rate": None}
    assert breaker_gauge("ops-mail-b") == 0


async def test_failures_open_the_breaker_and_show_in_the_error_rate(
    client: httpx.AsyncClient, contacts: BodyContacts, simulator: RunningSimulator
) -> None:
    body = "ops-down"
    await set_faults(simulator.base_url, body, outage=True)
    cert = find(SEED, body)
    before = datetime.now(UTC)
    contacted = await contacts.ask(body, request_for([body], cert.certificate_number, "X"))
    assert contacted.answer.status == BodyStatus.UNREACHABLE
    report = (await client.get("/v1/bodies", headers=AUTH)).json()
    down = body_of(report, body)
    breaker = down["breaker"]
    assert isinstance(breaker, dict)
    assert breaker["state"] == "open" and breaker["consecutive_failures"] == 2
    assert before <= datetime.fromisoformat(breaker["since"]) <= datetime.now(UTC)
    assert down["recent"] == {"attempts": 2, "failed_attempts": 2, "error_rate": 1.0}
    assert down["answer_times"] == {
        "count": 0,
        "p50_seconds": None,
        "p90_seconds": None,
        "last": [],
    }  # no answer came
    assert breaker_gauge(body) == 1


async def test_a_recovered_body_closes_its_breaker_and_answer_times_are_kept(
    pool: asyncpg.Pool, simulator: RunningSimulator
) -> None:
    body = "ops-flaky"
    channels: dict[ChannelType, Channel] = {
        ChannelType.CREDENTIAL_API: CredentialApiChannel(BodyClients())
    }
    book = channel_book({body: "credential_api"}, failure_threshold=2, open_seconds=0.3)
    contacts = BodyContacts(book, simulator.base_url, channels, backoff_base=0.01)
    cert = find(SEED, body)
    request = request_for([body], cert.certificate_number, cert.claimed_name)
    await set_faults(simulator.base_url, body, outage=True)
    recovered = asyncio.Event()

    async def recover() -> None:
        while not contacts.breaker_of(body).is_open:
            await asyncio.sleep(0.01)
        assert breaker_gauge(body) == 1
        await clear_faults(simulator.base_url, body)
        recovered.set()

    recovery = asyncio.create_task(recover())
    contacted = await contacts.ask(body, request)  # waits out the open breaker, then succeeds
    await recovery
    assert recovered.is_set() and contacted.answer.status == BodyStatus.CONFIRMED
    assert breaker_gauge(body) == 0
    await contacts.ask(body, request)
    reads = Starlette(routes=operator_routes(contacts, OpenEnquiryReader(pool), "t", instance="x"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=reads), base_url="http://verifier"
    ) as own:
        report = (await own.get("/v1/bodies", headers={"Authorization": "Bearer t"})).json()
    flaky = body_of(report, body)
    breaker = flaky["breaker"]
    assert isinstance(breaker, dict)
    assert breaker["state"] == "closed" and breaker["since"] is not None
    recent = flaky["recent"]
    assert isinstance(recent, dict)
    assert recent["attempts"] == 4 and recent["failed_attempts"] == 2
    times = flaky["answer_times"]
    assert isinstance(times, dict)
    assert times["count"] == 2 and len(times["last"]) == 2
    assert times["p50_seconds"] > 0 and times["p90_seconds"] >= times["p50_seconds"]
    # The first answer waited for the breaker: it is the slower one, and the older.
    assert times["last"][1]["seconds"] >= 0.3 > times["last"][0]["seconds"]


async def park(pool: asyncpg.Pool, request: VerificationRequested, due_in: timedelta) -> list[str]:
    store = VerifierStore(pool)
    async with pool.acquire() as conn:
        await store.take_on(conn, [(request, None)], "test", 30)
    now = datetime.now(UTC)
    references = [f"{request.request_id}.{body}" for body in request.body_ids]
    pending = [
        Contacted(BodyAnswer(body, "async_enquiry", BodyStatus.PENDING, detail=ref), now, 0.1, 1)
        for body, ref in zip(request.body_ids, references, strict=True)
    ]
    enquiries = [
        Enquiry(ref, body, now + due_in)
        for body, ref in zip(request.body_ids, references, strict=True)
    ]
    progress = VerificationProgressed(
        request_id=request.request_id, employer_id=request.employer_id, stage=Stage.PARKED
    )
    await store.park(request.request_id, pending, enquiries, progress, None)
    return references


async def test_open_enquiries_are_listed_by_deadline_without_personal_data(
    client: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    later = request_for(["ops-mail-a", "ops-mail-b"], "CERT-LATER-0001", "Wang Xiaoming")
    sooner = request_for(["ops-mail-a"], "CERT-SOONER-0002", "Li Hua")
    answered = request_for(["ops-mail-b"], "CERT-ANSWERED-3", "Zhang San")
    decided = request_for(["ops-mail-b"], "CERT-DECIDED-004", "Zhao Si")
    later_refs = await park(pool, later, timedelta(hours=2))
    [sooner_ref] = await park(pool, sooner, timedelta(hours=1))
    [answered_ref] = await park(pool, answered, timedelta(minutes=5))
    await park(pool, decided, timedelta(minutes=5))
    answer = BodyAnswer("ops-mail-b", "async_enquiry", BodyStatus.CONFIRMED)
    assert await VerifierStore(pool).store_enquiry_answer(answered_ref, answer, "t", 30)
    decide = "UPDATE work SET state = 'decided' WHERE request_id = $1"
    await pool.execute(decide, decided.request_id)

    response = await client.get("/v1/enquiries", params={"state": "open"}, headers=AUTH)
    assert response.status_code == 200, response.text
    listed = response.json()
    assert listed["total"] == 3
    assert [e["reference"] for e in listed["items"]] == [sooner_ref, *later_refs]
    first = listed["items"][0]
    assert first["request_id"] == str(sooner.request_id) and first["body_id"] == "ops-mail-a"
    assert datetime.fromisoformat(first["due_at"]) - datetime.fromisoformat(
        first["sent_at"]
    ) == pytest.approx(timedelta(hours=1), abs=timedelta(seconds=5))
    for secret in ("Wang", "Li Hua", "CERT-LATER", "CERT-SOONER"):
        assert secret not in response.text

    one_body = await client.get(
        "/v1/enquiries", params={"body": "ops-mail-b", "limit": "5"}, headers=AUTH
    )
    assert [e["reference"] for e in one_body.json()["items"]] == [later_refs[1]]
    by_reference = await client.get(
        "/v1/enquiries", params={"reference": later_refs[1]}, headers=AUTH
    )
    assert [e["body_id"] for e in by_reference.json()["items"]] == ["ops-mail-b"]
    first_only = (await client.get("/v1/enquiries?limit=1", headers=AUTH)).json()
    assert first_only["total"] == 3 and len(first_only["items"]) == 1

    late = request_for(["ops-mail-b"], "CERT-LATE-00005", "Qian Wu")
    [late_ref] = await park(pool, late, -timedelta(minutes=1))  # its deadline has passed
    report = (await client.get("/v1/bodies", headers=AUTH)).json()
    mail_a, mail_b = body_of(report, "ops-mail-a"), body_of(report, "ops-mail-b")
    assert mail_a["open_enquiries"] == 2 and mail_a["overdue_enquiries"] == 0
    assert mail_a["next_due_at"] == first["due_at"]
    assert mail_b["open_enquiries"] == 2 and mail_b["overdue_enquiries"] == 1
    overdue_first = (await client.get("/v1/enquiries", headers=AUTH)).json()["items"][0]
    assert overdue_first["reference"] == late_ref


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("state=answered", "state"),
        ("state=open&limit=0", "limit"),
        ("limit=501", "limit"),
        ("limit=²", "limit"),
        ("limit=ten", "limit"),
        ("body=no-such-body", "body"),
        ("stat=open", "stat"),
    ],
)
async def test_a_bad_query_is_a_problem_naming_the_parameter(
    client: httpx.AsyncClient, query: str, parameter: str
) -> None:
    response = await client.get(f"/v1/enquiries?{query}", headers=AUTH)
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == "/problems/invalid-parameter"
    assert problem["parameter"] == parameter
    assert problem["message"]["zh"] and problem["message"]["en"]


async def test_the_bodies_report_takes_no_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get("/v1/bodies?body=ops-ok", headers=AUTH)
    assert response.status_code == 400 and response.json()["parameter"] == "body"


async def test_an_unknown_request_id_is_never_confused_with_an_open_enquiry(
    client: httpx.AsyncClient,
) -> None:
    reference = f"{uuid.uuid4()}.ops-mail-a"
    listed = (await client.get("/v1/enquiries", headers=AUTH)).json()
    assert reference not in {e["reference"] for e in listed["items"]}
