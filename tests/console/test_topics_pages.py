"""The topics and dead-letters pages on a real broker, as a person uses them: the topics page
under live traffic (its numbers move without a reload, a stuck group shows as a stalled hop),
and a poison request parked by the real consumer, replayed from the console and audited."""

import asyncio
import contextlib
import dataclasses
import os
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import asyncpg
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from playwright.async_api import Page, expect

from services.console.__main__ import core_deps
from services.console.adapters import kafka_admin
from services.console.adapters.dead_letters import DeadLetterTopics
from services.console.store.dead_letters import DeadLetterActions
from services.console.store.samples import SampleStore
from services.console.usecases.dead_letters import DeadLetters
from services.console.usecases.sampling import Sampler
from services.console.usecases.topics import TopicsOverviewReader
from services.console.web import dead_letters, topics
from services.console.web.deps import Deps
from services.contracts.topics import VERIFICATION_REQUESTED, dead_letter_of
from services.runtime.event_auth import read_trust
from services.runtime.kafka import create_producer
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.console.conftest import (
    OPERATOR,
    VIEWER,
    browser_sign_in,
    console_settings,
    serve_console,
    with_accounts,
)
from tests.console.dead_letter_support import (
    CERTIFICATE,
    Verifier,
    publish_poison,
    running_verifier,
)
from tests.console.support import post_form, signed_in_client
from tests.infra import Infra

DLQ = dead_letter_of(VERIFICATION_REQUESTED).name
SCREENSHOTS = screenshots_dir()


@dataclass
class Site:
    url: str
    deps: Deps
    traffic_topic: str
    stuck_group: str
    verifier: Verifier
    producer: AIOKafkaProducer


async def keep_producing(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    await producer.start()
    try:
        n = 0
        while True:
            await producer.send(topic, f"traffic {n}".encode())
            n += 1
            await asyncio.sleep(0.05)
    finally:
        await producer.stop()


async def keep_consuming(bootstrap: str, topic: str, group: str) -> None:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        auto_commit_interval_ms=500,
    )
    await consumer.start()
    try:
        async for _ in consumer:
            pass
    finally:
        await consumer.stop()


