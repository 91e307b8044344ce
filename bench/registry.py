"""Registry lookups per second compared with a bare grpc.aio server in the same run.
Target: the registry reaches at least 70% of the bare server's rate.

    uv run python -m bench.registry [--seconds 10] [--rounds 4] [--concurrency 64] [--codes 2000]

Both are called over mutual TLS as a region (Beijing's certificate); `--seconds` per server
is split into alternating rounds.

The client is grpc.aio in a process of its own, as the regions' Python clients are. It is not
the bottleneck: under load it used 0.17-0.25 ms of CPU per lookup (0.5-0.75 of a core) while
either server used a full core. ghz (Go, v0.93.0) as the client gave the same picture with a
lower ratio (bare ~4,400/s, registry ~2,250/s), since a cheaper client leaves the bare server
more of the two cores; it is not needed to run this bench.
"""

import argparse
import asyncio
import multiprocessing
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc

from bench.stack import platform, resident_megabytes
from deploy.local.processes import free_port
from deploy.local.supervisor import ServiceSpec
from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.domain.codes import mask_name
from services.registry.domain.statements import Issuer
from services.registry.domain.verifications import new_issue_request
from services.registry.settings import DEVELOPMENT_PASSPHRASE
from services.registry.store import SCHEMA
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from services.runtime.db import create_pool


async def seed_codes(database_url: str, public_url: str, count: int) -> list[str]:
    """Codes issued as the registry issues them for authentic verdicts (signed, in batches),
    straight through its store in the platform's database: no RPC issues codes."""
    pool = await create_pool(database_url, SCHEMA, min_size=1, max_size=1)
    try:
        codes = CodeRepository(
            pool, signer=SigningKeys(pool, DEVELOPMENT_PASSPHRASE), issuer=Issuer(public_url)
        )
        requests = [
            new_issue_request(
                request_id=str(uuid.uuid4()),
                qualification_id="aws-e94e5145",
                body_ids=["aws"],
                holder_ref=f"{n:064x}",
                holder_name=mask_name("Kenji Nguyen"),
                region="beijing",
                employer_id=str(uuid.uuid4()),
                verified_at=datetime.now(UTC),
            )
            for n in range(count)
        ]
        issued: list[str] = []
        for start in range(0, count, 500):
            async with pool.acquire() as conn, conn.transaction():
                batch = await codes.issue_all(conn, requests[start : start + 500])
            issued += [str(one.verification.code) for one in batch.values()]
        return issued
    finally:
        await pool.close()


def region_credentials(tls_dir: Path, identity: str = "beijing") -> grpc.ChannelCredentials:
    """Mutual TLS as a regional system (its certificate is its identity)."""
    return grpc.ssl_channel_credentials(
        root_certificates=(tls_dir / "ca.pem").read_bytes(),
        private_key=(tls_dir / f"{identity}-key.pem").read_bytes(),
        certificate_chain=(tls_dir / f"{identity}.pem").read_bytes(),
    )


async def _lookups(
    target: str, tls_dir: Path, codes: list[str], seconds: float, concurrency: int
) -> int:
    done = 0
    deadline = time.perf_counter() + seconds
    credentials = region_credentials(tls_dir)
    async with grpc.aio.secure_channel(target, credentials) as channel:
        stub = registry_pb2_grpc.RegistryServiceStub(channel)

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < deadline:
                code = random.choice(codes)
                await stub.LookupCode(registry_pb2.LookupCodeRequest(code=code), timeout=5)
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done


def _client_process(
    target: str,
    tls_dir: Path,
    codes: list[str],
    seconds: float,
    concurrency: int,
    out: "multiprocessing.Queue[int]",
) -> None:
    out.put(asyncio.run(_lookups(target, tls_dir, codes, seconds, concurrency)))


def measure(
    target: str, tls_dir: Path, codes: list[str], seconds: float, concurrency: int
) -> float:
    """Lookups per second, from a client in its own process so it does not share the loop."""
    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    client = multiprocessing.Process(
        target=_client_process, args=(target, tls_dir, codes, seconds, concurrency, queue)
    )
    client.start()
    count = queue.get()
    client.join()
    return count / seconds


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--codes", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    async with platform({"registry"}) as (running, supervisor):
        bare_port = free_port()
        tls = running.tls_dir
        bare_argv = [sys.executable, "-m", "bench.bare_grpc", str(bare_port), str(tls)]
        await supervisor.start(ServiceSpec("bare-grpc", bare_argv))
        await asyncio.sleep(1.0)
        codes = await seed_codes(running.database_url, running.public_url, args.codes)
        bare_target = f"127.0.0.1:{bare_port}"
        measure(bare_target, tls, codes, 2, args.concurrency)  # warm-up both
        measure(running.registry_target, tls, codes, 2, args.concurrency)
        # Alternating short rounds: load from elsewhere on the machine weighs on both alike.
        rounds = []
        for _ in range(args.rounds):
            seconds = args.seconds / args.rounds
            bare = measure(bare_target, tls, codes, seconds, args.concurrency)
            registry = measure(running.registry_target, tls, codes, seconds, args.concurrency)
            rounds.append((bare, registry))
        memory = resident_megabytes(supervisor)
    for bare, registry in rounds:
        print(f"round: bare {bare:.0f}/s, registry {registry:.0f}/s ({registry / bare:.0%})")
    bare, registry = (statistics.median(values) for values in zip(*rounds, strict=True))
    ratio = statistics.median(registry / bare for bare, registry in rounds)
    print(f"bare grpc.aio LookupCode: {bare:.0f}/s (median)")
    print(
        f"registry LookupCode:      {registry:.0f}/s  ({ratio:.0%} of bare, median of the rounds' "
        f"ratios; target >= 70%: {'met' if ratio >= 0.7 else 'NOT met'})"
    )
    print(f"registry resident memory: {memory.get('registry', 0):.0f} MB (budget 250 MB)")


if __name__ == "__main__":
    asyncio.run(main())
