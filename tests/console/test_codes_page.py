"""The Codes section over HTTP against a real registry: look up (the name masked, audited in
both logs), revoke with a reason and a confirmation (operators only), and the access trail."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.console.__main__ import core_deps
from services.console.web import codes
from services.registry.domain.codes import generate_code
from tests.console.conftest import (
    OPERATOR,
    VIEWER,
    console_settings,
    serve_console,
    with_accounts,
)
from tests.console.registry_fixtures import RegistryConsole, registry_console
from tests.console.support import post_form, signed_in_client
from tests.infra import Infra

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def site(
    infra: Infra, module_database: str, console_pool: asyncpg.Pool
) -> AsyncIterator[RegistryConsole]:
    async with registry_console(infra, module_database, console_pool, codes.routes) as running:
        yield running


async def test_a_code_is_shown_masked_and_its_lookup_audited(site: RegistryConsole) -> None:
    code = await site.issue_code(holder_name="ZHANG Wei", region="hebei")
    async with signed_in_client(site.url, *VIEWER) as client:
        client.cookies.set("qv_console_lang", "en")
        page = await client.get("/codes", params={"code": code.replace("-", "").lower()})
    assert page.status_code == 200
    html = page.text
    assert code in html and "Z**** W**" in html and "ZHANG Wei" not in html
    assert "Hebei" in html and "ACCA" in html and "Valid" in html
    assert "Only operators may revoke a code." in html  # a viewer sees no revoke form
    assert 'action="/codes/revoke"' not in html
    # The registry recorded the read; the console recorded who asked.
    assert "GetVerification" in html
    entries = await site.deps.audit.recent(target=code)
    assert [(e.actor, e.action) for e in entries] == [(VIEWER[0], "code-lookup")]


async def test_an_operator_revokes_a_code_with_a_reason(site: RegistryConsole) -> None:
    code = await site.issue_code()
    page = f"/codes?code={code}"
    async with signed_in_client(site.url, *OPERATOR) as client:
        client.cookies.set("qv_console_lang", "en")
        unconfirmed = await post_form(
            client, page, "/codes/revoke", {"code": code, "reason": "forged certificate"}
        )
        assert unconfirmed.status_code == 422
        assert "Tick the confirmation box" in unconfirmed.text
        assert (await site.operator.verification(code)).status.value == "valid"

        no_reason = await post_form(
            client, page, "/codes/revoke", {"code": code, "reason": "  ", "confirm": "yes"}
        )
        assert no_reason.status_code == 422 and "A reason is required" in no_reason.text

        done = await post_form(
            client,
            page,
            "/codes/revoke",
            {"code": code, "reason": "forged certificate", "confirm": "yes"},
        )
        assert done.status_code == 303
        shown = await client.get(done.headers["location"])
    assert "The code is revoked." in shown.text and "forged certificate" in shown.text
    assert "Revoked" in shown.text and 'action="/codes/revoke"' not in shown.text
    assert "RevokeCode" in shown.text  # in the registry's trail

    actions = [(e.action, e.detail) for e in await site.deps.audit.recent(target=code)]
    assert ("code-revoke", {"outcome": "revoked", "reason": "forged certificate"}) in actions
    assert [a for a, _ in actions].count("code-revoke") == 1  # refused forms never reached it


async def test_revoking_twice_is_recorded_as_already_revoked(site: RegistryConsole) -> None:
    code = await site.issue_code()
    form = {"code": code, "reason": "first reason", "confirm": "yes"}
    async with signed_in_client(site.url, *OPERATOR) as client:
        assert (await post_form(client, "/codes", "/codes/revoke", form)).status_code == 303
        again = form | {"reason": "second reason"}
        assert (await post_form(client, "/codes", "/codes/revoke", again)).status_code == 303
    outcomes = [
        e.detail["outcome"]
        for e in await site.deps.audit.recent(target=code)
        if e.action == "code-revoke"
    ]
    assert outcomes == ["already revoked", "revoked"]
    assert (await site.operator.verification(code)).revocation_reason == "first reason"


async def test_a_viewer_may_not_revoke(site: RegistryConsole) -> None:
    code = await site.issue_code()
    async with signed_in_client(site.url, *VIEWER) as client:
        refused = await post_form(
            client, "/codes", "/codes/revoke", {"code": code, "reason": "x", "confirm": "yes"}
        )
    assert refused.status_code == 403
    assert (await site.operator.verification(code)).status.value == "valid"
    assert not [e for e in await site.deps.audit.recent(target=code) if e.action == "code-revoke"]


async def test_unknown_and_malformed_codes_are_explained(site: RegistryConsole) -> None:
    async with signed_in_client(site.url, *OPERATOR) as client:
        client.cookies.set("qv_console_lang", "zh")
        unknown = await client.get("/codes", params={"code": str(generate_code())})
        malformed = await client.get("/codes", params={"code": "not a code"})
        trail = await client.get("/codes/trail", params={"code": "not a code"})
    assert unknown.status_code == 404 and "未签发过该核验码" in unknown.text
    assert malformed.status_code == 422 and 'role="alert"' in malformed.text
    assert trail.status_code == 422


async def test_the_trail_is_a_live_fragment_and_pages_back(site: RegistryConsole) -> None:
    code = await site.issue_code()
    for _ in range(3):
        await site.operator.lookup(code)
    async with signed_in_client(site.url, *OPERATOR) as client:
        fragment = await client.get(
            "/codes/trail", params={"code": code}, headers={"HX-Request": "true"}
        )
        assert fragment.status_code == 200
        assert fragment.text.lstrip().startswith('<div id="code-trail"')
        assert 'hx-trigger="every 10s"' in fragment.text
        assert fragment.text.count("<td>LookupCode</td>") == 3

        first = await site.operator.access_trail(code, limit=2)
        older = await client.get("/codes/trail", params={"code": code, "cursor": first.next_cursor})
    assert older.status_code == 200 and "<h1>" in older.text  # a page of its own
    assert "hx-trigger" not in older.text  # an older page does not refresh


async def test_without_a_registry_the_page_says_so(
    module_database: str, console_pool: asyncpg.Pool
) -> None:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    async with (
        serve_console(deps, codes.routes(deps)) as url,
        signed_in_client(url, *OPERATOR) as client,
    ):
        client.cookies.set("qv_console_lang", "en")
        page = await client.get("/codes", params={"code": str(generate_code())})
    assert page.status_code == 503
    assert "The registry is not configured for this console" in page.text


async def test_a_refused_revocation_is_audited_and_explained(site: RegistryConsole) -> None:
    unknown = str(generate_code())
    form = {"code": unknown, "reason": "looks forged", "confirm": "yes"}
    async with signed_in_client(site.url, *OPERATOR) as client:
        client.cookies.set("qv_console_lang", "en")
        refused = await post_form(client, "/codes", "/codes/revoke", form)
    assert refused.status_code == 404
    assert "no verification code like this was issued" in refused.text
    (entry,) = await site.deps.audit.recent(target=unknown)
    assert (entry.actor, entry.action) == (OPERATOR[0], "code-revoke")
    assert entry.detail["outcome"] == "refused" and entry.detail["reason"] == "looks forged"
