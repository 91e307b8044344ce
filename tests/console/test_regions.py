"""The Regions section: each region's consumer groups (a real group on the real broker, read
from the broker's own metadata) and its StreamOutcomes subscribers (a real registry), over HTTP
and in headless Chromium; and what it says when a source is away."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from playwright.async_api import Page, expect

from qualverify.registry.v1 import registry_pb2
from services.console.__main__ import core_deps
from services.console.adapters import kafka_admin
from services.console.domain.regions import region_of_group
from services.console.store.samples import SampleStore
from services.console.usecases.sampling import Sampler
from services.console.usecases.topics import TopicsOverviewReader
from services.console.web import regions
from tests.browser import describe_violations, screenshots_dir, serious_axe_violations
from tests.console.conftest import (
    OPERATOR,
    VIEWER,
    browser_sign_in,
    console_settings,
    serve_console,
    with_accounts,
)
from tests.console.registry_fixtures import RegistryConsole, registry_console
from tests.console.support import signed_in_client
from tests.infra import Infra

SCREENSHOTS = screenshots_dir()


@pytest.mark.parametrize(
    ("group", "region"),
    [
        ("region-beijing", "beijing"),
        ("region-tianjin", "tianjin"),
        ("region_hebei.replica", "hebei"),
        ("Region-Hebei", "hebei"),
        ("registry", None),
        ("notifier-outcomes", None),
        ("beijingtianjin", None),  # not a word of its own
        ("region-beijing-tianjin", None),  # ambiguous: no region's alone
    ],
)
def test_a_group_belongs_to_the_region_it_names(group: str, region: str | None) -> None:
    assert region_of_group(group) == region


@dataclass
class Site:
    running: RegistryConsole
    group: str
    topic: str


async def consume_three_of_five(bootstrap: str, topic: str, group: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"outcome {i}".encode(), partition=0)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.commit({partition: 3})  # read three, then stopped
    finally:
        await consumer.stop()


@pytest.fixture(scope="module")
async def site(
    infra: Infra, module_database: str, console_pool: asyncpg.Pool
) -> AsyncIterator[Site]:
    bootstrap = infra.kafka_bootstrap_servers
    topic = f"console.regions.{uuid.uuid4().hex[:8]}"
    group = f"region-tianjin-{uuid.uuid4().hex[:6]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, 1, 1)])
    try:
        await consume_three_of_five(bootstrap, topic, group)
        samples = SampleStore(console_pool)
        sampler = Sampler(
            lambda: kafka_admin.connect(bootstrap),
            samples,
            interval_seconds=5.0,
            retention=timedelta(hours=1),
        )
        async with kafka_admin.connect(bootstrap) as broker:
            for _ in range(3):  # a few points for the chart
                await sampler.sample_once(broker)
                await asyncio.sleep(1)
        reader = TopicsOverviewReader(
            sampler, samples, window=timedelta(seconds=30), stall_seconds=60.0
        )
        async with (
            registry_console(
                infra, module_database, console_pool, regions.routes, topics=reader
            ) as running,
            open_stream(running, registry_pb2.REGION_TIANJIN),
        ):
            yield Site(running, group, topic)
    finally:
        await admin.delete_topics([topic])
        await admin.close()


@contextlib.asynccontextmanager
async def open_stream(running: RegistryConsole, region: Any) -> AsyncIterator[None]:
    """A regional system subscribed to its outcomes for as long as the block runs."""
    stream = running.stub.StreamOutcomes(registry_pb2.StreamOutcomesRequest(region=region))
    reading = asyncio.create_task(anext(aiter(stream), None))
    try:
        async with asyncio.timeout(10):
            while not [s for s in await running.operator.subscribers("tianjin") if s.connected]:
                await asyncio.sleep(0.1)
        yield
    finally:
        stream.cancel()
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)


@pytest.mark.integration
async def test_each_region_shows_its_groups_and_subscribers(site: Site) -> None:
    async with signed_in_client(site.running.url, *VIEWER) as client:
        client.cookies.set("qv_console_lang", "en")
        page = await client.get("/regions")
        live = await client.get("/regions/live", headers={"HX-Request": "true"})
    assert page.status_code == 200 and live.status_code == 200
    assert live.text.lstrip().startswith('<div id="regions-live"')
    tianjin = page.text.split('id="region-tianjin"')[1].split('id="region-hebei"')[0]
    assert site.group in tianjin and site.topic in tianjin
    assert "3 / 5" in tianjin  # committed / end of partition 0
    assert f'href="/topics#lag-{site.group}-{site.topic}">2</a>' in tianjin  # the lag
    assert "connected" in tianjin and "ipv4:127.0.0.1" in tianjin
    beijing = page.text.split('id="region-beijing"')[1].split('id="region-tianjin"')[0]
    assert site.group not in beijing
    assert 'role="alert"' not in page.text


@pytest.mark.integration
async def test_the_chart_gives_each_regions_lag_per_sample(site: Site) -> None:
    async with signed_in_client(site.running.url, *VIEWER) as client:
        client.cookies.set("qv_console_lang", "en")
        chart = (await client.get("/regions/series.json")).json()
        client.cookies.set("qv_console_lang", "zh")
        labels = [s["label"] for s in (await client.get("/regions/series.json")).json()["series"]]
    assert chart["x"] and [s["label"] for s in chart["series"]] == ["Beijing", "Tianjin", "Hebei"]
    tianjin = chart["series"][1]["values"]
    assert len(tianjin) == len(chart["x"]) and tianjin[-1] == 2
    assert labels == ["北京", "天津", "河北"]


@pytest.mark.integration
async def test_without_broker_figures_or_registry_the_page_says_what_is_missing(
    module_database: str, console_pool: asyncpg.Pool
) -> None:
    deps = await with_accounts(core_deps(console_settings(module_database), console_pool))
    async with (
        serve_console(deps, regions.routes(deps)) as url,
        signed_in_client(url, *OPERATOR) as client,
    ):
        client.cookies.set("qv_console_lang", "zh")
        page = await client.get("/regions")
        chart = await client.get("/regions/series.json")
    assert chart.status_code == 503 and chart.json() == {"x": [], "series": []}
    assert page.status_code == 200
    assert "本控制台未配置消息代理数据" in page.text
    assert "本控制台未配置注册中心" in page.text
    assert page.text.count("该地区没有订阅记录。") == 3


@pytest.mark.e2e
async def test_the_regions_page_in_a_browser(site: Site, page: Page) -> None:
    await browser_sign_in(page, site.running.url, *OPERATOR)
    await page.goto(f"{site.running.url}/lang?to=en&next=/regions")
    await expect(page.get_by_role("heading", name="Regions", exact=True)).to_be_visible()
    tianjin = page.get_by_role("region", name="Tianjin")
    await expect(tianjin.get_by_role("row").filter(has_text=site.group)).to_contain_text("3 / 5")
    subscribers = tianjin.get_by_role("table").nth(1)
    await expect(subscribers).to_contain_text("connected")
    await page.wait_for_selector(".chart canvas")  # uPlot drew each region's lag
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "regions.png"), full_page=True)

    await page.get_by_role("link", name="中文").click()
    await expect(page.get_by_role("heading", name="区域", exact=True)).to_be_visible()
    await expect(page.get_by_role("region", name="天津")).to_contain_text("在线")
    assert not (found := await serious_axe_violations(page)), describe_violations(found)
