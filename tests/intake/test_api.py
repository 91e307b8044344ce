"""Intake's HTTP API on a real PostgreSQL: acceptance, refusals as problem details,
idempotency, duplicates in flight, and tenant isolation."""

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
import pytest_asyncio

from services.contracts.events import (
    BodyContact,
    LocalizedText,
    Stage,
    Verdict,
    VerificationConcluded,
    VerificationProgressed,
)
from services.intake.catalogue import EditionCatalogue
from services.intake.store.observations import WithdrawalRecord
from services.intake.store.repository import IntakeStore
from tests.intake.support import (
    CREDIT_CODE_A,
    CREDIT_CODE_B,
    JOINT_QUALIFICATION,
    PMI_QUALIFICATION,
    QUALIFICATION,
    anonymous_client,
    application,
    client_for,
    consume,
    credit_code,
    intake_app,
    write_channels,
)


@pytest.fixture(scope="module")
def channels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_channels(tmp_path_factory.mktemp("channels"))


@pytest.fixture(scope="module")
def catalogue() -> EditionCatalogue:
    return EditionCatalogue.load()


@pytest_asyncio.fixture(scope="module")
async def app(store: IntakeStore, channels_file: Path, catalogue: EditionCatalogue) -> Any:
    return intake_app(store, channels_file, catalogue)


@pytest_asyncio.fixture
async def employer_a(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, CREDIT_CODE_A) as client:
        yield client


@pytest_asyncio.fixture
async def employer_b(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, CREDIT_CODE_B) as client:
        yield client


