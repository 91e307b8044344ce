"""The notification settings page: endpoints with the API's SSRF refusals, secrets shown on
request and rotated, e-mail recipients, and the delivery log with filters, paging and replay,
read from intake's projection of the notifier's delivery updates."""

from uuid import UUID

import asyncpg
import orjson
import pytest
from playwright.async_api import Page, expect

from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.intake.deliveries import delivery_update, given_up, project
from tests.intake.web.support import (
    SignedIn,
    browse_as,
    client_as,
    post_form,
    session_for,
)

pytestmark = pytest.mark.integration
HOOK = "http://127.0.0.1:9/hooks/verification"  # admitted by the tests' development allow-list
FORBIDDEN = ["https://169.254.169.254/latest/meta-data", "http://10.1.2.3/hook"]


async def audited(pool: asyncpg.Pool, user_id: UUID) -> list[tuple[str, str, str | None]]:
    rows = await pool.fetch(
        "SELECT action, outcome, target FROM account_audit WHERE user_id = $1 ORDER BY id",
        user_id,
    )
    return [(row["action"], row["outcome"], row["target"]) for row in rows]


async def failed_delivery(pool: asyncpg.Pool, employer_id: UUID) -> str:
    """One of the employer's deliveries, tried once and given up, as the notifier told."""
    pending = delivery_update(employer_id)
    await project(pool, pending, given_up(pending))
    return pending.webhook_id


async def replays_asked(pool: asyncpg.Pool) -> list[dict[str, str]]:
    rows = await pool.fetch("SELECT value FROM outbox WHERE topic = 'employer.replays.v1'")
    return [orjson.loads(row["value"]) for row in rows]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.APPLICANT])
async def test_only_admins_reach_notification_settings(
    deps: WebDeps, web_url: str, role: Role
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    other = await session_for(deps, role, employer_id=admin.employer_id)
    async with client_as(web_url, other) as client:
        shown = await client.get("/webhooks")
        # The start page carries a CSRF token (the sign-out form), as any page does.
        saved = await post_form(client, "/", "/webhooks/endpoints", {"url": HOOK})
        replay = f"/webhooks/deliveries/msg_{'0' * 32}/replay"
        replayed = await post_form(client, "/", replay, {})
    assert (shown.status_code, saved.status_code, replayed.status_code) == (403, 403, 403)
    assert await deps.store.webhook_settings.secrets_of(admin.employer_id) == []


async def test_forbidden_urls_are_refused_each_next_to_its_field_and_nothing_is_stored(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    typed = [HOOK, *FORBIDDEN, deps.settings.web_base_url + "/hooks"]  # the platform itself
    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "en")
        refused = await post_form(client, "/webhooks", "/webhooks/endpoints", {"url": typed})
    assert refused.status_code == 422
    for index, url in enumerate(typed):
        assert f'id="url-{index}"' in refused.text and f'value="{url}"' in refused.text
    assert 'id="url-0-error"' not in refused.text  # the good one is not blamed
    for index in (1, 2, 3):
        assert f'id="url-{index}-error"' in refused.text
        assert f'aria-describedby="endpoints-hint url-{index}-error"' in refused.text
    assert "metadata" in refused.text.lower()
    assert await deps.store.webhook_settings.secrets_of(admin.employer_id) == []
    assert await audited(deps.store._pool, admin.user_id) == [
        ("webhooks.endpoints.set", "refused", None)
    ]


async def test_the_same_refusal_in_chinese(deps: WebDeps, web_url: str) -> None:
    admin = await session_for(deps, Role.ADMIN)
    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "zh")
        refused = await post_form(client, "/webhooks", "/webhooks/endpoints", {"url": FORBIDDEN})
    assert refused.status_code == 422
    assert "元数据" in refused.text or "内网" in refused.text or "https" in refused.text


