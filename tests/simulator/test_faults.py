import pytest
from pydantic import ValidationError

from simulator.faults import FaultBook, FaultConfig, TokenBucket, decide, parse_fault_document

NOISY = FaultConfig(error_rate=0.3, throttle_rate=0.2, malformed_rate=0.3)


def test_same_seed_and_sequence_give_the_same_decisions() -> None:
    first = [decide(NOISY, 7, "aws", n) for n in range(200)]
    assert first == [decide(NOISY, 7, "aws", n) for n in range(200)]
    assert first != [decide(NOISY, 8, "aws", n) for n in range(200)]
    assert first != [decide(NOISY, 7, "pmi", n) for n in range(200)]


def test_rates_are_roughly_honoured() -> None:
    outcomes = [decide(NOISY, 7, "aws", n).outcome for n in range(2000)]
    assert 0.25 < outcomes.count("error") / 2000 < 0.35
    assert 0.11 < outcomes.count("throttled") / 2000 < 0.17  # 0.2 of the non-errors


def test_default_config_lets_everything_through_with_modest_latency() -> None:
    decisions = [decide(FaultConfig(), 1, "aws", n) for n in range(1000)]
    assert {d.outcome for d in decisions} == {"pass"}
    assert all(d.malformed is None for d in decisions)
    latencies = sorted(d.latency_seconds for d in decisions)
    assert 0.03 < latencies[500] < 0.05  # median 40 ms
    assert 0.1 < latencies[990] < 0.2  # p99 150 ms
    assert latencies[-1] <= 0.45


def test_outage_wins_over_everything_else() -> None:
    config = FaultConfig(outage=True, error_rate=1.0, malformed_rate=1.0)
    decision = decide(config, 1, "aws", 0, rate_limit_wait=3.0)
    assert decision.outcome == "unavailable" and decision.malformed is None


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(tokens=2, updated_at=0.0)
    assert bucket.take(0.0, rate=1.0, burst=2) is None
    assert bucket.take(0.0, rate=1.0, burst=2) is None
    wait = bucket.take(0.0, rate=1.0, burst=2)
    assert wait == pytest.approx(1.0)
    assert bucket.take(1.0, rate=1.0, burst=2) is None


def test_rate_limit_throttles_with_retry_after() -> None:
    now = [0.0]
    book = FaultBook(
        seed=1, default=FaultConfig(latency_median_ms=0, latency_p99_ms=0), clock=lambda: now[0]
    )
    book.set_override("aws", {"rate_limit_per_second": 0.5, "rate_limit_burst": 2})
    outcomes = [book.next_decision("aws") for _ in range(3)]
    assert [d.outcome for d in outcomes] == ["pass", "pass", "throttled"]
    assert outcomes[2].retry_after_seconds == 2
    assert book.next_decision("pmi").outcome == "pass"  # other bodies are not limited
    now[0] = 2.0
    assert book.next_decision("aws").outcome == "pass"


def test_override_inherits_unset_fields_from_the_default() -> None:
    book = FaultBook(seed=1, default=FaultConfig(latency_median_ms=5, latency_p99_ms=10))
    book.set_override("aws", {"outage": True})
    effective = book.effective("aws")
    assert effective.outage and effective.latency_median_ms == 5
    book.set_default(FaultConfig(latency_median_ms=0, latency_p99_ms=0))
    assert book.effective("aws").latency_median_ms == 0
    book.clear_override("aws")
    assert not book.effective("aws").outage


def test_setting_an_override_restarts_the_body_sequence() -> None:
    book = FaultBook(seed=3)
    book.set_override("aws", {"error_rate": 0.5})
    first = [book.next_decision("aws") for _ in range(20)]
    book.set_override("aws", {"error_rate": 0.5})
    assert [book.next_decision("aws") for _ in range(20)] == first


def test_invalid_configs_are_rejected() -> None:
    book = FaultBook(seed=1)
    with pytest.raises(ValidationError):
        book.set_override("aws", {"error_rate": 1.5})
    with pytest.raises(ValidationError):
        book.set_override("aws", {"no_such_knob": True})
    with pytest.raises(ValidationError):
        book.set_override("aws", {"latency_p99_ms": 1})  # below the default median of 40
    assert "aws" not in book.overrides


def test_fault_document_sets_default_and_bodies() -> None:
    book = parse_fault_document(
        {
            "default": {"latency_median_ms": 0, "latency_p99_ms": 0},
            "bodies": {"pmi": {"outage": True}},
        },
        seed=1,
        clock=lambda: 0.0,
    )
    assert book.effective("aws").latency_median_ms == 0
    assert book.next_decision("pmi").outcome == "unavailable"
    with pytest.raises(ValueError, match="unknown keys"):
        parse_fault_document({"bodys": {}}, seed=1, clock=lambda: 0.0)
    with pytest.raises(ValueError):
        parse_fault_document({"bodies": {"Not A Slug": {}}}, seed=1, clock=lambda: 0.0)
