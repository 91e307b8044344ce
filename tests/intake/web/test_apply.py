"""Applying for one certificate from the employer pages: the catalogue typeahead, the chosen
bodies' channel fields, the dry run and the submission (the API's own use cases)."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.intake.support import JOINT_QUALIFICATION, PMI_QUALIFICATION, QUALIFICATION
from tests.intake.web.support import SignedIn, client_as, csrf_token, post_form, session_for

pytestmark = pytest.mark.integration

KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')


def application_form(number: str, **changes: Any) -> dict[str, Any]:
    """A complete form, as a person fills it in (field names as the CSV columns)."""
    form: dict[str, Any] = {
        "qualification_id": QUALIFICATION,
        "bodies_shown": "1",
        "body_ids": "aws",
        "holder_name": "ZHANG Wei",
        "holder_name_zh": "张伟",
        "nationality": "CHN",
        "document_type": "resident_id",
        "document_number": "11010519491231002X",
        "certificate_number": number,
        "issued_on": "2024-03-01",
        "expires_on": "",
        "region": "beijing",
        "consent": "yes",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


async def count_requests(pool: asyncpg.Pool, number: str) -> int:
    found: int = await pool.fetchval(
        "SELECT count(*) FROM intake.requests WHERE certificate_number = $1", number
    )
    return found


async def test_the_typeahead_finds_qualifications_in_chinese_and_english(
    deps: WebDeps, web_url: str
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        chinese = await client.get("/apply/search", params={"q": "会计师"})
        english = await client.get("/apply/search", params={"q": "solutions architect"})
        nothing = await client.get("/apply/search", params={"q": "zzzqqq"})
        without_js = await client.get("/apply", params={"q": "solutions architect"})
    assert chinese.status_code == 200
    assert "会计师" in chinese.text
    assert chinese.text.count("<li>") >= 1
    assert f"qualification_id={QUALIFICATION}" in english.text
    assert f'hx-get="/apply/chosen?qualification_id={QUALIFICATION}"' in english.text
    assert "zzzqqq" in nothing.text and "<li>" not in nothing.text
    assert f"qualification_id={QUALIFICATION}" in without_js.text  # a plain GET form works too


async def test_choosing_a_qualification_shows_its_bodies_and_their_channel_fields(
    deps: WebDeps, web_url: str
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        joint = await client.get("/apply/chosen", params={"qualification_id": JOINT_QUALIFICATION})
        pmi = await client.get("/apply", params={"qualification_id": PMI_QUALIFICATION})
        pmi_unticked = await client.get(
            "/apply/chosen", params={"qualification_id": PMI_QUALIFICATION, "bodies_shown": "1"}
        )
    for body in ("libf", "icc", "baft"):
        assert re.search(rf'id="body-{body}" name="body_ids" value="{body}" checked', joint.text)
    assert 'name="channel.credential_jwt"' not in joint.text
    assert 'name="channel.credential_jwt"' in pmi.text
    assert 'name="channel.badge_url"' in pmi.text
    assert 'id="body-pmi" name="body_ids" value="pmi" checked' not in pmi_unticked.text
    assert 'name="channel.credential_jwt"' not in pmi_unticked.text


async def test_the_dry_run_shows_each_refusal_beside_its_field_and_stores_nothing(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    tomorrow = (datetime.now(UTC).date() + timedelta(days=2)).isoformat()
    cases = {
        "consent": application_form("DRY-1", consent=None),
        "issued_on": application_form("DRY-2", issued_on=tomorrow),
        "channel.credential_jwt": application_form(
            "DRY-3",
            qualification_id=PMI_QUALIFICATION,
            body_ids="pmi",
            **{"channel.badge_url": "https://badges.example/1"},
        ),
        "nationality": application_form("DRY-4", nationality="China"),
    }
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        for field, form in cases.items():
            answer = await post_form(client, "/apply", "/apply", {**form, "action": "check"})
            assert answer.status_code == 422, field
            error_id = field.replace(".", "-") + "-error"
            assert f'id="{error_id}"' in answer.text, field
            assert f'aria-describedby="{field.replace(".", "-")}-hint {error_id}"' in answer.text
            # The form keeps what was typed.
            assert f'value="{form["certificate_number"]}"' in answer.text
            assert 'value="https://badges.example/1"' in answer.text or field != (
                "channel.credential_jwt"
            )
        again = await post_form(client, "/apply", "/apply", {**cases["consent"], "action": "check"})
    assert "must be true" in again.text
    for number in ("DRY-1", "DRY-2", "DRY-3", "DRY-4"):
        assert await count_requests(pool, number) == 0


async def test_a_refusal_reads_in_chinese_for_a_chinese_reader(deps: WebDeps, web_url: str) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    form = application_form("DRY-ZH", consent=None, action="check")
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "zh")
        answer = await post_form(client, "/apply", "/apply", form)
    assert "持证人未同意核验" in answer.text
    assert "须为 true" in answer.text


async def test_a_clean_dry_run_tells_the_expected_completion_and_stores_nothing(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        form = {**application_form("DRY-OK"), "action": "check"}
        answer = await post_form(client, "/apply", "/apply", form)
    assert answer.status_code == 200
    assert "The form is in order" in answer.text
    assert "Expected completion" in answer.text
    assert await count_requests(pool, "DRY-OK") == 0


async def test_submitting_twice_with_the_same_form_creates_one_request(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        page = await client.get("/apply", params={"qualification_id": QUALIFICATION})
        key = KEY.search(page.text)
        assert key is not None
        form = {
            **application_form("SUB-1"),
            "action": "submit",
            "idempotency_key": key.group(1),
            "csrftoken": csrf_token(page.text),
        }
        first = await client.post("/apply", data=form)
        second = await client.post("/apply", data=form)
        changed = await client.post("/apply", data={**form, "holder_name": "LI Lei"})
    assert first.status_code == 200, first.text
    assert "Application submitted" in first.text
    assert "Expected completion" in first.text
    assert "11010519491231002X" not in first.text  # the document number is never shown back
    links = re.findall(r'href="/applications/([0-9a-f-]{36})"', first.text)
    assert links and re.findall(r'href="/applications/([0-9a-f-]{36})"', second.text) == links
    assert await count_requests(pool, "SUB-1") == 1
    assert changed.status_code == 409
    assert "already submitted with other details" in changed.text
    assert await count_requests(pool, "SUB-1") == 1
    fresh_key = KEY.search(changed.text)
    assert fresh_key is not None and fresh_key.group(1) != key.group(1)
    assert 'value="LI Lei"' in changed.text  # kept, to submit as a new application


async def test_a_new_form_applying_for_a_certificate_in_flight_gets_the_same_request(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    applicant = await session_for(deps, Role.APPLICANT)
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        form = {**application_form("SUB-2"), "action": "submit"}
        first = await post_form(client, "/apply", "/apply", form)
        again = await post_form(client, "/apply", "/apply", form)  # a fresh form: another key
        check = await post_form(client, "/apply", "/apply", {**form, "action": "check"})
    assert "Application submitted" in first.text
    assert "Already in progress" in again.text
    assert "already in progress" in check.text
    assert await count_requests(pool, "SUB-2") == 1


@pytest.mark.parametrize("path", ["/apply", "/apply/search?q=aws", "/apply/chosen"])
async def test_a_viewer_may_not_apply(deps: WebDeps, web_url: str, path: str) -> None:
    viewer = await session_for(deps, Role.VIEWER)
    async with client_as(web_url, viewer) as client:
        answer = await client.get(path)
    assert answer.status_code == 403


async def test_a_viewer_cannot_post_an_application(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    viewer: SignedIn = await session_for(deps, Role.VIEWER)
    async with client_as(web_url, viewer) as client:
        start = await client.get("/applications")  # a page a viewer may see, for its token
        form = {
            **application_form("VIEW-1"),
            "action": "submit",
            "csrftoken": csrf_token(start.text),
        }
        answer = await client.post("/apply", data=form)
    assert answer.status_code == 403
    assert await count_requests(pool, "VIEW-1") == 0


async def test_without_javascript_the_fields_follow_the_bodies_ticked(
    deps: WebDeps, web_url: str, pool: asyncpg.Pool
) -> None:
    """The noscript button posts the form to show the fields of the bodies still ticked, keeping
    what was typed, checking and storing nothing."""
    applicant = await session_for(deps, Role.APPLICANT)
    form = application_form(
        "NOJS-1", qualification_id=PMI_QUALIFICATION, body_ids=None, action="fields"
    )
    async with client_as(web_url, applicant) as client:
        client.cookies.set("qv_employer_lang", "en")
        answer = await post_form(client, "/apply", "/apply", form)
        unknown = await client.get("/apply", params={"qualification_id": "no-such-thing"})
    assert answer.status_code == 200
    assert 'id="body-pmi" name="body_ids" value="pmi"' in answer.text
    assert 'value="pmi" checked' not in answer.text  # unticked
    assert 'name="channel.credential_jwt"' not in answer.text
    assert 'value="NOJS-1"' in answer.text and 'role="alert"' not in answer.text
    assert "First choose the qualification above." in unknown.text
    assert await count_requests(pool, "NOJS-1") == 0