async def test_an_admin_adds_and_removes_endpoints_and_sees_secrets_only_on_request(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    second = "http://127.0.0.1:9/hooks/second"
    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "en")
        saved = await post_form(client, "/webhooks", "/webhooks/endpoints", {"url": [HOOK, second]})
        assert (saved.status_code, saved.headers["location"]) == (
            303,
            "/webhooks?done=saved-endpoints",
        )
        page = await client.get(saved.headers["location"])
        secrets = {
            e.url: e.secret for e in await deps.store.webhook_settings.secrets_of(admin.employer_id)
        }
        assert set(secrets) == {HOOK, second}
        assert "Webhook endpoints saved." in page.text
        assert all(secret not in page.text for secret in secrets.values())

        shown = await post_form(client, "/webhooks", "/webhooks/secret", {"url": HOOK})
        assert shown.status_code == 200
        assert secrets[HOOK] in shown.text and secrets[second] not in shown.text
        stranger = await post_form(
            client, "/webhooks", "/webhooks/secret", {"url": "http://127.0.0.1:9/not-mine"}
        )
        assert stranger.status_code == 404 and "No such webhook endpoint" in stranger.text

        removed = await post_form(
            client, "/webhooks", "/webhooks/endpoints/remove", {"url": second}
        )
        assert removed.headers["location"] == "/webhooks?done=removed-endpoint"
    left = await deps.store.webhook_settings.secrets_of(admin.employer_id)
    assert [(e.url, e.secret) for e in left] == [(HOOK, secrets[HOOK])]  # kept its secret
    trail = await audited(deps.store._pool, admin.user_id)
    assert trail == [
        ("webhooks.endpoints.set", "ok", "2 endpoints"),
        ("webhooks.secret.revealed", "ok", HOOK),
        ("webhooks.endpoints.set", "ok", "1 endpoints"),
    ]
    assert all(secrets[HOOK] not in str(row) for row in trail)


async def test_rotating_a_secret_shows_the_new_one_and_says_the_old_keeps_signing(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    (old,) = await deps.store.webhook_settings.set_webhooks(admin.employer_id, [HOOK])
    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "en")
        rotated = await post_form(client, "/webhooks", "/webhooks/secret/rotate", {"url": HOOK})
        unknown = await post_form(
            client, "/webhooks", "/webhooks/secret/rotate", {"url": HOOK + "/other"}
        )
    (new,) = await deps.store.webhook_settings.secrets_of(admin.employer_id)
    assert rotated.status_code == 200
    assert new.secret != old.secret and new.secret in rotated.text
    assert old.secret not in rotated.text
    assert "24 hours" in rotated.text
    assert unknown.status_code == 404
    assert ("webhooks.secret.rotated", "ok", HOOK) in await audited(deps.store._pool, admin.user_id)


async def test_email_recipients_are_checked_each_next_to_its_field_then_published(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    await deps.store.webhook_settings.set_emails(admin.employer_id, ["hr@example.cn"])
    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "en")
        shown = await client.get("/webhooks")
        assert 'name="address" type="email" autocomplete="off" value="hr@example.cn"' in shown.text
        refused = await post_form(
            client, "/webhooks", "/webhooks/emails", {"address": ["ok@example.cn", "hr@@x"]}
        )
        saved = await post_form(
            client,
            "/webhooks",
            "/webhooks/emails",
            {"address": ["HR@Example.CN", "", "b@例子.中国"]},
        )
    assert refused.status_code == 422
    assert 'id="address-1-error"' in refused.text and 'id="address-0-error"' not in refused.text
    assert 'value="hr@@x"' in refused.text  # what was typed stays
    assert saved.headers["location"] == "/webhooks?done=saved-emails"
    published = await deps.store._pool.fetch(
        "SELECT value FROM outbox WHERE topic = 'employer.webhooks.v1' AND key = $1",
        str(admin.employer_id).encode(),
    )
    assert any(b"HR@example.cn" in row["value"] for row in published)
    saved_now = await deps.store.webhook_settings.emails_of(admin.employer_id)
    assert saved_now == ["HR@example.cn", "b@例子.中国"]
    assert ("webhooks.emails.set", "ok", "2 addresses") in await audited(
        deps.store._pool, admin.user_id
    )


