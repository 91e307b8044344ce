"""CPU cost of event authenticity: signing one record (producer side) and verifying it
(consumer side), for a typical verdict, on one core.

    uv run python -m bench.event_auth [ROUNDS]
"""

import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

from services.contracts.events import (
    CheckOutcome,
    CheckResult,
    LocalizedText,
    Verdict,
    VerdictReached,
    encode,
)
from services.runtime.event_auth import EventAuthSettings, EventKeys, write_event_keys


def typical_verdict() -> VerdictReached:
    return VerdictReached(
        request_id=uuid4(),
        employer_id=uuid4(),
        region="beijing",
        qualification_id="aws-e94e5145",
        holder_ref="a" * 64,
        verdict=Verdict.AUTHENTIC,
        reason=LocalizedText(zh="颁证机构确认证书真实", en="The awarding body confirmed it"),
        checks=[CheckResult(body_id="aws", check="record", outcome=CheckOutcome.PASSED)],
        verification_code="0EEN-2D2S-MS4A-PSD0-X",
        decided_at=datetime.now(UTC),
    )


def per_call_microseconds(call: Callable[[], object], rounds: int) -> float:
    started = time.process_time()
    for _ in range(rounds):
        call()
    return (time.process_time() - started) / rounds * 1e6


def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        keys_dir = write_event_keys(Path(tmp), ["verifier", "registry"])
        settings = EventAuthSettings(signing_key_dir=keys_dir, trust_dir=keys_dir)
        producer = EventKeys.load("verifier", settings)
        consumer = EventKeys.load("registry", settings)
    event = typical_verdict()
    value, headers = encode(event)
    topic, key = event.topic.name, event.key()
    signed = producer.signer.signed_headers(topic, key, value, headers)
    sign = per_call_microseconds(
        lambda: producer.signer.signed_headers(topic, key, value, headers), rounds
    )
    verify = per_call_microseconds(
        lambda: consumer.trusted.authenticate(topic, key, value, signed), rounds
    )
    print(f"record of {len(value)} bytes, {rounds} rounds, CPU time per call on one core:")
    print(f"  sign   {sign:7.1f} µs  ({1e6 / sign:,.0f} records/s)")
    print(f"  verify {verify:7.1f} µs  ({1e6 / verify:,.0f} records/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
