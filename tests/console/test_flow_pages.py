"""The flow and catalogue watch pages over HTTP, on real PostgreSQL and a real registry over
mutual TLS: the numbers and what lies behind them, opening a request (name for an operator,
audited; masked for a viewer), bad input refused in both languages, and the Withdraw action
(operators only, validated, confirmed, audited)."""

import os
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from services.console.__main__ import core_deps
from services.console.adapters.registry import RegistryOperator
from services.console.domain.flow import StuckRules
from services.console.store.projection import Projection
from services.console.store.sealed_names import NameBox
from services.console.usecases.catalogue_watch import CatalogueWatchUse
from services.console.usecases.flow import FlowWatch
from services.console.web import catalogue, flow
from services.contracts.events import (
    CertificateClaim,
    HolderClaim,
    Stage,
    VerificationProgressed,
    VerificationRequested,
)
from services.registry.api.app import RunningRegistry, running_registry
from tests.console.conftest import OPERATOR, VIEWER, console_settings, serve_console, with_accounts
from tests.console.support import post_form, signed_in_client
from tests.infra import Infra
from tests.registry.support import registry_settings, session_pki

pytestmark = pytest.mark.integration

SCHEDULED = "huawei-bb4a8754"  # HCIE-Storage: asked for by no other test
REQUEST = uuid.uuid4()
OLD_REQUEST = uuid.uuid4()


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    async with running_registry(registry_settings(infra, module_database)) as running:
        yield running


@pytest.fixture(scope="module")
async def url(
    module_database: str, console_pool: asyncpg.Pool, registry: RunningRegistry
) -> AsyncIterator[str]:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    client = RegistryOperator.connect(registry.grpc_address, session_pki())
    projection = Projection(console_pool, NameBox(os.urandom(32)))
    now = datetime.now(UTC)
    employer = uuid.uuid4()
    await projection.apply(
        [
            _requested(REQUEST, now - timedelta(minutes=3), employer),
            VerificationProgressed(
                request_id=REQUEST,
                employer_id=employer,
                stage=Stage.WAITING_FOR_BODY,
                expected_completion_at=now - timedelta(minutes=1),
                occurred_at=now - timedelta(minutes=2),
            ),
            _requested(OLD_REQUEST, now - timedelta(hours=3), employer),
        ]
    )
    deps.flow = FlowWatch(projection, deps.audit, None, max_rows=1000, rules=StuckRules())
    deps.catalogue_watch = CatalogueWatchUse(projection, client, deps.audit, dormant_months=6)
    async with serve_console(deps, [*flow.routes(deps), *catalogue.routes(deps)]) as served:
        yield served
    await client.close()


def _requested(request_id: uuid.UUID, at: datetime, employer: uuid.UUID) -> VerificationRequested:
    return VerificationRequested(
        request_id=request_id,
        employer_id=employer,
        region="beijing",
        qualification_id="aws-e94e5145",
        body_ids=["aws"],
        holder=HolderClaim(name="Kenji Nguyen", nationality="JPN", holder_ref="ref"),
        certificate=CertificateClaim(number="AWS-68234618", issued_on=date(2023, 9, 27)),
        occurred_at=at,
    )


async def test_the_flow_page_and_the_requests_behind_its_numbers(url: str) -> None:
    async with signed_in_client(url, *VIEWER) as client:
        client.cookies.set("qv_console_lang", "en")
        page = await client.get("/flow")
        assert page.status_code == 200
        assert "The flow of verifications" in page.text
        assert 'hx-get="/flow/live?window=60"' in page.text
        assert f"/flow/requests/{REQUEST}" in page.text  # stuck: past its expected time
        assert "Past the verifier&#39;s expected completion" in page.text
        assert "AWS-68234618" not in page.text and "Kenji" not in page.text

        wider = await client.get("/flow/live?window=360")
        assert wider.status_code == 200 and 'id="flow-live"' in wider.text
        assert "<html" not in wider.text  # the fragment only

        behind = await client.get("/flow/requests?stage=waiting_for_body&current=1&window=60")
        assert behind.status_code == 200 and str(REQUEST) in behind.text
        assert str(OLD_REQUEST) not in behind.text
        accepted = await client.get("/flow/requests?stage=accepted&window=360")
        assert str(OLD_REQUEST) in accepted.text
        hop = await client.get("/flow/requests?hop=accepted-waiting_for_body&window=60")
        assert hop.status_code == 200 and str(REQUEST) in hop.text

        series = (await client.get("/flow/series.json?window=15")).json()
        assert len(series["x"]) == 16 and [s["label"] for s in series["series"]][:2] == [
            "Accepted",
            "Waiting for a body",
        ]
        assert sum(series["series"][0]["values"]) == 1


