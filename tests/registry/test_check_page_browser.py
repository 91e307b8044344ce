"""The public check page in headless Chromium: without JavaScript, with it (the check character
caught before any request, by a script that agrees with parse_code), at a phone's width, and
with no serious accessibility violation."""

import random
from collections.abc import AsyncIterator
from typing import Any

import pytest
from playwright.async_api import Browser, Page, Request

from qualverify.registry.v1 import registry_pb2
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.domain.codes import CHECK_SYMBOLS, SYMBOLS, generate_code, parse_code
from services.registry.domain.errors import RegistryError
from tests.browser import (
    DEFAULT_TIMEOUT_MS,
    describe_violations,
    screenshots_dir,
    serious_axe_violations,
)
from tests.infra import Infra
from tests.registry.support import issue_request, registry_settings

pytestmark = pytest.mark.integration

LONG_NAMED = "asme-fe2e0b2e"  # a long English name, to test the phone's width


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(infra, module_database, public_rate_limit="1000/minute")
    async with running_registry(settings) as running:
        yield running


@pytest.fixture(scope="module")
async def codes(stub: Any) -> dict[str, str]:
    """A valid and a revoked code, issued once for the module."""
    valid = await stub.seed(issue_request(holder_name="Kenji Nguyen"))
    revoked = await stub.seed(
        issue_request(
            qualification_id=LONG_NAMED, body_ids=["asme"], holder_name="ZHANG Wei-Ling Anastasia"
        )
    )
    await stub.RevokeCode(
        registry_pb2.RevokeCodeRequest(
            code=revoked.code, reason="The awarding body withdrew the certificate / 发证机构撤回"
        )
    )
    return {"valid": valid.code, "revoked": revoked.code}


def assert_accessible(violations: list[dict[str, Any]]) -> None:
    assert violations == [], describe_violations(violations)


async def test_without_javascript_the_form_still_checks(
    browser: Browser, registry: RunningRegistry, codes: dict[str, str]
) -> None:
    context = await browser.new_context(java_script_enabled=False, locale="zh-CN")
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = await context.new_page()
        await page.goto(f"{registry.public_url}/check")
        await page.get_by_label("核验码").fill(codes["valid"].replace("-", "").lower())
        await page.get_by_role("button").click()
        await page.wait_for_url("**/check?code=*")
        result = page.get_by_role("status")
        assert "有效" in await result.inner_text()
        assert codes["valid"] in await result.inner_text()

        wrong = next(s for s in CHECK_SYMBOLS if s != codes["valid"][-1])
        await page.get_by_label("核验码").fill(codes["valid"][:-1] + wrong)
        await page.get_by_role("button").click()
        await page.wait_for_load_state()
        alert = page.locator("#code-error")
        assert "校验字符" in await alert.inner_text()
        assert await page.get_by_label("核验码").input_value() == codes["valid"][:-1] + wrong
    finally:
        await context.close()


async def test_a_mistyped_check_character_is_caught_before_any_request(
    page: Page, registry: RunningRegistry, codes: dict[str, str]
) -> None:
    await page.goto(f"{registry.public_url}/check")
    requests: list[str] = []

    def note(request: Request) -> None:
        requests.append(request.url)

    page.on("request", note)
    wrong = next(s for s in CHECK_SYMBOLS if s != codes["valid"][-1])
    field = page.get_by_label("Verification code")
    await field.fill(codes["valid"][:-1] + wrong)
    alert = page.locator("#code-error")
    await alert.wait_for(state="visible")  # as soon as the code is complete
    await page.get_by_role("button").click()
    assert "does not match the rest of the code" in await alert.inner_text()
    assert "校验字符" in await alert.inner_text()
    assert await field.get_attribute("aria-invalid") == "true"
    assert await page.evaluate("document.activeElement.id") == "code"
    assert requests == [] and page.url.endswith("/check")

    await field.fill("7K3M")  # too short: nothing to say while typing, refused on submit
    assert await alert.is_hidden()
    await page.get_by_role("button").click()
    assert "got 4" in await alert.inner_text()
    await field.fill("")
    await field.press_sequentially("7k-3u")  # no code holds U there: said as it is typed
    assert "character 'U' at position 4" in await alert.inner_text()
    assert "第 4 位" in await alert.inner_text()
    assert requests == []

    await field.fill(codes["valid"])
    assert await alert.is_hidden()  # the refusal goes once the code is right
    await page.get_by_role("button").click()
    await page.wait_for_url("**/check?code=*")
    assert "Valid" in await page.get_by_role("status").inner_text()


