"""The awarding-bodies section over HTTP, with a real verifier (its operator API and request
flow on PostgreSQL and the simulator): bodies and open enquiries shown, an operator answering a
parked enquiry through to the request's verdict with the audit entry it leaves, a viewer
refused, bad answers explained, and a verifier that is away or unconfigured."""

import re
from collections.abc import AsyncIterator
from dataclasses import replace

import asyncpg
import pytest
import pytest_asyncio

from services.console.__main__ import core_deps
from services.console.adapters.verifier import VerifierOps
from services.console.web import bodies
from services.console.web.deps import Deps
from tests.console.conftest import OPERATOR, VIEWER, console_settings, serve_console, with_accounts
from tests.console.support import csrf_token, post_form, signed_in_client
from tests.console.verifier_support import (
    API_BODY,
    TELEPHONE_BODY,
    RunningVerifier,
    serving_verifier,
)
from tests.verifier.support import OPERATOR_TOKEN

pytestmark = pytest.mark.integration

EN = {"qv_console_lang": "en"}


@pytest_asyncio.fixture(scope="module")
async def verifier(module_database: str) -> AsyncIterator[RunningVerifier]:
    async with serving_verifier(module_database) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def deps(
    module_database: str, console_pool: asyncpg.Pool, verifier: RunningVerifier
) -> AsyncIterator[Deps]:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    deps.verifier = VerifierOps.connect(verifier.url, OPERATOR_TOKEN)
    yield deps
    await deps.verifier.aclose()


@pytest_asyncio.fixture(scope="module")
async def url(deps: Deps) -> AsyncIterator[str]:
    async with serve_console(deps, bodies.routes(deps)) as served:
        yield served


async def test_the_page_shows_every_body_and_the_open_enquiries(
    url: str, verifier: RunningVerifier
) -> None:
    reference, _ = await verifier.park_enquiry()
    async with signed_in_client(url, *VIEWER) as client:
        client.cookies.update(EN)
        page = await client.get("/bodies")
        assert page.status_code == 200, page.text
        assert TELEPHONE_BODY in page.text and API_BODY in page.text
        assert "Telephone Board 电话委员会" in page.text
        assert reference in page.text
        assert 'hx-get="/bodies/live"' in page.text
        assert "operators only" in page.text  # a viewer gets no answer link
        assert f"/bodies/enquiries/{reference}" not in page.text
        live = await client.get("/bodies/live")
        assert live.status_code == 200 and live.text.lstrip().startswith('<div id="bodies-live"')
        assert reference in live.text
        # Its deadline passes (the verifier's sweeper, which would decide it, is not running).
        await verifier.pool.execute(
            "UPDATE enquiries SET due_at = now() - interval '1 minute' WHERE reference = $1",
            reference,
        )
        overdue = (await client.get("/bodies/live")).text
        assert re.search(r'<span class="figure bad">1</span>past their deadline', overdue)
        assert re.search(r'<tr class="overdue">\s*<td><code>' + re.escape(reference), overdue)
        assert '<span class="bad">1 overdue</span>' in overdue
        one = await client.get(f"/bodies/{TELEPHONE_BODY}")
        assert one.status_code == 200 and reference in one.text
        assert 'data-chart-url="/bodies/ops-telephone/answer-times.json"' in one.text
        series = (await client.get(f"/bodies/{TELEPHONE_BODY}/answer-times.json")).json()
        assert [s["label"] for s in series["series"]] == ["answer s", "expected s"]
        assert (await client.get("/bodies/no-such-body")).status_code == 404
        assert (await client.get("/bodies/no-such-body/answer-times.json")).status_code == 404


