"""The catalogue as the registry's system of record: loaded into its tables at start-up,
searched over gRPC, withdrawn by operators with history kept and an event published."""

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import grpc
import pytest
from aiokafka import AIOKafkaConsumer
from google.type.date_pb2 import Date

from qualverify.registry.v1 import registry_pb2
from services.contracts.events import QualificationWithdrawn, decode
from services.contracts.topics import CATALOGUE_CHANGES
from services.reference.catalogue.loader import load_edition
from services.registry.api.app import RunningRegistry, running_registry
from tests.infra import Infra
from tests.registry.support import (
    date_message,
    error_code,
    refusal,
    registry_settings,
)

pytestmark = pytest.mark.integration

CATALOGUE = load_edition()


async def fetch(database: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database, server_settings={"search_path": "registry"})
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


async def test_all_163_qualifications_and_their_bodies_are_in_the_tables(
    registry: RunningRegistry, module_database: str
) -> None:
    count = await fetch(module_database, "SELECT count(*) FROM qualifications")
    assert count[0][0] == 163
    bodies = await fetch(module_database, "SELECT id FROM awarding_bodies")
    assert {row["id"] for row in bodies} == {body.id for body in CATALOGUE.bodies}
    editions = await fetch(
        module_database, "SELECT id, effective_from, replaces, replaced_on FROM editions"
    )
    by_id = {row["id"]: row for row in editions}
    assert by_id["2025"]["replaces"] == "2024-1.0"
    assert by_id["2025"]["effective_from"] == date(2025, 9, 5)
    assert by_id["2024-1.0"]["replaced_on"] == date(2025, 9, 5)
    assert by_id["2025"]["replaced_on"] is None


@pytest.mark.parametrize(
    ("query", "expected_any"),
    [
        (registry_pb2.SearchCatalogueRequest(text="特许金融分析师"), "cfa-institute"),
        (registry_pb2.SearchCatalogueRequest(text="hcie—cloud"), "huawei"),
        (registry_pb2.SearchCatalogueRequest(body="Chartered Financial"), "cfa-institute"),
        (registry_pb2.SearchCatalogueRequest(body="huawei"), "huawei"),
    ],
)
async def test_search_by_name_and_body(stub: Any, query: Any, expected_any: str) -> None:
    page = await stub.SearchCatalogue(query)
    assert page.total >= 1 and page.edition_id == "2025"
    assert all(any(body.id == expected_any for body in q.bodies) for q in page.qualifications), [
        q.name for q in page.qualifications
    ]


async def test_browse_by_list_and_field_pages_through_everything(stub: Any) -> None:
    seen: list[str] = []
    cursor = ""
    while True:
        page = await stub.SearchCatalogue(
            registry_pb2.SearchCatalogueRequest(
                list=registry_pb2.CATALOGUE_LIST_URGENT, limit=7, cursor=cursor
            )
        )
        seen += [q.id for q in page.qualifications]
        cursor = page.next_cursor
        if not cursor:
            break
    assert seen == [q.id for q in CATALOGUE.members_of(CATALOGUE.lists[1].id)]
    finance = await stub.SearchCatalogue(registry_pb2.SearchCatalogueRequest(field="金融"))
    assert finance.total > 0 and all("金融" in q.fields for q in finance.qualifications)


@pytest.mark.parametrize(
    "request_",
    [
        registry_pb2.SearchCatalogueRequest(list=99),  # type: ignore[arg-type]
        registry_pb2.SearchCatalogueRequest(limit=1000),
        registry_pb2.SearchCatalogueRequest(cursor="not-a-cursor"),
    ],
)
async def test_bad_searches_are_invalid_arguments(stub: Any, request_: Any) -> None:
    error = await refusal(stub.SearchCatalogue(request_))
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_get_qualification(stub: Any) -> None:
    wanted = CATALOGUE.qualifications[5]
    found = (
        await stub.GetQualification(
            registry_pb2.GetQualificationRequest(qualification_id=wanted.id)
        )
    ).qualification
    assert found.name == wanted.name and [b.id for b in found.bodies] == list(wanted.body_ids)
    missing = await refusal(
        stub.GetQualification(registry_pb2.GetQualificationRequest(qualification_id="nope"))
    )
    assert missing.code() == grpc.StatusCode.NOT_FOUND


