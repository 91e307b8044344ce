"""tests/browser.py: Debian's chromium driven headless, and an axe-core check that can fail."""

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, Route

from tests import browser as browser_support
from tests.browser import (
    CHROMIUM,
    MissingTool,
    describe_violations,
    launch_chromium,
    serious_axe_violations,
)

ORIGIN = "http://console.test"  # answered by page.route: nothing leaves the machine
# As the console serves its pages: no inline script may run.
STRICT_CSP = "default-src 'self'; script-src 'self'; style-src 'self'"

INACCESSIBLE = """<!doctype html>
<html lang="en"><head><title>Dead letters</title></head>
<body><main><h1>Dead letters</h1>
<script>document.body.dataset.inline = "ran"</script>
<img src="/chart.png">
<form><input type="text" name="reason"><button type="submit">Discard</button></form>
</main></body></html>"""

ACCESSIBLE = """<!doctype html>
<html lang="zh-CN"><head><title>死信 Dead letters</title></head>
<body><main><h1>死信 Dead letters</h1>
<img src="/chart.png" alt="Records parked per hour">
<form><label for="reason">Reason 原因</label><input id="reason" type="text" name="reason">
<button type="submit">Discard 丢弃</button></form>
</main></body></html>"""


async def serve(page: Page, html: str) -> None:
    async def answer(route: Route) -> None:
        if route.request.url.endswith(".png"):
            await route.fulfill(status=404)
        else:
            await route.fulfill(
                status=200,
                content_type="text/html; charset=utf-8",
                headers={"Content-Security-Policy": STRICT_CSP},
                body=html,
            )

    await page.route(f"{ORIGIN}/**", answer)
    await page.goto(f"{ORIGIN}/")


async def test_axe_reports_serious_violations_on_a_page_with_a_strict_csp(page: Page) -> None:
    await serve(page, INACCESSIBLE)
    assert await page.evaluate("() => document.body.dataset.inline") is None  # the CSP holds

    violations = await serious_axe_violations(page)

    assert {v["id"] for v in violations} >= {"image-alt", "label"}
    assert {v["impact"] for v in violations} <= {"serious", "critical"}
    described = describe_violations(violations)
    assert 'critical image-alt: Images must have alternative text at ["img"]' in described


async def test_axe_finds_nothing_serious_on_an_accessible_page(page: Page) -> None:
    await serve(page, ACCESSIBLE)

    violations = await serious_axe_violations(page)

    assert violations == [], describe_violations(violations)
    assert await serious_axe_violations(page) == []  # axe is injected once and runs again


async def test_chromium_is_debians_headless_and_contexts_share_nothing(page: Page) -> None:
    version = await asyncio.create_subprocess_exec(
        str(CHROMIUM), "--version", stdout=asyncio.subprocess.PIPE
    )
    installed = (await version.communicate())[0].decode()
    assert page.context.browser is not None
    assert page.context.browser.version.split(".")[0] in installed
    await serve(page, ACCESSIBLE)
    await page.context.add_cookies([{"name": "session", "value": "s1", "url": ORIGIN}])
    assert "HeadlessChrome" in await page.evaluate("() => navigator.userAgent")

    other = await page.context.browser.new_context()
    try:
        assert await other.cookies(ORIGIN) == []
    finally:
        await other.close()


async def test_a_missing_chromium_names_make_setup(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(browser_support, "CHROMIUM", tmp_path / "chromium")

    with pytest.raises(MissingTool, match="run `make setup`"):
        async with launch_chromium():
            pass