def sample_inputs(count: int = 40) -> list[str]:
    """Well-formed codes, every kind of typo parse_code tells apart, and loose spellings."""
    rng = random.Random(11)
    samples = ["", "7K3M", "-" * 80, "核验码", "\x1c".join(str(generate_code()).split("-"))]
    for _ in range(count):
        code = str(generate_code())
        compact = code.replace("-", "")
        position = rng.randrange(16)
        substituted = rng.choice([s for s in SYMBOLS if s != compact[position]])
        swapped = list(compact)
        swapped[position], swapped[position + 1] = swapped[position + 1], swapped[position]
        samples += [
            code,
            code.lower(),
            " " + compact.replace("0", "o").replace("1", "l") + "\t",
            compact[:position] + substituted + compact[position + 1 :],
            "".join(swapped),
            compact[:-1] + rng.choice(CHECK_SYMBOLS),
            compact[:-1] + rng.choice("IiLlOoUu*~$=!#"),
            compact[:position] + rng.choice("U*~$=!é") + compact[position + 1 :],
            compact + rng.choice(SYMBOLS),
            compact[:-2],
        ]
    return samples


def python_answer(text: str) -> dict[str, Any]:
    try:
        return {"ok": True, "code": str(parse_code(text))}
    except RegistryError as error:
        kind = error.code.value
        return {"ok": False, "kind": kind, "en": error.message_en, "zh": error.message_zh}


async def test_the_script_and_parse_code_agree(page: Page, registry: RunningRegistry) -> None:
    await page.goto(f"{registry.public_url}/check")
    samples = sample_inputs()
    answers = await page.evaluate("texts => texts.map(t => window.qvCheckCode(t))", samples)
    expected = [python_answer(text) for text in samples]
    disagreements = [
        (text, js, py) for text, js, py in zip(samples, answers, expected, strict=True) if js != py
    ]
    assert disagreements == []
    assert {a["ok"] for a in expected} == {True, False}
    assert {a.get("kind") for a in expected} >= {"malformed-code", "check-character-mismatch"}


@pytest.mark.parametrize("width", [360, 390])
async def test_a_phones_width_needs_no_horizontal_scroll(
    browser: Browser, registry: RunningRegistry, codes: dict[str, str], width: int
) -> None:
    context = await browser.new_context(
        viewport={"width": width, "height": 800}, is_mobile=True, has_touch=True
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = await context.new_page()
        pages = {"form": "/check", "valid": f"/check?code={codes['valid']}"}
        pages["revoked"] = f"/check?code={codes['revoked']}"
        for name, path in pages.items():
            await page.goto(f"{registry.public_url}{path}")
            if width == 390:
                shot = screenshots_dir() / f"check-{name}-phone.png"
                await page.screenshot(path=shot, full_page=True)
            overflow = await page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert overflow <= 0, f"{path} scrolls sideways by {overflow}px at {width}px"
        button = await page.get_by_role("button").bounding_box()
        assert button is not None and button["height"] >= 44  # a comfortable touch target
    finally:
        await context.close()


async def test_no_serious_accessibility_violation(
    page: Page, registry: RunningRegistry, codes: dict[str, str]
) -> None:
    url = registry.public_url
    await page.goto(f"{url}/check")
    assert_accessible(await serious_axe_violations(page))
    await page.goto(f"{url}/check?code={codes['valid']}")
    assert "Valid" in await page.get_by_role("status").inner_text()
    assert_accessible(await serious_axe_violations(page))
    await page.screenshot(path=screenshots_dir() / "check-valid.png", full_page=True)
    await page.goto(f"{url}/check?code={codes['revoked']}")
    assert "Revoked" in await page.get_by_role("status").inner_text()
    assert "withdrew the certificate" in await page.get_by_role("status").inner_text()
    assert_accessible(await serious_axe_violations(page))
    await page.goto(f"{url}/check?code=not-a-code")
    assert_accessible(await serious_axe_violations(page))
    await page.goto(f"{url}/check?code={generate_code()}")
    assert "Unknown" in await page.get_by_role("status").inner_text()
    assert_accessible(await serious_axe_violations(page))