async def test_withdrawal_is_recorded_kept_and_announced(
    stub: Any, infra: Infra, module_database: str, registry: RunningRegistry
) -> None:
    target = CATALOGUE.qualifications[10]
    withdrawn = (
        await stub.WithdrawQualification(
            registry_pb2.WithdrawQualificationRequest(
                qualification_id=target.id,
                withdrawn_on=date_message(date(2026, 1, 15)),
                reason="body ceased awarding",
            )
        )
    ).qualification
    assert withdrawn.withdrawn and withdrawn.withdrawn_on == date_message(date(2026, 1, 15))
    assert withdrawn.withdrawal_reason == "body ceased awarding"
    again = await refusal(
        stub.WithdrawQualification(
            registry_pb2.WithdrawQualificationRequest(qualification_id=target.id, reason="again")
        )
    )
    assert again.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert error_code(again) == "already-withdrawn"

    active = await stub.SearchCatalogue(
        registry_pb2.SearchCatalogueRequest(text=target.name, active_only=True)
    )
    assert target.id not in [q.id for q in active.qualifications]
    rows = await fetch(module_database, "SELECT * FROM qualification_withdrawals")
    assert [(r["qualification_id"], r["withdrawn_by"]) for r in rows] == [(target.id, "operator")]
    still_there = await fetch(module_database, "SELECT count(*) FROM qualifications")
    assert still_there[0][0] == 163  # nothing deleted

    event = await _withdrawal_event(infra.kafka_bootstrap_servers, target.id)
    assert event.withdrawn_on == date(2026, 1, 15) and event.edition_id == "2025"

    # A restart loads the edition file again; the withdrawal stays.
    async with running_registry(registry_settings(infra, module_database)) as restarted:
        assert restarted.parts is not None
        reloaded = (await restarted.parts.catalogue.current()).qualification(target.id)
        assert reloaded.withdrawal is not None


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"qualification_id": "nope", "reason": "x"}, grpc.StatusCode.NOT_FOUND),
        ({"qualification_id": "x", "reason": ""}, grpc.StatusCode.INVALID_ARGUMENT),
        (
            {"qualification_id": "x", "reason": "y", "withdrawn_on": Date(year=2026, month=2)},
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
    ],
)
async def test_bad_withdrawals_are_refused(
    stub: Any, fields: dict[str, Any], status: grpc.StatusCode
) -> None:
    if fields["qualification_id"] == "x":
        fields = fields | {"qualification_id": CATALOGUE.qualifications[20].id}
    error = await refusal(
        stub.WithdrawQualification(registry_pb2.WithdrawQualificationRequest(**fields))
    )
    assert error.code() == status


async def _withdrawal_event(bootstrap: str, qualification_id: str) -> QualificationWithdrawn:
    consumer = AIOKafkaConsumer(
        CATALOGUE_CHANGES.name, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        async with asyncio.timeout(30):
            async for record in consumer:
                assert record.value is not None
                event = decode(record.value, dict(record.headers))
                if (
                    isinstance(event, QualificationWithdrawn)
                    and event.qualification_id == qualification_id
                ):
                    return event
    finally:
        await consumer.stop()
    raise AssertionError("unreachable")


async def test_a_scheduled_withdrawal_is_not_yet_in_effect(stub: Any) -> None:
    """Withdrawn from the date (inclusive): before it, the qualification is active and
    shows the scheduled date; from it, it is withdrawn and left out of `active_only`."""
    today = datetime.now(UTC).date()
    scheduled, past = CATALOGUE.qualifications[30], CATALOGUE.qualifications[31]
    for target, on in ((scheduled, today + timedelta(days=30)), (past, today)):
        await stub.WithdrawQualification(
            registry_pb2.WithdrawQualificationRequest(
                qualification_id=target.id, withdrawn_on=date_message(on), reason="exit review"
            )
        )
    ahead = (
        await stub.GetQualification(
            registry_pb2.GetQualificationRequest(qualification_id=scheduled.id)
        )
    ).qualification
    assert not ahead.withdrawn
    assert ahead.withdrawn_on == date_message(today + timedelta(days=30))
    gone = (
        await stub.GetQualification(registry_pb2.GetQualificationRequest(qualification_id=past.id))
    ).qualification
    assert gone.withdrawn and gone.withdrawn_on == date_message(today)

    for name, target, listed in ((scheduled.name, scheduled, True), (past.name, past, False)):
        active = await stub.SearchCatalogue(
            registry_pb2.SearchCatalogueRequest(text=name, active_only=True)
        )
        assert (target.id in [q.id for q in active.qualifications]) is listed
        everything = await stub.SearchCatalogue(registry_pb2.SearchCatalogueRequest(text=name))
        found = next(q for q in everything.qualifications if q.id == target.id)
        assert found.withdrawn is not listed  # history kept: still found without active_only