async def test_the_delivery_log_filters_pages_and_replays_only_the_employers_own(
    deps: WebDeps, web_url: str
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    other = await session_for(deps, Role.ADMIN)
    failed = await failed_delivery(deps.store._pool, admin.employer_id)
    theirs = await failed_delivery(deps.store._pool, other.employer_id)
    pending = [delivery_update(admin.employer_id) for _ in range(20)]
    await project(deps.store._pool, *pending)  # more than a page with the failed one
    one = pending[-1]

    async with client_as(web_url, admin) as client:
        client.cookies.set("qv_employer_lang", "en")
        first = await client.get("/webhooks")
        assert first.text.count("/replay") == 0  # the newest page: pending, not replayable
        assert first.text.count("<tr>") == 1 + 20
        older = await client.get("/webhooks?before=" + _older_cursor(first.text))
        assert failed in older.text and theirs not in older.text
        only_failed = await client.get("/webhooks?status=failed")
        assert only_failed.text.count("<tr>") == 1 + 1 and failed in only_failed.text
        by_request = await client.get(f"/webhooks?request={one.request_id}")
        assert by_request.text.count("<tr>") == 1 + 1
        malformed = await client.get("/webhooks?request=not-an-id")
        assert 'id="request-filter-error"' in malformed.text

        replayed = await post_form(
            client, "/webhooks?status=failed", f"/webhooks/deliveries/{failed}/replay", {}
        )
        assert replayed.status_code == 303
        assert replayed.headers["location"] == (
            f"/webhooks?done=replayed&delivery={failed}#deliveries"
        )
        not_mine = await post_form(client, "/webhooks", f"/webhooks/deliveries/{theirs}/replay", {})
        assert not_mine.status_code == 404
        bad_id = await post_form(client, "/webhooks", "/webhooks/deliveries/msg_x/replay", {})
        assert bad_id.status_code == 404
    asked = [r for r in await replays_asked(deps.store._pool) if r["webhook_id"] == failed]
    assert [r["employer_id"] for r in asked] == [str(admin.employer_id)]
    assert not [r for r in await replays_asked(deps.store._pool) if r["webhook_id"] == theirs]
    trail = await audited(deps.store._pool, admin.user_id)
    assert ("webhooks.delivery.replayed", "ok", failed) in trail
    assert ("webhooks.delivery.replayed", "refused", theirs) in trail


def _older_cursor(html: str) -> str:
    marker = "/webhooks?before="
    start = html.index(marker) + len(marker)
    return html[start : html.index("#", start)]


@pytest.mark.parametrize("width", [1280, 390])
async def test_the_page_in_a_browser_has_no_serious_accessibility_violation(
    deps: WebDeps, web_url: str, page: Page, width: int
) -> None:
    admin: SignedIn = await session_for(deps, Role.ADMIN)
    await deps.store.webhook_settings.set_webhooks(admin.employer_id, [HOOK])
    await deps.store.webhook_settings.set_emails(admin.employer_id, ["hr@example.cn"])
    failed = await failed_delivery(deps.store._pool, admin.employer_id)
    await page.set_viewport_size({"width": width, "height": 900})
    await browse_as(page, web_url, admin)
    await page.goto(f"{web_url}/lang?to=en&next=/webhooks")

    await page.get_by_role("button", name="Show signing secret").click()
    await expect(page.locator(".webhooks-secret")).to_contain_text("whsec_")
    await page.get_by_label("Endpoint 2").fill("https://169.254.169.254/latest")
    await page.get_by_role("button", name="Save endpoints").click()
    await expect(page.locator("#url-1-error")).to_be_visible()
    await expect(page.get_by_label("Endpoint 2")).to_have_value("https://169.254.169.254/latest")
    assert not (found := await serious_axe_violations(page)), describe_violations(found)

    await page.goto(f"{web_url}/webhooks")
    await page.get_by_role("button", name=f"Replay delivery {failed}").click()
    await expect(page.get_by_role("status")).to_contain_text("queued to be sent again")
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
    if width == 1280:
        shot = screenshots_dir() / "employer-webhooks-replayed.png"
        await page.screenshot(path=shot, full_page=True)

    await page.goto(f"{web_url}/lang?to=zh&next=/webhooks")
    await expect(page.get_by_role("heading", name="投递记录")).to_be_visible()
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
