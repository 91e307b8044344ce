"""API keys through the pages: created with a name and shown once, usable on the API at once,
refused at once after revocation; an employer touches only its own keys."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.intake.api.auth import follow_api_key_revocations
from services.intake.domain.accounts import Role
from services.intake.web.deps import WebDeps
from services.runtime.notifications import Notifications
from tests.intake.support import anonymous_client, intake_app
from tests.intake.web.support import client_as, post_form, session_for

pytestmark = pytest.mark.integration

NEW_KEY = re.compile(r'id="new-key" class="key" readonly value="(qv_[^"]+)"')


async def test_a_key_created_on_the_page_works_on_the_api_until_revoked(
    deps: WebDeps, web_url: str, channels_file: Path
) -> None:
    admin = await session_for(deps, Role.ADMIN)
    api = intake_app(deps.store, channels_file)
    async with client_as(web_url, admin) as client, anonymous_client(api) as caller:
        refused = await post_form(client, "/api-keys", "/api-keys/create", {"name": " "})
        created = await post_form(client, "/api-keys", "/api-keys/create", {"name": "HR system"})
        found = NEW_KEY.search(created.text)
        assert found, created.text
        api_key = found.group(1)
        key_id = api_key.split("_")[1]
        caller.headers["Authorization"] = f"Bearer {api_key}"
        before = await caller.get("/v1/verifications")
        listed = await client.get("/api-keys")
        revoked = await post_form(client, "/api-keys", f"/api-keys/{key_id}/revoke", {})
        after = await caller.get("/v1/verifications")
        revoked_again = await post_form(client, "/api-keys", f"/api-keys/{key_id}/revoke", {})
        listed_after = await client.get("/api-keys")
    assert refused.status_code == 400
    assert "请填写密钥名称" in refused.text
    assert created.status_code == 200
    assert before.status_code == 200, before.text
    assert "HR system" in listed.text and key_id in listed.text
    assert api_key not in listed.text  # shown once only
    assert revoked.status_code == 303
    assert after.status_code == 401  # at once, despite the API's cache of verified keys
    assert revoked_again.status_code == 404
    assert "已吊销" in listed_after.text
    audit = await deps.store._pool.fetch(
        "SELECT action, target FROM account_audit WHERE user_id = $1 AND outcome = 'success'",
        admin.user_id,
    )
    assert {("api-key-created", key_id), ("api-key-revoked", key_id)} <= {
        (row["action"], row["target"]) for row in audit
    }


async def test_an_admin_cannot_revoke_another_employers_key(deps: WebDeps, web_url: str) -> None:
    owner = await session_for(deps, Role.ADMIN)
    stranger = await session_for(deps, Role.ADMIN)
    key_id, _ = await deps.store.issue_api_key(owner.employer_id, "theirs", owner.user_id)
    async with client_as(web_url, stranger) as client:
        answer = await post_form(client, "/api-keys", f"/api-keys/{key_id}/revoke", {})
        listed = await client.get("/api-keys")
    assert answer.status_code == 404
    assert key_id not in listed.text
    revoked_at = await deps.store._pool.fetchval(
        "SELECT revoked_at FROM api_keys WHERE key_id = $1", key_id
    )
    assert revoked_at is None


async def test_a_key_revoked_by_another_process_is_forgotten_when_postgresql_says_so(
    deps: WebDeps, channels_file: Path
) -> None:
    """As in a worker that did not revoke the key itself: only the notification evicts it from
    the cache of verified keys (which would otherwise accept it for 30 s)."""
    admin = await session_for(deps, Role.ADMIN)
    key_id, api_key = await deps.store.issue_api_key(admin.employer_id, "ci", admin.user_id)
    api = intake_app(deps.store, channels_file)
    notifications = Notifications(deps.store._pool)
    follow_api_key_revocations(notifications)
    async with anonymous_client(api) as caller:
        caller.headers["Authorization"] = f"Bearer {api_key}"
        assert (await caller.get("/v1/verifications")).status_code == 200  # now cached
        async with listening(notifications):
            assert await deps.accounts.revoke_api_key(admin.employer_id, key_id)
            async with asyncio.timeout(5):
                while (await caller.get("/v1/verifications")).status_code != 401:
                    await asyncio.sleep(0.05)


async def test_a_key_revoked_while_nobody_listened_is_forgotten_once_listening_again(
    deps: WebDeps, channels_file: Path
) -> None:
    """The revocation's notification is lost, yet the worker does not trust the key for its
    30 s: on (re)connecting it forgets every key it had verified."""
    admin = await session_for(deps, Role.ADMIN)
    key_id, api_key = await deps.store.issue_api_key(admin.employer_id, "ci", admin.user_id)
    api = intake_app(deps.store, channels_file)
    notifications = Notifications(deps.store._pool)
    follow_api_key_revocations(notifications)
    async with anonymous_client(api) as caller:
        caller.headers["Authorization"] = f"Bearer {api_key}"
        assert (await caller.get("/v1/verifications")).status_code == 200  # now cached
        assert await deps.accounts.revoke_api_key(admin.employer_id, key_id)
        assert (await caller.get("/v1/verifications")).status_code == 200  # nobody heard it
        async with listening(notifications):
            assert (await caller.get("/v1/verifications")).status_code == 401


@contextlib.asynccontextmanager
async def listening(notifications: Notifications) -> AsyncIterator[None]:
    task = asyncio.create_task(notifications.run())
    try:
        async with asyncio.timeout(5):
            while not notifications.is_listening:
                await asyncio.sleep(0.01)
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_without_the_notification_the_cache_still_holds_the_key(
    deps: WebDeps, channels_file: Path
) -> None:
    """The counterpart of the test above: what the notification saves a worker from."""
    admin = await session_for(deps, Role.ADMIN)
    key_id, api_key = await deps.store.issue_api_key(admin.employer_id, "ci", admin.user_id)
    api = intake_app(deps.store, channels_file)
    async with anonymous_client(api) as caller:
        caller.headers["Authorization"] = f"Bearer {api_key}"
        assert (await caller.get("/v1/verifications")).status_code == 200
        assert await deps.accounts.revoke_api_key(admin.employer_id, key_id)
        assert (await caller.get("/v1/verifications")).status_code == 200
