"""Fixtures of the employer web tests: intake's schema on real PostgreSQL, the pages served
in-process, and a browser (tests/browser.py)."""

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio

from services.intake.web.deps import WebDeps
from tests.browser import browser, page
from tests.intake.support import intake_pool, write_channels
from tests.intake.web.support import serve_web, web_deps

__all__ = ["browser", "page"]


@pytest_asyncio.fixture(scope="module")
async def pool(module_database: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await intake_pool(module_database)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
def channels_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_channels(tmp_path_factory.mktemp("channels"))


@pytest_asyncio.fixture(scope="module")
async def deps(pool: asyncpg.Pool, channels_file: Path, module_database: str) -> WebDeps:
    return web_deps(pool, channels_file, module_database)


@pytest_asyncio.fixture(scope="module")
async def web_url(deps: WebDeps) -> AsyncIterator[str]:
    async with serve_web(deps) as url:
        yield url