async def test_an_operator_answers_a_parked_enquiry_to_the_verdict_and_it_is_audited(
    url: str, verifier: RunningVerifier, deps: Deps
) -> None:
    reference, request_id = await verifier.park_enquiry()
    async with signed_in_client(url, *OPERATOR) as client:
        client.cookies.update(EN)
        listed = await client.get("/bodies")
        assert f"/bodies/enquiries/{reference}" in listed.text
        form = await client.get(f"/bodies/enquiries/{reference}")
        assert form.status_code == 200 and 'name="status"' in form.text

        action = f"/bodies/enquiries/{reference}/answer"
        # Confirmed without the name the body registered: explained, nothing sent.
        refused = await client.post(
            action, data={"csrftoken": csrf_token(form.text), "status": "confirmed"}
        )
        assert refused.status_code == 422
        assert "needs the name the body has registered" in refused.text
        assert await verifier.verdict_of(request_id) is None

        answered = await post_form(
            client,
            f"/bodies/enquiries/{reference}",
            action,
            {"status": "confirmed", "registered_name": "Somebody Else Entirely"},
        )
        assert answered.status_code == 303
        assert answered.headers["location"] == f"/bodies?answered={reference}"
        after = await client.get(answered.headers["location"])
        assert "Answer recorded" in after.text
        assert f"/bodies/enquiries/{reference}" not in after.text
    # The body registered another name than the holder's: the verdict says so.
    assert await verifier.verdict_of(request_id) == "not_authentic"
    [entry] = await deps.audit.recent(target=f"request:{request_id}")
    assert (entry.actor, entry.action) == (OPERATOR[0], "enquiry-answer")
    assert entry.detail == {
        "reference": reference,
        "body": TELEPHONE_BODY,
        "status": "confirmed",
        "registered_name": "given",
        "outcome": "recorded",
    }
    assert "Somebody" not in str(entry.detail)  # the name itself is personal data


async def test_a_viewer_may_not_answer(url: str, verifier: RunningVerifier) -> None:
    reference, request_id = await verifier.park_enquiry()
    async with signed_in_client(url, *VIEWER) as client:
        page = await client.get(f"/bodies/enquiries/{reference}")
        assert page.status_code == 200 and 'name="status"' not in page.text
        refused = await client.post(
            f"/bodies/enquiries/{reference}/answer",
            data={"csrftoken": csrf_token(page.text), "status": "revoked"},
        )
        assert refused.status_code == 403
    assert await verifier.verdict_of(request_id) is None


async def test_an_enquiry_already_answered_or_unknown_is_not_found(
    url: str, verifier: RunningVerifier, deps: Deps
) -> None:
    reference, request_id = await verifier.park_enquiry()
    async with signed_in_client(url, *OPERATOR) as client:
        client.cookies.update(EN)
        form = await client.get(f"/bodies/enquiries/{reference}")
        token = csrf_token(form.text)
        first = await client.post(
            f"/bodies/enquiries/{reference}/answer", data={"csrftoken": token, "status": "revoked"}
        )
        assert first.status_code == 303
        assert await verifier.verdict_of(request_id) == "not_authentic"
        again = await client.get(f"/bodies/enquiries/{reference}")
        assert again.status_code == 404
        assert "No enquiry awaits an answer under this reference" in again.text
        for unknown in ("not-a-reference", f"00000000-0000-0000-0000-000000000000.{API_BODY}"):
            page = await client.get(f"/bodies/enquiries/{unknown}")
            assert page.status_code == 404
        posted = await client.post(
            "/bodies/enquiries/00000000-0000-0000-0000-000000000000.ops-api/answer",
            data={"csrftoken": token, "status": "revoked"},
        )
        assert posted.status_code == 404
    entries = await deps.audit.recent(target="request:00000000-0000-0000-0000-000000000000")
    assert [e.detail["outcome"] for e in entries] == ["refused: EnquiryNotFound"]


async def test_an_unreachable_or_unconfigured_verifier_is_said_plainly(
    deps: Deps, verifier: RunningVerifier
) -> None:
    away = replace(deps, verifier=VerifierOps.connect("http://127.0.0.1:9", OPERATOR_TOKEN))
    unset = replace(deps, verifier=None)
    for variant, message in (
        (away, "The verifier is not answering"),
        (unset, "The verifier is not configured"),
    ):
        async with (
            serve_console(variant, bodies.routes(variant)) as served,
            signed_in_client(served, *OPERATOR) as client,
        ):
            client.cookies.update(EN)
            page = await client.get("/bodies")
            assert page.status_code == 200 and message in page.text
            assert re.search(r'class="error" role="alert"', page.text)
            live = await client.get("/bodies/live")
            assert live.status_code == 503 and message in live.text
            reference = f"00000000-0000-0000-0000-000000000000.{TELEPHONE_BODY}"
            form = await client.get(f"/bodies/enquiries/{reference}")
            assert form.status_code == 503 and message in form.text
        if variant.verifier is not None:
            await variant.verifier.aclose()
