"""The console served in-process on real PostgreSQL, with a viewer and an operator account.

Section tests add their adapters to `deps` and their routes with `serve_console(...)`.
"""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import asyncpg
import pytest_asyncio
from playwright.async_api import Page
from starlette.routing import BaseRoute

from deploy.local.processes import free_port
from services.console.__main__ import core_deps
from services.console.domain.roles import Role
from services.console.settings import ConsoleSettings
from services.console.store.paths import MIGRATIONS
from services.console.usecases.sign_in import add_operator
from services.console.web.app import console_app
from services.console.web.deps import Deps
from services.runtime.health import database_check
from services.runtime.lifecycle import http_server
from services.runtime.startup import open_database
from tests.browser import browser, page

__all__ = ["browser", "page"]

OPERATOR = ("alice", "correct horse battery staple")
VIEWER = ("victor", "viewer password of victor")


@dataclass
class RunningConsole:
    url: str
    deps: Deps


def console_settings(database_url: str, **overrides: object) -> ConsoleSettings:
    return ConsoleSettings(database_url=database_url, secure_cookies=False, **overrides)  # type: ignore[arg-type]


@pytest_asyncio.fixture(scope="module")
async def console_pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await open_database(module_database, "console", MIGRATIONS, max_size=5)
    try:
        yield pool
    finally:
        await pool.close()


@contextlib.asynccontextmanager
async def serve_console(deps: Deps, sections: Sequence[BaseRoute] = ()) -> AsyncIterator[str]:
    """Serves the console app on a free port; yields its base URL."""
    port = free_port()
    app = console_app(deps, sections, {"database": database_check(deps.pool)})
    server = http_server(app, "127.0.0.1", port)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def with_accounts(deps: Deps) -> Deps:
    await add_operator(deps.accounts, OPERATOR[0], "Alice 艾丽斯", Role.OPERATOR, OPERATOR[1])
    await add_operator(deps.accounts, VIEWER[0], "Victor 维克多", Role.VIEWER, VIEWER[1])
    return deps


@pytest_asyncio.fixture(scope="module")
async def console(
    module_database: str, console_pool: asyncpg.Pool
) -> AsyncIterator[RunningConsole]:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    async with serve_console(deps) as url:
        yield RunningConsole(url, deps)


async def browser_sign_in(page: Page, url: str, username: str, password: str) -> None:
    """Signs in through the sign-in form, as a person would."""
    await page.goto(f"{url}/sign-in")
    await page.get_by_label(re.compile("用户名|Username")).fill(username)
    await page.get_by_label(re.compile("密码|Password")).fill(password)
    await page.get_by_role("button", name=re.compile("登录|Sign in")).click()
    await page.wait_for_url(re.compile(r"^(?!.*/sign-in).*$"))
