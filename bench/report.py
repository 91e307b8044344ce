"""Verification report PDFs: how long one takes to render (target: under 200 ms), how much CPU
it costs, and whether the event loop stays responsive while reports render on their thread.
Each report carries its own statement, signed beforehand (signing is not timed).

    uv run python -m bench.report [--reports 200]
    uv run python -m bench.report --sample docs/employer/sample-report.pdf

`--sample` writes one report of a clearly fictitious holder and employer instead, with the
public key that signed its statement beside it (`<name>.jwks.json`) so it verifies offline, and
a picture of its first page (`<name>.png`).
"""

import argparse
import asyncio
import contextlib
import json
import statistics
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pypdfium2  # type: ignore[import-untyped]
from joserfc import jws
from joserfc.jwk import OKPKey

from deploy.local.demo import DEMO_QUALIFICATION
from services.intake.adapters.pdf_report import PdfReports
from services.intake.catalogue import EditionCatalogue
from services.intake.domain.lifecycle import Status
from services.intake.domain.report import ReportSource, VerificationReport, verification_report
from services.intake.settings import IntakeSettings
from services.intake.usecases.reporting import describe
from services.registry.domain.codes import generate_code
from services.registry.domain.statements import (
    JOSE_TYPE,
    SIGNING_ALGORITHM,
    Issuer,
    verification_claims,
)
from services.registry.domain.verifications import Region, Verification

TARGET_MS = 200.0
CHECK_URL = "http://127.0.0.1:8084/check"  # make run's public check page
SAMPLE_HOLDER = "SAMPLE Fictitious"  # masked in the report as the registry masks it
SAMPLE_EMPLOYER = "示例科技有限公司(虚构) Sample Technology Co., Ltd. (fictitious)"


@dataclass(frozen=True)
class Sample:
    report: VerificationReport
    key: OKPKey


def sample_report(catalogue: EditionCatalogue, key: OKPKey, serial: int = 0) -> Sample:
    """A report as intake makes one: its statement signed with `key` as the registry signs."""
    qualification = catalogue.current.qualification(DEMO_QUALIFICATION)
    now = datetime.now(UTC)
    request_id = uuid.uuid4()
    code = generate_code()
    verification = Verification(
        request_id=request_id,
        code=code,
        qualification_id=qualification.id,
        body_ids=qualification.body_ids,
        holder_ref=f"sample-holder-{serial}",
        holder_name=SAMPLE_HOLDER,
        region=Region.BEIJING,
        employer_id="sample-employer",
        verified_at=now,
        created_at=now,
    )
    claims = verification_claims(verification, serial, Issuer("http://127.0.0.1:8084"))
    header = {"alg": SIGNING_ALGORITHM, "kid": key.kid, "typ": JOSE_TYPE}
    statement = jws.serialize_compact(
        header, orjson.dumps(claims), key, algorithms=[SIGNING_ALGORITHM]
    )
    source = ReportSource(request_id, Status.AUTHENTIC, str(code), "beijing", statement)
    entry = describe(catalogue.current, qualification.id, list(qualification.body_ids))
    return Sample(verification_report(source, entry, SAMPLE_EMPLOYER, CHECK_URL, now), key)


def write_sample(path: Path, font: Path) -> None:
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "sample-key"})
    sample = sample_report(EditionCatalogue.load(), key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(PdfReports(font).render_now(sample.report))
    keys = path.with_suffix(".jwks.json")
    keys.write_text(json.dumps({"keys": [key.as_dict(private=False)]}, indent=2) + "\n")
    preview = path.with_suffix(".png")
    document = pypdfium2.PdfDocument(path)
    try:
        document[0].render(scale=1.25).to_pil().quantize(64).save(preview, optimize=True)
    finally:
        document.close()
    print(f"wrote {path} (code {sample.report.code}), {keys} and {preview} (its first page)")


def milliseconds(seconds: list[float], p: float) -> float:
    ordered = sorted(seconds)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def measure(reports: int, font: Path) -> None:
    started = time.perf_counter()
    renderer = PdfReports(font)
    registering = (time.perf_counter() - started) * 1000
    key = OKPKey.generate_key("Ed25519", parameters={"kid": "bench-key"})
    catalogue = EditionCatalogue.load()
    samples = [sample_report(catalogue, key, n).report for n in range(reports + 1)]

    started = time.perf_counter()
    renderer.render_now(samples[0])
    cold = (time.perf_counter() - started) * 1000

    walls: list[float] = []
    cpus: list[float] = []
    sizes: list[int] = []
    for report in samples[1:]:
        wall, cpu = time.perf_counter(), time.thread_time()
        sizes.append(len(renderer.render_now(report)))
        walls.append(time.perf_counter() - wall)
        cpus.append(time.thread_time() - cpu)
    p99 = milliseconds(walls, 99)
    met = "met" if p99 < TARGET_MS else "NOT met"
    print(f"font registered once per process: {registering:.0f} ms; first report {cold:.0f} ms")
    print(
        f"{reports} reports: ms p50 {milliseconds(walls, 50):.1f} p99 {p99:.1f} "
        f"max {max(walls) * 1000:.1f}; CPU ms per report {statistics.fmean(cpus) * 1000:.1f}; "
        f"{statistics.fmean(sizes) / 1024:.0f} KiB each  [target p99 < {TARGET_MS:.0f} ms: {met}]"
    )
    asyncio.run(loop_lag(renderer, samples[1 : 1 + min(reports, 50)]))
    renderer.close()


async def loop_lag(renderer: PdfReports, reports: list[VerificationReport]) -> None:
    """The event loop's worst lateness while reports render through `render` (their thread),
    beside its lateness over as long a time with nothing rendering (what the machine's other
    load alone causes)."""
    started = time.perf_counter()
    async with _heartbeat() as rendering:
        await asyncio.gather(*(renderer.render(report) for report in reports))
    elapsed = time.perf_counter() - started
    async with _heartbeat() as idle:
        await asyncio.sleep(elapsed)
    print(
        f"{len(reports)} reports through the event loop in {elapsed * 1000:.0f} ms: the loop "
        f"was at most {rendering.worst * 1000:.1f} ms late (p99 {rendering.p99 * 1000:.1f}); "
        f"idle for as long: at most {idle.worst * 1000:.1f} ms (p99 {idle.p99 * 1000:.1f})"
    )


@dataclass
class _Lateness:
    samples: list[float] = field(default_factory=list)

    @property
    def worst(self) -> float:
        return max(self.samples, default=0.0)

    @property
    def p99(self) -> float:
        return milliseconds(self.samples, 99) / 1000 if self.samples else 0.0


@contextlib.asynccontextmanager
async def _heartbeat(period: float = 0.005) -> AsyncIterator[_Lateness]:
    """Measures how late a `period` sleep wakes up, until the block ends."""
    lateness = _Lateness()
    done = asyncio.Event()

    async def beat() -> None:
        while not done.is_set():
            before = time.perf_counter()
            await asyncio.sleep(period)
            lateness.samples.append(max(0.0, time.perf_counter() - before - period))

    task = asyncio.create_task(beat())
    try:
        yield lateness
    finally:
        done.set()
        await task


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--sample", type=Path, help="write one sample report here instead")
    args = parser.parse_args()
    font = IntakeSettings.model_fields["report_font"].default
    if args.sample:
        write_sample(args.sample, font)
    else:
        measure(args.reports, font)


if __name__ == "__main__":
    main()
