"""The employer web platform served in-process on real PostgreSQL, and browsers of it.

`web_deps(...)` builds what intake's `__main__` builds; `serve_web(deps)` serves the pages on a
free port; `session_for(...)` makes an employer with a signed-in user of a role, for tests of a
section that need not go through sign-in (the sign-in tests do).
"""

import asyncio
import base64
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from itsdangerous import TimestampSigner
from playwright.async_api import Page

from deploy.local.processes import free_port
from services.intake.adapters.pdf_report import PdfReports
from services.intake.applying import Applying
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.accounts import EmployerStatus, Role, SessionStage
from services.intake.domain.turnaround import TurnaroundPolicy
from services.intake.settings import IntakeSettings
from services.intake.store.accounts import AccountStore
from services.intake.store.repository import IntakeStore
from services.intake.web.app import SESSION_COOKIE, employer_web_app
from services.intake.web.deps import WebDeps
from services.intake.web.sections import sections
from services.runtime.lifecycle import http_server
from services.runtime.secret_box import SecretBox
from tests.intake.support import credit_code

TOKEN = re.compile(r'name="csrftoken" value="([^"]+)"')
HOLDER_REF_KEY = b"test-key"


def web_settings(database_url: str, **overrides: Any) -> IntakeSettings:
    values: dict[str, Any] = {"database_url": database_url, "secure_cookies": False}
    return IntakeSettings(**(values | overrides))


def web_deps(
    pool: asyncpg.Pool, channels_file: Path, database_url: str, **overrides: Any
) -> WebDeps:
    settings = web_settings(database_url, **overrides)
    store = IntakeStore(pool)
    catalogue = EditionCatalogue.load()
    channels = ChannelDirectory.load(channels_file)
    return WebDeps(
        settings=settings,
        store=store,
        accounts=AccountStore(pool),
        applying=Applying(store, catalogue, channels, HOLDER_REF_KEY, TurnaroundPolicy()),
        catalogue=catalogue,
        channels=channels,
        mail_box=SecretBox.from_env(),
        data_box=SecretBox(base64.b64decode(settings.data_key.get_secret_value())),
        reports=PdfReports(settings.report_font),
    )


@contextlib.asynccontextmanager
async def serve_web(deps: WebDeps) -> AsyncIterator[str]:
    """Serves the employer pages on a free port; yields the base URL."""
    port = free_port()
    server = http_server(employer_web_app(deps, sections(deps)), "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass(frozen=True)
class SignedIn:
    employer_id: UUID
    user_id: UUID
    email: str
    cookies: dict[str, str]  # the session cookie, as the browser would hold it


_serial = iter(range(700_000_000, 800_000_000))


async def new_employer(
    deps: WebDeps,
    name: str = "Example Ltd. 示例有限公司",
    status: EmployerStatus = EmployerStatus.ACTIVE,
) -> UUID:
    employer_id, _ = await deps.store.create_employer(credit_code(next(_serial)), name)
    await deps.store._pool.execute(
        "UPDATE employers SET status = $2 WHERE id = $1", employer_id, status.value
    )
    return employer_id


async def session_for(
    deps: WebDeps,
    role: Role,
    *,
    employer_id: UUID | None = None,
    email: str | None = None,
) -> SignedIn:
    """A user of `role` (of a new active employer unless given) with a full session."""
    employer = employer_id or await new_employer(deps)
    address = email or f"{role.value}.{next(_serial)}@example.com"
    user_id = await deps.accounts.add_user(
        employer, address, f"Test {role.value}", role, email_verified_at=datetime.now(UTC)
    )
    token = await deps.accounts.open_session(user_id, SessionStage.FULL, timedelta(hours=1))
    return SignedIn(employer, user_id, address, {SESSION_COOKIE: session_cookie(deps, token)})


def session_cookie(deps: WebDeps, token: str) -> str:
    """What Starlette's session middleware puts in the cookie for a session holding `token`."""
    data = base64.b64encode(json.dumps({"token": token}).encode())
    signer = TimestampSigner(deps.settings.session_secret.get_secret_value())
    return signer.sign(data).decode()


def csrf_token(html: str) -> str:
    found = TOKEN.search(html)
    assert found, "the page carries no CSRF token"
    return found.group(1)


@contextlib.asynccontextmanager
async def client_as(
    url: str, signed_in: SignedIn | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    cookies = signed_in.cookies if signed_in else {}
    async with httpx.AsyncClient(base_url=url, cookies=cookies, follow_redirects=False) as client:
        yield client


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, form: dict[str, Any]
) -> httpx.Response:
    """Submits a form of the page at `page_path` as the browser would, with its CSRF token."""
    page = await client.get(page_path)
    return await client.post(action, data={"csrftoken": csrf_token(page.text), **form})


async def browse_as(page: Page, url: str, signed_in: SignedIn) -> None:
    """Gives the browser `signed_in`'s session cookie, as if the user had signed in."""
    await page.context.add_cookies(
        [{"name": name, "value": value, "url": url} for name, value in signed_in.cookies.items()]
    )
