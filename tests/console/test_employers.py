"""The console's Employers section against intake's real operator API: pending sign-ups with
contacts masked, one opened in full (audited), approved or rejected by an operator (audited,
the admins mailed by intake), never by a viewer, never twice."""

import re
from collections.abc import AsyncIterator
from uuid import uuid4

import asyncpg
import pytest
import pytest_asyncio

from deploy.local.processes import free_port
from services.console.__main__ import core_deps
from services.console.adapters.intake import IntakeOperator
from services.console.web import employers
from services.console.web.deps import Deps
from services.console.web.i18n import LANGUAGE_COOKIE
from tests.console.conftest import (
    OPERATOR,
    VIEWER,
    RunningConsole,
    console_settings,
    serve_console,
    with_accounts,
)
from tests.console.intake_support import (
    INTAKE_TOKEN,
    RunningIntake,
    mail_kinds,
    pending_employer,
    serving_intake,
)
from tests.console.support import post_form, signed_in_client

pytestmark = pytest.mark.integration


@pytest_asyncio.fixture(scope="module")
async def intake(
    module_database: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[RunningIntake]:
    async with serving_intake(module_database, tmp_path_factory.mktemp("channels")) as running:
        yield running


@pytest_asyncio.fixture(scope="module")
async def console(
    module_database: str, console_pool: asyncpg.Pool, intake: RunningIntake
) -> AsyncIterator[RunningConsole]:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    deps.intake = IntakeOperator.connect(intake.url, INTAKE_TOKEN)
    async with serve_console(deps, employers.routes(deps)) as url:
        yield RunningConsole(url, deps)
    await deps.intake.aclose()


async def test_pending_employers_are_listed_with_the_contact_masked(
    console: RunningConsole, intake: RunningIntake
) -> None:
    signed_up = await pending_employer(intake.pool)
    async with signed_in_client(console.url, *VIEWER) as viewer:
        viewer.cookies.set(LANGUAGE_COOKIE, "en")
        page = await viewer.get("/employers")
    assert page.status_code == 200, page.text
    assert signed_up.name in page.text and signed_up.credit_code in page.text
    assert signed_up.email not in page.text and signed_up.phone not in page.text
    assert "w***@harbour.example" in page.text and "*********23" in page.text
    assert "Wang Fang" not in page.text and "W*** F***" in page.text


async def test_opening_an_employer_shows_the_contact_and_is_audited(
    console: RunningConsole, intake: RunningIntake
) -> None:
    signed_up = await pending_employer(intake.pool)
    async with signed_in_client(console.url, *VIEWER) as viewer:
        page = await viewer.get(f"/employers/{signed_up.id}")
        assert page.status_code == 200
        assert signed_up.email in page.text and signed_up.phone in page.text
        assert "Approve" not in page.text and "批准</button>" not in page.text
        for action in ("approve", "reject"):
            refused = await viewer.post(
                f"/employers/{signed_up.id}/{action}",
                data={"csrftoken": _token(page.text), "reason": "no"},
            )
            assert refused.status_code == 403
        missing = await viewer.get(f"/employers/{uuid4()}")
        assert missing.status_code == 404
    (entry, *_) = await console.deps.audit.recent(target=f"employer:{signed_up.id}")
    assert entry.actor == VIEWER[0] and entry.action == "employer-open-contact"
    assert await mail_kinds(intake.pool, signed_up.id) == []
    status = await intake.pool.fetchval("SELECT status FROM employers WHERE id = $1", signed_up.id)
    assert status == "pending"


async def test_an_operator_approves_once_and_a_second_approval_is_told_apart(
    console: RunningConsole, intake: RunningIntake
) -> None:
    signed_up = await pending_employer(intake.pool)
    path = f"/employers/{signed_up.id}"
    async with signed_in_client(console.url, *OPERATOR) as operator:
        approved = await post_form(operator, path, f"{path}/approve", {})
        assert approved.status_code == 303
        assert approved.headers["location"] == f"/employers?decided={signed_up.id}"
        listed = await operator.get(approved.headers["location"])
        assert "已批准" in listed.text and signed_up.name in listed.text
        again = await post_form(operator, path, f"{path}/approve", {})
    assert again.status_code == 409
    assert "已审核" in again.text and "already been decided" not in again.text  # Chinese page
    status = await intake.pool.fetchval(
        "SELECT status || ' ' || decided_by FROM employers WHERE id = $1", signed_up.id
    )
    assert status == f"active {OPERATOR[0]}"
    assert await mail_kinds(intake.pool, signed_up.id) == ["employer-approved"]
    actions = [
        (e.action, e.detail["outcome"])
        for e in await console.deps.audit.recent(target=f"employer:{signed_up.id}")
        if e.action != "employer-open-contact"
    ]
    assert actions == [
        ("employer-approve", "refused: AlreadyDecided"),
        ("employer-approve", "active"),
    ]


async def test_a_rejection_needs_a_reason_which_the_form_keeps(
    console: RunningConsole, intake: RunningIntake
) -> None:
    signed_up = await pending_employer(intake.pool)
    path = f"/employers/{signed_up.id}"
    async with signed_in_client(console.url, *OPERATOR) as operator:
        operator.cookies.set(LANGUAGE_COOKIE, "en")
        refused = await post_form(operator, path, f"{path}/reject", {"reason": "  "})
        assert refused.status_code == 422
        assert "a rejection needs a reason" in refused.text
        rejected = await post_form(
            operator, path, f"{path}/reject", {"reason": "The credit code names another company"}
        )
        assert rejected.status_code == 303
        listed = await operator.get(rejected.headers["location"])
    assert "Rejected:" in listed.text and "The credit code names another company" in listed.text
    assert await mail_kinds(intake.pool, signed_up.id) == ["employer-rejected"]


async def test_intake_away_or_refusing_the_token_is_said_plainly(
    console_pool: asyncpg.Pool, module_database: str, intake: RunningIntake
) -> None:
    for intake_url, token, expected in [
        (f"http://127.0.0.1:{free_port()}", INTAKE_TOKEN, "受理服务暂无响应"),
        (intake.url, "wrong-token", "CONSOLE_INTAKE_OPERATOR_TOKEN"),
    ]:
        deps: Deps = core_deps(console_settings(module_database), console_pool)
        deps.intake = IntakeOperator.connect(intake_url, token)
        async with (
            serve_console(deps, employers.routes(deps)) as url,
            signed_in_client(url, *OPERATOR) as operator,
        ):
            page = await operator.get("/employers")
        await deps.intake.aclose()
        assert page.status_code == 503 and expected in page.text


def _token(html: str) -> str:
    found = re.search(r'name="csrftoken" value="([^"]+)"', html)
    assert found
    return found.group(1)
