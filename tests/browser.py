"""Headless Chromium for the console's browser tests, and the axe-core accessibility check.

Playwright's own browser download is not reachable here, so Playwright for Python drives
Debian's `chromium` package (installed by `make setup`) through `executable_path`. Each launch
gets a fresh user-data directory, removed when the browser closes. axe-core comes from npm
(pinned in package.json, in node_modules by `make setup`).

Use the fixtures `browser` (one Chromium per test session) and `page` (a fresh context per test),
or `launch_chromium()` directly:

    async def test_sign_in(page: Page) -> None:
        await page.goto(console_url)
        ...
        assert await serious_axe_violations(page) == []
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, Page, async_playwright

REPO_ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path(os.environ.get("QV_CHROMIUM", "/usr/bin/chromium"))
AXE_SCRIPT = REPO_ROOT / "node_modules" / "axe-core" / "axe.min.js"
# Headless, no sandbox (tests run as root), and nothing that would reach the network by itself.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Two cores shared with Kafka, PostgreSQL and the services: a page may be slow to answer.
DEFAULT_TIMEOUT_MS = 15_000
SERIOUS_IMPACTS = frozenset({"serious", "critical"})


class MissingTool(RuntimeError):
    """Something `make setup` installs is not there."""


def _require(path: Path, what: str) -> None:
    if not path.exists():
        raise MissingTool(f"{what} is missing at {path}: run `make setup`")


@asynccontextmanager
async def launch_chromium() -> AsyncIterator[Browser]:
    """Debian's chromium, headless, with a user-data directory of its own for this launch
    (Playwright makes a fresh profile per launch; HOME points at an empty directory too)."""
    _require(CHROMIUM, "Debian's chromium (package `chromium`)")
    with tempfile.TemporaryDirectory(prefix="qv-chromium-") as user_data:
        async with async_playwright() as playwright:
            launched = await playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                args=list(CHROMIUM_FLAGS),
                env={**os.environ, "HOME": user_data, "XDG_CONFIG_HOME": user_data},
            )
            try:
                yield launched
            finally:
                await launched.close()


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with launch_chromium() as chromium:
        yield chromium


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A page in a context of its own: no cookies or storage shared with other tests."""
    context = await browser.new_context(locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def serious_axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations of impact serious or critical on the page as it is now.

    The script is evaluated through the DevTools protocol, so a page's Content-Security-Policy
    (script-src 'self') does not keep it out.
    """
    _require(AXE_SCRIPT, "axe-core (npm)")
    if not await page.evaluate("() => typeof window.axe === 'object'"):
        await page.evaluate(AXE_SCRIPT.read_text(encoding="utf-8") + "\n;undefined")
    result: dict[str, Any] = await page.evaluate(
        "async () => JSON.parse(JSON.stringify(await window.axe.run(document)))"
    )
    return [v for v in result["violations"] if v.get("impact") in SERIOUS_IMPACTS]


def describe_violations(violations: list[dict[str, Any]]) -> str:
    """One readable line per violation and node, for an assertion's message."""
    lines = []
    for violation in violations:
        for node in violation.get("nodes", []):
            where = json.dumps(node.get("target"), ensure_ascii=False)
            rule = f"{violation['impact']} {violation['id']}: {violation['help']}"
            lines.append(f"{rule} at {where}")
    return "\n".join(lines)


def screenshots_dir() -> Path:
    """Where browser tests save their screenshots: `QV_SCREENSHOTS_DIR` (e.g. docs/console, to
    refresh the README's pictures) or a scratch directory, so a test run leaves the tree clean."""
    chosen = os.environ.get("QV_SCREENSHOTS_DIR")
    directory = Path(chosen) if chosen else Path(tempfile.gettempdir()) / "qv-screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory
