"""The public check page (便民服务) over HTTP: valid / revoked / unknown in both languages, refusals
next to the field, the signed statement as a file, and the same per-client budget and audit as
the JSON check."""

import math
import random
import re
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import asyncpg
import httpx
import orjson
import pytest
from joserfc import jws
from joserfc.jwk import KeySet

from qualverify.registry.v1 import registry_pb2
from services.reference.catalogue.loader import load_edition
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.api.public import PublicApi
from services.registry.domain.codes import CHECK_SYMBOLS, VerificationCode, generate_code
from services.registry.domain.statements import Issuer
from services.registry.store.audit import AuditLog
from services.registry.store.catalogue import CatalogueStore
from services.registry.store.check_budget import address_key
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from tests.infra import Infra
from tests.registry.support import issue_request, registry_settings, trusted_stub

pytestmark = pytest.mark.integration

CATALOGUE = load_edition()
QUALIFICATION = CATALOGUE.qualification("acca-f491547a")
HOLDER = "Kenji Nguyen"
EMPLOYER = "91110108MA01ABCD2X"
BASE_URL = "https://registry.example.cn"


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(
        infra, module_database, public_rate_limit="1000/minute", public_base_url=BASE_URL
    )
    async with running_registry(settings) as running:
        yield running


@pytest.fixture
async def http(registry: RunningRegistry) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=registry.public_url) as client:
        yield client


async def issue(stub: Any) -> Any:
    return await stub.seed(
        issue_request(
            qualification_id=QUALIFICATION.id,
            body_ids=list(QUALIFICATION.body_ids),
            holder_name=HOLDER,
            employer_id=EMPLOYER,
        )
    )


def error_box(html: str) -> str:
    """The text of the refusal shown next to the field."""
    match = re.search(r'<div id="code-error"[^>]*>(.*?)</div>', html, re.DOTALL)
    assert match, html
    return match.group(1)