async def test_bad_input_is_refused_in_both_languages(url: str) -> None:
    async with signed_in_client(url, *VIEWER) as client:
        for path in (
            "/flow?window=7",
            "/flow/requests?stage=lost&window=60",
            "/flow/requests?hop=accepted&window=60",
            "/catalogue?show=everything",
        ):
            refused = await client.get(path)
            assert refused.status_code == 400, path
            assert "请求被拒绝" in refused.text or "The request was refused" in refused.text
        assert (await client.get("/flow/requests/not-a-uuid")).status_code == 404
        assert (await client.get(f"/flow/requests/{uuid.uuid4()}")).status_code == 404


async def test_opening_a_request_shows_the_name_to_operators_and_audits_it(url: str) -> None:
    target = f"request:{REQUEST}"
    async with signed_in_client(url, *VIEWER) as viewer:
        masked = await viewer.get(f"/flow/requests/{REQUEST}")
        assert masked.status_code == 200
        assert "K**** N*****" in masked.text and "Kenji" not in masked.text
        assert "AWS-68234618" not in masked.text
    async with signed_in_client(url, *OPERATOR) as operator:
        opened = await operator.get(f"/flow/requests/{REQUEST}")
        assert opened.status_code == 200 and "Kenji Nguyen" in opened.text
        audit = await operator.get(f"/audit?target={target}")
        assert audit.text.count("open-request") == 1
        assert "alice" in audit.text and "Kenji" not in audit.text


async def test_the_catalogue_watch_and_a_withdrawal(url: str) -> None:
    path = f"/catalogue/{SCHEDULED}/withdraw"
    async with signed_in_client(url, *VIEWER) as viewer:
        page = await viewer.get("/catalogue")
        assert page.status_code == 200 and f"<code>{SCHEDULED}</code>" in page.text
        assert path not in page.text  # viewers are offered no action
        dormant = await viewer.get("/catalogue?show=dormant")
        assert SCHEDULED in dormant.text and "aws-e94e5145</code>" not in dormant.text
        form = {"withdrawn_on": "2099-01-01", "reason": "viewer", "confirm": "yes"}
        refused = await post_form(viewer, "/catalogue", path, form)
        assert refused.status_code == 403

    async with signed_in_client(url, *OPERATOR) as operator:
        operator.cookies.set("qv_console_lang", "en")
        assert path in (await operator.get("/catalogue")).text
        unconfirmed = await post_form(
            operator, path, path, {"withdrawn_on": "2099-1-1", "reason": " "}
        )
        assert unconfirmed.status_code == 422
        for message in ("YYYY-MM-DD", "A reason is required", "Tick the box"):
            assert message in unconfirmed.text
        unknown = await post_form(
            operator,
            path,
            "/catalogue/no-such-qualification/withdraw",
            {"reason": "gone", "confirm": "yes"},
        )
        assert unknown.status_code == 404

        done = await post_form(
            operator,
            path,
            path,
            {"withdrawn_on": "2099-01-01", "reason": "superseded", "confirm": "yes"},
        )
        assert (
            done.status_code == 303
            and done.headers["location"] == f"/catalogue?withdrawn={SCHEDULED}"
        )
        after = await operator.get(done.headers["location"])
        assert "Withdrawal recorded" in after.text and "2099-01-01" in after.text
        audit = await operator.get(f"/audit?target=qualification:{SCHEDULED}")
        assert "withdraw-qualification" in audit.text and "superseded" in audit.text