async def consume_a_little_and_stop(bootstrap: str, topic: str, group: str) -> None:
    """A group that takes its first records and then never again: a stuck hop."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        while not await consumer.getmany(timeout_ms=500, max_records=3):
            pass
        await consumer.commit()
    finally:
        await consumer.stop()


@pytest_asyncio.fixture(scope="module")
async def site(
    infra: Infra, module_database: str, console_pool: asyncpg.Pool
) -> AsyncIterator[Site]:
    bootstrap = infra.kafka_bootstrap_servers
    traffic = f"console.traffic.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(traffic, 3, 1)])
    stuck = f"stuck-{uuid.uuid4().hex[:6]}"
    producer = create_producer(bootstrap, "pages-test")
    await producer.start()
    settings = console_settings(module_database, sample_seconds=1.0, stall_seconds=4.0)
    deps = await with_accounts(core_deps(settings, console_pool))
    samples = SampleStore(console_pool)
    sampler = Sampler(
        lambda: kafka_admin.connect(bootstrap),
        samples,
        interval_seconds=settings.sample_seconds,
        retention=timedelta(hours=1),
    )
    deps.topics = TopicsOverviewReader(
        sampler, samples, window=timedelta(seconds=5), stall_seconds=settings.stall_seconds
    )
    deps.dead_letters = DeadLetters(
        DeadLetterTopics(bootstrap, producer),
        DeadLetterActions(console_pool),
        deps.audit,
        sampler,
        read_trust(Path(os.environ["EVENT_TRUST_DIR"])),
    )
    async with contextlib.AsyncExitStack() as stack:
        verifier = await stack.enter_async_context(running_verifier(bootstrap))
        background = [
            asyncio.create_task(keep_producing(bootstrap, traffic)),
            asyncio.create_task(keep_consuming(bootstrap, traffic, f"live-{uuid.uuid4().hex[:6]}")),
            asyncio.create_task(sampler.run()),
        ]
        await consume_a_little_and_stop(bootstrap, traffic, stuck)
        url = await stack.enter_async_context(
            serve_console(deps, [*topics.routes(deps), *dead_letters.routes(deps)])
        )
        try:
            yield Site(url, deps, traffic, stuck, verifier, producer)
        finally:
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
    await producer.stop()
    await admin.delete_topics([traffic])
    await admin.close()


@pytest.mark.e2e
async def test_the_topics_page_moves_with_live_traffic_and_shows_a_stuck_group_stalled(
    site: Site, page: Page
) -> None:
    await browser_sign_in(page, site.url, *VIEWER)
    await page.goto(f"{site.url}/lang?to=en&next=/topics")
    await expect(page.get_by_role("heading", name="Topics", exact=True)).to_be_visible()
    row = page.locator(f"tr[id='topic-{site.traffic_topic}']")
    await expect(row).to_be_visible(timeout=30_000)
    first = await row.locator("td").nth(3).inner_text()
    # The fragment refreshes itself (htmx, every 5 s): the count moves without a reload.
    await expect(row.locator("td").nth(3)).not_to_have_text(first, timeout=20_000)
    await expect(row.locator("td").nth(4)).not_to_have_text("—")  # an in-rate is measured
    assert page.url.endswith("/topics")

    # The group's own row (the topic's row holds the nested table of its groups, too).
    stuck_row = (
        page.get_by_role("row")
        .filter(has=page.get_by_role("rowheader", name=site.stuck_group, exact=True))
        .last
    )
    await expect(stuck_row.get_by_text("stalled")).to_be_visible(timeout=30_000)
    graph = page.locator("svg.pipeline")
    await expect(graph.locator("text", has_text=f"group: {site.stuck_group}")).to_be_visible()
    await expect(graph.locator("g.edge.stalled").first).to_be_attached()
    await expect(page.locator(".chart canvas").first).to_be_attached(timeout=15_000)

    await stuck_row.get_by_role("link").click()  # its lag links to the partitions behind it
    behind = page.locator(f"table[id='lag-{site.stuck_group}-{site.traffic_topic}']")
    await expect(behind).to_be_in_viewport()
    await expect(behind.get_by_role("row")).to_have_count(4)  # header and three partitions
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "topics.png"), full_page=True)


@pytest.mark.e2e
async def test_a_parked_request_is_replayed_from_the_page_and_audited(
    site: Site, page: Page
) -> None:
    event = await publish_poison(site.verifier, site.producer)
    await browser_sign_in(page, site.url, *OPERATOR)
    await page.goto(f"{site.url}/lang?to=en&next=/dead-letters?topic={DLQ}")
    row = page.locator("tr[id^='record-']", has_text=str(event.request_id))
    async with asyncio.timeout(30):
        while not await row.count():
            await page.reload()
            await asyncio.sleep(0.5)
    await expect(row.locator("td").nth(2)).to_contain_text("handler kept failing")
    await expect(row.locator("td").nth(3)).to_have_text(site.verifier.group)
    await row.get_by_text("Preview (masked)").click()
    preview = await row.locator("pre.preview").inner_text()
    assert CERTIFICATE not in preview and "Kenji" not in preview
    assert "K**** N*****" in preview
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
    await page.screenshot(path=str(SCREENSHOTS / "dead-letters.png"), full_page=True)

    site.verifier.poison.discard(event.event_id)  # fixed: now it can be stored
    await row.get_by_role("button", name=re.compile("^Replay record")).click()
    await expect(page.get_by_role("status").filter(has_text="Replayed")).to_be_visible()
    await site.verifier.wait_for(event.event_id)
    replayed = page.locator("tr[id^='record-']", has_text=str(event.request_id))
    await expect(replayed.get_by_text("replayed", exact=True)).to_be_visible()
    await expect(replayed.get_by_role("button", name=re.compile("^Replay"))).to_have_count(0)

    await page.goto(f"{site.url}/audit?actor={OPERATOR[0]}")
    await expect(page.get_by_role("cell", name="dead_letter.replay").first).to_be_visible()


@pytest.mark.integration
async def test_viewers_cannot_act_and_refusals_are_explained(site: Site) -> None:
    event = await publish_poison(site.verifier, site.producer)
    page_path = f"/dead-letters?topic={DLQ}"
    async with signed_in_client(site.url, *VIEWER) as viewer:
        async with asyncio.timeout(30):
            while str(event.request_id) not in (await viewer.get(page_path)).text:
                await asyncio.sleep(0.3)
        listed = (await viewer.get(page_path)).text
        assert "Replay" not in listed and "重放</button>" not in listed
        assert CERTIFICATE not in listed
        refused = await post_form(
            viewer,
            page_path,
            "/dead-letters/replay",
            {"topic": DLQ, "partition": "0", "offset": "0"},
        )
        assert refused.status_code == 403
    async with signed_in_client(site.url, *OPERATOR) as operator:
        unknown = await post_form(
            operator,
            page_path,
            "/dead-letters/discard",
            {"topic": DLQ, "partition": "0", "offset": str(10**9), "reason": "gone"},
        )
        assert unknown.status_code == 404
        assert "No such parked record" in unknown.text or "没有该死信记录" in unknown.text
        no_reason = await post_form(
            operator,
            page_path,
            "/dead-letters/discard",
            {"topic": DLQ, "partition": "0", "offset": "0", "reason": "  "},
        )
        assert no_reason.status_code == 422
        assert "丢弃必须填写原因" in no_reason.text or "A reason is required" in no_reason.text
        malformed = await post_form(
            operator, page_path, "/dead-letters/replay", {"topic": DLQ, "partition": "x"}
        )
        assert malformed.status_code == 404
        older = await operator.get(f"{page_path}&before=1")
        assert older.status_code == 200
        assert "回到最新" in older.text or "Back to the newest" in older.text
        series = await operator.get("/topics/series.json?kind=in")
        assert series.status_code == 200 and set(series.json()) == {"x", "series"}
        assert (await operator.get("/topics/series.json?kind=sideways")).status_code == 400


@pytest.mark.integration
async def test_pages_say_so_when_the_broker_has_not_been_sampled_or_is_not_configured(
    site: Site,
) -> None:
    never = Sampler(
        lambda: kafka_admin.connect("127.0.0.1:9"),
        SampleStore(site.deps.pool),
        interval_seconds=5.0,
        retention=timedelta(hours=1),
    )
    waiting = dataclasses.replace(
        site.deps,
        topics=TopicsOverviewReader(
            never, SampleStore(site.deps.pool), window=timedelta(seconds=30), stall_seconds=60
        ),
        dead_letters=None,
    )
    sections = [*topics.routes(waiting), *dead_letters.routes(waiting)]
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(serve_console(waiting, sections))
        client = await stack.enter_async_context(signed_in_client(url, *VIEWER))
        page = await client.get("/topics")
        assert page.status_code == 200
        assert "尚无 Kafka 代理的采样" in page.text or "No sample of the broker yet" in page.text
        assert (await client.get("/topics/live")).status_code == 200
        letters = await client.get("/dead-letters/live")
        assert letters.status_code == 503
        assert "无法查看死信" in letters.text or "not available" in letters.text
    unconfigured = dataclasses.replace(site.deps, topics=None)
    async with contextlib.AsyncExitStack() as stack:
        url = await stack.enter_async_context(
            serve_console(unconfigured, topics.routes(unconfigured))
        )
        client = await stack.enter_async_context(signed_in_client(url, *VIEWER))
        assert (await client.get("/topics/live")).status_code == 503
        assert (await client.get("/topics/series.json")).status_code == 503
