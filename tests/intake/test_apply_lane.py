"""`POST /v1/verifications` through intake's lane (services/intake/api/apply_lane.py) answers
exactly as the FastAPI route does: the same request, status, headers and problems. A request
with `Content-Type: application/json; charset=utf-8` is one the lane leaves to the route, so
each pair below is one answer of each."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson
import pytest
import pytest_asyncio

from services.intake.store.repository import IntakeStore
from tests.intake.support import application, client_for, credit_code, intake_app, write_channels

pytestmark = pytest.mark.integration

LANE = {"Content-Type": "application/json"}
ROUTE = {"Content-Type": "application/json; charset=utf-8"}


@pytest.fixture(scope="module")
def app(store: IntakeStore, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return intake_app(store, write_channels(tmp_path_factory.mktemp("channels")))


@pytest_asyncio.fixture
async def employer(app: Any, store: IntakeStore) -> AsyncIterator[httpx.AsyncClient]:
    async with await client_for(app, store, credit_code(9101)) as client:
        yield client


async def post(client: httpx.AsyncClient, body: Any, headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/verifications", content=orjson.dumps(body), headers=headers)


async def test_an_accepted_request_is_answered_as_the_route_answers_its_twin(
    employer: httpx.AsyncClient,
) -> None:
    body = application("LANE-1")
    created = await post(employer, body, LANE)
    twin = await post(employer, body, ROUTE)  # in flight: the route returns the same one
    assert (created.status_code, twin.status_code) == (202, 200)
    assert created.json() == twin.json()
    for header in ("location", "content-type"):
        assert created.headers[header] == twin.headers[header]
    again = await post(employer, body, LANE)
    assert (again.status_code, again.json()) == (200, twin.json())


@pytest.mark.parametrize(
    ("changes", "status"),
    [
        ({"consent": False}, 422),  # a refusal of intake's own
        ({"qualification_id": "no-such-qualification"}, 422),
        ({"region": "shanghai"}, 422),  # the schema refuses it: the route names the field
        ({"holder": None}, 422),
    ],
)
async def test_refusals_are_the_routes(
    employer: httpx.AsyncClient, changes: dict[str, Any], status: int
) -> None:
    body = application("LANE-2", **changes)
    through_lane, through_route = (
        await post(employer, body, LANE),
        await post(employer, body, ROUTE),
    )
    assert through_lane.status_code == through_route.status_code == status
    assert through_lane.json() == through_route.json()
    assert through_lane.headers["content-type"] == "application/problem+json"


async def test_what_the_lane_does_not_take_is_the_routes_answer(
    app: Any, employer: httpx.AsyncClient
) -> None:
    unparsable = await employer.post("/v1/verifications", content=b'{"consent": tru', headers=LANE)
    assert unparsable.json()["type"] == "/problems/malformed-json"
    long_key = await employer.post(
        "/v1/verifications",
        content=orjson.dumps(application("LANE-3")),
        headers=LANE | {"Idempotency-Key": "k" * 256},
    )
    assert long_key.status_code == 422
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://intake"
    ) as stranger:
        stranger.headers["Authorization"] = "Bearer qv_nokey1_nosecret"
        unknown = await post(stranger, application("LANE-4"), LANE)
    assert unknown.status_code == 401
    assert unknown.headers["www-authenticate"] == "Bearer"