def field_value(html: str) -> str:
    match = re.search(r'<input id="code"[^>]*value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def assert_page(response: httpx.Response, status: int, *, with_form: bool = True) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    html = response.text
    assert '<meta name="viewport"' in html
    assert ('<script src="/static/check.js" defer></script>' in html) == with_form
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "no inline script"
    assert "便民服务" in html and "Public services" in html
    return html


async def test_the_form_alone(http: httpx.AsyncClient) -> None:
    html = assert_page(await http.get("/check"), 200)
    assert '<form class="check" method="get" action="/check">' in html
    assert '<label for="code">' in html and "核验码" in html and "Verification code" in html
    assert 'name="code"' in html and field_value(html) == ""
    assert 'role="status"' not in html  # no result yet
    assert "hidden" in re.search(r'<div id="code-error"[^>]*>', html).group(0)  # type: ignore[union-attr]
    assert "不对证书持有人真实资历及实际水平进行确认" in html  # the notice's step 4
    assert (await http.get("/", follow_redirects=False)).headers["location"] == "/check"


async def test_a_valid_code_in_both_languages_without_personal_data(
    stub: Any, http: httpx.AsyncClient
) -> None:
    issued = await issue(stub)
    html = assert_page(await http.get("/check", params={"code": issued.code}), 200)
    assert 'role="status"' in html
    assert "有效" in html and "Valid" in html
    assert "K**** N*****" in html
    assert QUALIFICATION.name in html and str(QUALIFICATION.name_en) in html
    for body in CATALOGUE.bodies_of(QUALIFICATION.id):
        assert body.name in html
    assert '<time datetime="2025-06-01">' in html
    assert issued.code in html
    assert f'href="/v1/codes/{issued.code}/statement"' in html
    assert f"{BASE_URL}/.well-known/jwks.json" in html and f"{BASE_URL}/v1/status-lists/1" in html
    for private in ("Kenji", "Nguyen", issued.verification.holder_ref, EMPLOYER):
        assert private not in html


async def test_a_code_typed_loosely_is_read_as_parse_code_reads_it(
    stub: Any, http: httpx.AsyncClient
) -> None:
    issued = await issue(stub)
    loose = " " + issued.code.replace("-", " ").lower().replace("0", "o") + " "
    html = assert_page(await http.get("/check", params={"code": loose}), 200)
    assert "有效" in html and f'<dd class="code">{issued.code}</dd>' in html


async def test_a_revoked_code_shows_the_reason(stub: Any, http: httpx.AsyncClient) -> None:
    issued = await issue(stub)
    reason = "certificate withdrawn by its body <2025>"
    await stub.RevokeCode(registry_pb2.RevokeCodeRequest(code=issued.code, reason=reason))
    html = assert_page(await http.get("/check", params={"code": issued.code}), 200)
    assert "已撤销" in html and "Revoked" in html
    assert "撤销原因" in html and "Reason for revocation" in html
    assert "certificate withdrawn by its body &lt;2025&gt;" in html  # escaped, never markup
    assert "K**** N*****" in html and "Kenji" not in html


async def test_an_unknown_code(http: httpx.AsyncClient) -> None:
    code = str(generate_code())
    html = assert_page(await http.get("/check", params={"code": code}), 404)
    assert "未签发过该核验码" in html and "no such verification code was issued" in html
    assert f'<dd class="code">{code}</dd>' in html
    assert "/statement" not in html and "**" not in html


@pytest.mark.parametrize(
    ("typed", "english", "chinese"),
    [
        ("7K3M-Q9XD", "17 characters without separators, got 8", "实际为 8 个"),
        ("7K3M-Q9XD-2HVR-B8TW-Z7", "got 18", "实际为 18 个"),
        ("7K3M-Q9XD-2HUR-B8TW-Z", "character &#39;U&#39; at position 11", "第 11 位"),
        ("核验码核验码核验码核验码核验码核验", "17 characters from 0-9 and A-Z", "0-9、A-Z"),
    ],
)
async def test_malformed_input_is_refused_next_to_the_field(
    http: httpx.AsyncClient, typed: str, english: str, chinese: str
) -> None:
    html = assert_page(await http.get("/check", params={"code": typed}), 400)
    refusal = error_box(html)
    assert english in refusal and chinese in refusal
    assert 'lang="en"' in refusal and 'lang="zh-CN"' in refusal
    assert field_value(html) == typed  # the form keeps what was typed
    assert 'aria-invalid="true"' in html and 'role="status"' not in html


async def test_a_wrong_check_character_is_refused(stub: Any, http: httpx.AsyncClient) -> None:
    issued = await issue(stub)
    wrong = next(s for s in CHECK_SYMBOLS if s != issued.code[-1])
    typed = issued.code[:-1] + wrong
    html = assert_page(await http.get("/check", params={"code": typed}), 400)
    refusal = error_box(html)
    assert "校验字符" in refusal and "does not match the rest of the code" in refusal
    assert "K**** N*****" not in html


async def test_the_statement_downloads_as_stored_and_verifies_offline(
    stub: Any, http: httpx.AsyncClient
) -> None:
    issued = await issue(stub)
    response = await http.get(f"/v1/codes/{issued.code.replace('-', '').lower()}/statement")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vc+jwt"
    assert response.headers["content-disposition"] == f'attachment; filename="{issued.code}.jwt"'
    assert response.text == issued.statement
    # What the page tells a reader to do, with nothing of ours: the JWKS and a JOSE library.
    keys = KeySet.import_key_set((await http.get("/.well-known/jwks.json")).json())
    token = jws.deserialize_compact(response.text, keys, algorithms=["Ed25519"])
    claims = orjson.loads(token.payload)
    assert claims["credentialSubject"]["verificationCode"] == issued.code
    assert claims["credentialStatus"]["statusListCredential"] == f"{BASE_URL}/v1/status-lists/1"


async def test_the_statement_of_a_bad_or_unknown_code_is_refused(
    http: httpx.AsyncClient,
) -> None:
    unknown = await http.get(f"/v1/codes/{generate_code()}/statement")
    assert unknown.status_code == 404
    assert unknown.json()["type"] == "/problems/unknown-code"
    code = str(generate_code())
    wrong = next(s for s in CHECK_SYMBOLS if s != code[-1])
    typo = await http.get(f"/v1/codes/{code[:-1]}{wrong}/statement")
    assert typo.status_code == 400
    assert typo.json()["type"] == "/problems/check-character-mismatch"


async def audit_rows(database: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database)
    try:
        return await conn.fetch("SELECT * FROM registry.audit_log ORDER BY id")
    finally:
        await conn.close()


async def test_page_statement_and_json_share_one_budget(infra: Infra, fresh_database: str) -> None:
    """The limit is spent on the JSON check; then the page and the statement are refused too."""
    limit = 4
    settings = registry_settings(infra, fresh_database, public_rate_limit=f"{limit}/minute")
    async with (
        running_registry(settings) as running,
        trusted_stub(running.grpc_address, running) as stub,
        httpx.AsyncClient(base_url=running.public_url) as http,
    ):
        issued = await issue(stub)
        assert_page(await http.get("/check", params={"code": issued.code}), 200)
        assert (await http.get(f"/v1/codes/{issued.code}/statement")).status_code == 200
        statuses = [(await http.get(f"/v1/codes/{issued.code}")).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]

        page = await http.get("/check", params={"code": issued.code})
        html = assert_page(page, 429, with_form=False)
        # Sliding window: a full minute weighs on into the next one for 1/limit of it.
        assert 1 <= int(page.headers["retry-after"]) <= 60 + math.ceil(60 / limit)
        assert "查询过于频繁" in html and "Too many checks" in html
        assert page.headers["retry-after"] in html
        assert "K**** N*****" not in html

        as_program = await http.get(f"/v1/codes/{issued.code}/statement")
        assert as_program.status_code == 429 and int(as_program.headers["retry-after"]) >= 1
        assert as_program.json()["type"] == "/problems/rate-limited"
        as_browser = await http.get(
            f"/v1/codes/{issued.code}/statement", headers={"Accept": "text/html,*/*;q=0.8"}
        )
        assert as_browser.status_code == 429 and "查询过于频繁" in as_browser.text

    audited = [row for row in await audit_rows(fresh_database) if row["actor"] == "public"]
    assert [(row["action"], row["outcome"]) for row in audited] == [
        ("PublicCheckPage", "found"),
        ("PublicStatement", "found"),
        ("PublicCheck", "found"),
        ("PublicCheck", "found"),
    ]
    assert {row["code"] for row in audited} == {issued.code}
    assert {row["peer"] for row in audited} == {"127.0.0.1"}


async def test_a_refused_input_is_not_audited_but_an_unknown_code_is(
    http: httpx.AsyncClient, module_database: str
) -> None:
    before = len(await audit_rows(module_database))
    await http.get("/check", params={"code": "not a code"})
    code = str(generate_code())
    await http.get("/check", params={"code": code})
    rows = (await audit_rows(module_database))[before:]
    assert [(r["action"], r["outcome"], r["code"]) for r in rows] == [
        ("PublicCheckPage", "unknown", code)
    ]


async def test_static_files_are_served_with_protective_headers(http: httpx.AsyncClient) -> None:
    script = await http.get("/static/check.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["x-content-type-options"] == "nosniff"
    assert "max-age" in script.headers["cache-control"]
    style = await http.get("/static/check.css")
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


@pytest.fixture
async def away_http() -> AsyncIterator[httpx.AsyncClient]:
    """The public port on a pool whose database server is down: its port is held, bound but
    not listening, so every connection is refused and no other process can take it meanwhile."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.bind(("127.0.0.1", 0))
    port = held.getsockname()[1]
    pool = await asyncpg.create_pool(
        f"postgresql://postgres@127.0.0.1:{port}/postgres", min_size=0, timeout=2
    )
    assert pool is not None
    api = PublicApi(
        codes=CodeRepository(pool),
        catalogue=CatalogueStore(pool),
        audit=AuditLog(pool),
        keys=SigningKeys(pool, "test-passphrase"),
        pool=pool,
        issuer=Issuer(BASE_URL),
        rate_limit="1000/minute",
        address_key=address_key("test-passphrase"),
    )
    transport = httpx.ASGITransport(app=api.app())
    async with httpx.AsyncClient(transport=transport, base_url="http://registry") as client:
        yield client
    await pool.close()
    held.close()


async def test_while_the_database_is_away_the_page_says_so_and_retries(
    away_http: httpx.AsyncClient,
) -> None:
    # A check symbol that URLs percent-encode, so the retry link must carry it encoded.
    code = str(VerificationCode(37 * random.randrange(1, 1 << 70) + CHECK_SYMBOLS.index("$")))
    page = await away_http.get("/check", params={"code": code})
    html = assert_page(page, 503, with_form=False)
    assert int(page.headers["retry-after"]) > 0
    assert "暂时" in html and "temporarily unavailable" in html
    retry = re.search(r'href="(/check\?[^"]+)"', html)
    assert retry, "the page offers no retry link"
    assert parse_qs(urlsplit(retry.group(1)).query)["code"] == [code]
    as_program = await away_http.get(f"/v1/codes/{code}/statement")
    assert as_program.status_code == 503
    assert as_program.json()["type"] == "/problems/service-unavailable"


@pytest.mark.parametrize("check", ["*", "~", "$", "=", "U"])
async def test_a_qr_link_with_any_check_symbol_percent_encoded_is_read(
    http: httpx.AsyncClient, check: str
) -> None:
    """Reports' QR codes percent-encode the check symbol (urllib's quote, as intake does)."""
    code = VerificationCode(37 * random.randrange(1, 1 << 70) + CHECK_SYMBOLS.index(check))
    assert code.check == check
    html = assert_page(await http.get(f"/check?code={quote(str(code), safe='-')}"), 404)
    assert f'<dd class="code">{code}</dd>' in html


async def test_what_was_typed_comes_back_as_text_never_markup(http: httpx.AsyncClient) -> None:
    typed = '"><script>alert(1)</script>'
    html = assert_page(await http.get("/check", params={"code": typed}), 400)
    assert "<script>alert" not in html
    assert field_value(html) == "&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
    assert "got 27" in error_box(html)