async def test_accepts_an_eligible_request_and_writes_its_event_in_the_outbox(
    employer_a: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    response = await employer_a.post("/v1/verifications", json=application("AWS-ACCEPT"))
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert response.headers["location"] == f"/v1/verifications/{body['id']}"
    assert datetime.fromisoformat(body["expected_completion_at"]) > datetime.now(UTC)
    assert body["disclaimer"]["zh"] and body["disclaimer"]["en"]
    in_outbox = await pool.fetchval(
        "SELECT count(*) FROM intake.outbox WHERE key = $1", body["id"].encode()
    )
    assert in_outbox == 1


async def test_joint_award_goes_to_every_body(employer_a: httpx.AsyncClient) -> None:
    body = application("CDCS-1", qualification_id=JOINT_QUALIFICATION)
    response = await employer_a.post("/v1/verifications", json=body)
    assert response.status_code == 202, response.text
    assert sorted(response.json()["body_ids"]) == ["baft", "icc", "libf"]


@pytest.mark.parametrize(
    ("changes", "code", "pointer"),
    [
        ({"qualification_id": "no-such-thing"}, "unknown-qualification", "/qualification_id"),
        ({"body_ids": ["pmi"]}, "body-does-not-award", "/body_ids/0"),
        ({"consent": False}, "consent-required", "/consent"),
        (
            {"certificate": {"number": "X-1", "issued_on": str(date.today() + timedelta(days=3))}},
            "date-in-future",
            "/certificate/issued_on",
        ),
        (
            {
                "certificate": {
                    "number": "X-2",
                    "issued_on": "2020-01-01",
                    "expires_on": "2021-01-01",
                }
            },
            "certificate-expired",
            "/certificate/expires_on",
        ),
        ({"region": "shanghai"}, "invalid-field", "/region"),
        ({"holder": {"name": "A"}}, "invalid-field", "/holder/nationality"),
    ],
)
async def test_refusals_are_specific_problem_details(
    employer_a: httpx.AsyncClient, changes: dict[str, Any], code: str, pointer: str
) -> None:
    response = await employer_a.post("/v1/verifications", json=application(**changes))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"] == f"/problems/{code}"
    assert problem["status"] == 422
    assert problem["message"]["zh"] and problem["message"]["en"]
    assert pointer in [error["pointer"] for error in problem["errors"]]


async def test_bad_resident_id_check_digit_is_refused(employer_a: httpx.AsyncClient) -> None:
    holder = application()["holder"] | {"document_number": "110105194912310021"}
    response = await employer_a.post("/v1/verifications", json=application(holder=holder))
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/holder/document_number"


async def test_missing_or_wrong_api_key_is_401(app: Any) -> None:
    async with anonymous_client(app) as anonymous:
        response = await anonymous.post("/v1/verifications", json=application())
        assert response.status_code == 401
        assert response.json()["type"] == "/problems/unauthenticated"
        forged = {"Authorization": "Bearer qv_000000000000_forged"}
        response = await anonymous.get("/v1/verifications", headers=forged)
        assert response.status_code == 401


async def test_a_request_in_flight_is_returned_not_duplicated(
    employer_a: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    first = await employer_a.post("/v1/verifications", json=application("AWS-DUP"))
    second = await employer_a.post("/v1/verifications", json=application("AWS-DUP"))
    assert (first.status_code, second.status_code) == (202, 200)
    assert first.json()["id"] == second.json()["id"]
    assert (
        await pool.fetchval(
            "SELECT count(*) FROM intake.requests WHERE certificate_number = 'AWS-DUP'"
        )
        == 1
    )


async def test_requests_arriving_together_are_stored_together_and_a_twin_once(
    employer_a: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """Concurrent submissions share one group commit: each distinct one is stored with its
    event, and a twin of one in the same commit gets that one back (200), not a copy."""
    numbers = [f"AWS-TOGETHER-{n}" for n in range(8)] + ["AWS-TOGETHER-0"]
    answers = await asyncio.gather(
        *(employer_a.post("/v1/verifications", json=application(n)) for n in numbers)
    )
    assert sorted(a.status_code for a in answers) == [200] + [202] * 8
    by_number: dict[str, set[str]] = {}
    for number, answer in zip(numbers, answers, strict=True):
        by_number.setdefault(number, set()).add(answer.json()["id"])
    assert all(len(ids) == 1 for ids in by_number.values())
    stored = await pool.fetch(
        "SELECT id, body_ids FROM intake.requests WHERE certificate_number LIKE 'AWS-TOGETHER-%'"
    )
    assert len(stored) == 8 and all(row["body_ids"] == ["aws"] for row in stored)
    events = await pool.fetchval(
        "SELECT count(*) FROM intake.outbox WHERE topic = 'verification.requested.v1' "
        "AND key = ANY($1::bytea[])",
        [str(row["id"]).encode() for row in stored],
    )
    assert events == 8


async def test_idempotency_key_replays_and_refuses_a_different_body(
    employer_a: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "key-1"}
    first = await employer_a.post("/v1/verifications", json=application("AWS-IK"), headers=headers)
    again = await employer_a.post("/v1/verifications", json=application("AWS-IK"), headers=headers)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"]
    other = await employer_a.post("/v1/verifications", json=application("AWS-IK2"), headers=headers)
    assert other.status_code == 409
    assert other.json()["type"] == "/problems/idempotency-key-reused"


async def test_an_employer_cannot_see_another_employers_request(
    employer_a: httpx.AsyncClient, employer_b: httpx.AsyncClient
) -> None:
    created = await employer_a.post("/v1/verifications", json=application("AWS-TENANT"))
    request_id = created.json()["id"]
    assert (await employer_a.get(f"/v1/verifications/{request_id}")).status_code == 200
    response = await employer_b.get(f"/v1/verifications/{request_id}")
    assert response.status_code == 404
    assert response.json()["type"] == "/problems/not-found"
    listed = (await employer_b.get("/v1/verifications")).json()["items"]
    assert request_id not in [item["id"] for item in listed]


# ------------------------------------------------------------------ channel-specific fields


async def test_missing_channel_fields_are_refused_with_a_pointer_each(
    employer_a: httpx.AsyncClient,
) -> None:
    body = application("PMI-1", qualification_id=PMI_QUALIFICATION)
    body["certificate"]["channel_fields"] = {"badge_url": "https://badges.test/1"}
    response = await employer_a.post("/v1/verifications", json=body)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"] == "/problems/missing-channel-field"
    assert problem["message"]["zh"] and problem["message"]["en"]
    assert [e["pointer"] for e in problem["errors"]] == [
        "/certificate/channel_fields/credential_jwt"
    ]


async def test_channel_fields_present_are_accepted(employer_a: httpx.AsyncClient) -> None:
    body = application("PMI-2", qualification_id=PMI_QUALIFICATION)
    body["certificate"]["channel_fields"] = {
        "credential_jwt": "eyJhbGciOiJFZERTQSJ9.e30.sig",
        "badge_url": "https://badges.test/2",
    }
    response = await employer_a.post("/v1/verifications", json=body)
    assert response.status_code == 202, response.text


# ------------------------------------------------------------------ withdrawn qualifications


async def test_withdrawn_from_the_withdrawal_date_on(
    catalogue: EditionCatalogue, employer_a: httpx.AsyncClient
) -> None:
    today = datetime.now(UTC).date()
    try:
        tomorrow = [WithdrawalRecord(QUALIFICATION, today + timedelta(days=1), "notice")]
        catalogue.replace_withdrawals(tomorrow)
        accepted = await employer_a.post("/v1/verifications", json=application("AWS-WD-1"))
        assert accepted.status_code == 202, accepted.text
        catalogue.replace_withdrawals([WithdrawalRecord(QUALIFICATION, today, "notice")])
        refused = await employer_a.post("/v1/verifications", json=application("AWS-WD-2"))
        assert refused.status_code == 422
        assert refused.json()["type"] == "/problems/withdrawn-qualification"
        assert refused.json()["errors"][0]["pointer"] == "/qualification_id"
    finally:
        catalogue.replace_withdrawals([])


# ------------------------------------------------------------------ dry run


async def test_dry_run_answers_ok_and_stores_nothing(
    employer_a: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    before = await pool.fetchval("SELECT count(*) FROM intake.requests")
    outbox = await pool.fetchval("SELECT count(*) FROM intake.outbox")
    response = await employer_a.post("/v1/verifications/check", json=application("AWS-DRY"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ok"] is True and body["body_ids"] == ["aws"]
    assert body["in_flight_request_id"] is None
    assert datetime.fromisoformat(body["expected_completion_at"]) > datetime.now(UTC)
    refused = await employer_a.post(
        "/v1/verifications/check", json=application("AWS-DRY", consent=False)
    )
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/consent-required"
    assert await pool.fetchval("SELECT count(*) FROM intake.requests") == before
    assert await pool.fetchval("SELECT count(*) FROM intake.outbox") == outbox


async def test_dry_run_names_the_request_already_in_flight(
    employer_a: httpx.AsyncClient,
) -> None:
    created = await employer_a.post("/v1/verifications", json=application("AWS-DRY-2"))
    checked = await employer_a.post("/v1/verifications/check", json=application("AWS-DRY-2"))
    assert checked.json()["in_flight_request_id"] == created.json()["id"]


# ------------------------------------------------------------------ lifecycle and pages


async def test_status_history_through_progress_and_verdict(
    employer_a: httpx.AsyncClient, store: IntakeStore
) -> None:
    created = (await employer_a.post("/v1/verifications", json=application("AWS-LIFE"))).json()
    request_id, employer_id = UUID(created["id"]), await _employer_of(store, created["id"])
    assert [h["status"] for h in created["history"]] == ["accepted"]
    started = datetime.now(UTC)
    verifier_estimate = started + timedelta(hours=3)
    progress = VerificationProgressed(
        request_id=request_id,
        employer_id=employer_id,
        stage=Stage.WAITING_FOR_BODY,
        expected_completion_at=verifier_estimate,
        occurred_at=started,
    )
    await consume(store, progress)
    await consume(store, progress)  # redelivered: applied once
    verifying = (await employer_a.get(f"/v1/verifications/{request_id}")).json()
    assert verifying["status"] == "verifying"
    assert verifying["stage"] == "waiting_for_body"
    assert datetime.fromisoformat(verifying["verifying_at"]) == started
    assert datetime.fromisoformat(verifying["expected_completion_at"]) == verifier_estimate
    assert [h["status"] for h in verifying["history"]] == ["accepted", "verifying"]
    await consume(store, _verdict(request_id, employer_id, Verdict.NOT_AUTHENTIC))
    late = VerificationProgressed(
        request_id=request_id, employer_id=employer_id, stage=Stage.VERIFYING
    )
    await consume(store, late)  # after the verdict: changes nothing
    decided = (await employer_a.get(f"/v1/verifications/{request_id}")).json()
    assert decided["status"] == "not_authentic"
    assert decided["reason"] == {"zh": "不符", "en": "does not match"}
    assert [h["status"] for h in decided["history"]] == ["accepted", "verifying", "not_authentic"]
    assert decided["decided_at"] is not None


async def test_pages_are_complete_and_stable_when_timestamps_are_equal(
    app: Any, store: IntakeStore, pool: asyncpg.Pool
) -> None:
    async with await client_for(app, store, credit_code(7001)) as employer:
        ids = set()
        for n in range(7):
            response = await employer.post("/v1/verifications", json=application(f"PAGE-{n}"))
            ids.add(response.json()["id"])
        await pool.execute(
            "UPDATE intake.requests SET accepted_at = '2025-06-01T09:30:00Z' WHERE id = ANY($1)",
            [UUID(i) for i in ids],
        )
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
            page = (await employer.get("/v1/verifications", params=params)).json()
            seen += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(seen) == len(set(seen)) == 7 and set(seen) == ids
        bad = await employer.get("/v1/verifications", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 400 and bad.json()["type"] == "/problems/invalid-cursor"


async def test_list_filters_by_status_and_qualification(app: Any, store: IntakeStore) -> None:
    async with await client_for(app, store, credit_code(7002)) as employer:
        aws = (await employer.post("/v1/verifications", json=application("F-1"))).json()
        joint = application("F-2", qualification_id=JOINT_QUALIFICATION)
        await employer.post("/v1/verifications", json=joint)
        employer_id = await _employer_of(store, aws["id"])
        await consume(store, _verdict(UUID(aws["id"]), employer_id, Verdict.AUTHENTIC))
        authentic = (await employer.get("/v1/verifications?status=authentic")).json()["items"]
        assert [item["id"] for item in authentic] == [aws["id"]]
        by_qualification = (
            await employer.get(f"/v1/verifications?qualification_id={JOINT_QUALIFICATION}")
        ).json()["items"]
        assert [item["qualification_id"] for item in by_qualification] == [JOINT_QUALIFICATION]


# ------------------------------------------------------------------ expected completion


async def test_expected_completion_follows_observed_turnaround(
    app: Any, store: IntakeStore
) -> None:
    """CDCS asks aws-less bodies libf, icc (60 s configured) and baft: the slowest decides;
    once icc has answered fast often enough, the observed figure replaces the configured one,
    and reads of undecided requests follow it."""
    async with await client_for(app, store, credit_code(7003)) as employer:
        joint = application("ET-1", qualification_id=JOINT_QUALIFICATION)
        first = (await employer.post("/v1/verifications", json=joint)).json()
        accepted_at = datetime.fromisoformat(first["accepted_at"])
        expected = datetime.fromisoformat(first["expected_completion_at"])
        assert expected - accepted_at == timedelta(seconds=60)  # icc, configured
        employer_id = await _employer_of(store, first["id"])
        for seconds in (2.0, 2.0, 2.0):  # three answers of every body, 2 s each
            contacts = [
                BodyContact(body_id=b, channel="credential_api", seconds=seconds)
                for b in ("libf", "icc", "baft")
            ]
            await consume(store, _verdict(uuid4(), employer_id, Verdict.AUTHENTIC, contacts))
        reread = (await employer.get(f"/v1/verifications/{first['id']}")).json()
        assert datetime.fromisoformat(reread["expected_completion_at"]) - accepted_at == timedelta(
            seconds=2
        )
        slower = [BodyContact(body_id="icc", channel="credential_api", seconds=12.0)]
        slow_verdict = _verdict(uuid4(), employer_id, Verdict.AUTHENTIC, slower)
        await consume(store, slow_verdict, slow_verdict)  # a redelivery counts once
        again = (await employer.get(f"/v1/verifications/{first['id']}")).json()
        # 2 + 0.3 * (12 - 2) = 5 s
        assert datetime.fromisoformat(again["expected_completion_at"]) - accepted_at == timedelta(
            seconds=5
        )
        second = (await employer.post("/v1/verifications", json=application("ET-2"))).json()
        assert datetime.fromisoformat(second["expected_completion_at"]) - datetime.fromisoformat(
            second["accepted_at"]
        ) == timedelta(seconds=5)  # aws: still configured (no samples)


async def _employer_of(store: IntakeStore, request_id: str) -> UUID:
    employer_id: UUID = await store._pool.fetchval(
        "SELECT employer_id FROM requests WHERE id = $1", UUID(request_id)
    )
    return employer_id


def _verdict(
    request_id: UUID,
    employer_id: UUID,
    verdict: Verdict,
    contacts: list[BodyContact] | None = None,
) -> VerificationConcluded:
    return VerificationConcluded(
        request_id=request_id,
        employer_id=employer_id,
        region="beijing",
        qualification_id=QUALIFICATION,
        holder_ref="ref",
        verdict=verdict,
        reason=LocalizedText(zh="不符", en="does not match"),
        checks=[],
        decided_at=datetime.now(UTC),
        contacts=contacts or [],
    )
