"""CPU cost of the notifier's webhook transport: signed deliveries POSTed to a local receiver
(in a process of its own, so only the sender's CPU is counted), on uvloop as the service runs.

    uv run python -m bench.notifier_webhooks [--deliveries 4000] [--concurrency 16] [--rounds 3]

Prints the sender's CPU time per delivery for each round (after a warm-up that opens the
connections), then the median.
"""

import argparse
import asyncio
import base64
import multiprocessing
import secrets
import statistics
import time
import uuid

import orjson
import uvloop
from aiohttp import web

from deploy.local.processes import free_port
from services.notifier.delivery.webhooks import WebhookTransport
from services.notifier.store.repository import DueDelivery
from services.runtime.egress import EgressPolicy, guarded_session
from services.runtime.secret_box import SecretBox

BOX = SecretBox(secrets.token_bytes(32))  # a key of its own: the sender only unseals
PAYLOAD = orjson.dumps(
    {
        "type": "verification.concluded",
        "data": {"verdict": "authentic", "verification_code": "0EEN-2D2S-MS4A-PSD0-X"},
    }
)


def serve_receiver(port: int) -> None:
    async def hook(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hooks", hook)
    web.run_app(app, host="127.0.0.1", port=port, print=None, loop=uvloop.new_event_loop())


def deliveries(url: str, count: int) -> list[DueDelivery]:
    employer = uuid.uuid4()
    secret = "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()
    sealed = BOX.seal(secret, employer, url)
    return [
        DueDelivery(f"msg_{n}", employer, "webhook", url, sealed, None, PAYLOAD, 0)
        for n in range(count)
    ]


async def deliver_all(transport: WebhookTransport, due: list[DueDelivery], width: int) -> None:
    queue = iter(due)

    async def worker() -> None:
        for delivery in queue:
            failure = await transport.send(delivery)
            assert failure is None, failure

    async with asyncio.TaskGroup() as tasks:
        for _ in range(width):
            tasks.create_task(worker())


async def measure(port: int, count: int, width: int, rounds: int) -> list[float]:
    url = f"http://127.0.0.1:{port}/hooks"
    policy = EgressPolicy.from_entries(["127.0.0.1"])
    per_delivery = []
    async with guarded_session(policy) as http:
        transport = WebhookTransport(http, BOX, timeout_seconds=10)
        await deliver_all(transport, deliveries(url, width * 4), width)  # connections open
        for _ in range(rounds):
            due = deliveries(url, count)
            started = time.process_time()
            await deliver_all(transport, due, width)
            per_delivery.append((time.process_time() - started) / count)
    return per_delivery


async def wait_for_receiver(port: int) -> None:
    async with asyncio.timeout(10):
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            return


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deliveries", type=int, default=4000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    port = free_port()
    receiver = multiprocessing.Process(target=serve_receiver, args=(port,), daemon=True)
    receiver.start()
    try:
        uvloop.run(wait_for_receiver(port))
        rounds = uvloop.run(measure(port, args.deliveries, args.concurrency, args.rounds))
    finally:
        receiver.terminate()
        receiver.join()
    for n, seconds in enumerate(rounds, 1):
        print(f"round {n}: {seconds * 1000:.3f} ms CPU per delivery")
    print(f"median: {statistics.median(rounds) * 1000:.3f} ms CPU per delivery")


if __name__ == "__main__":
    main()
