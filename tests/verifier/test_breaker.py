"""The circuit breaker of one awarding body, with an explicit clock."""

from services.verifier.domain.breaker import BreakerState, CircuitBreaker


def test_it_opens_after_the_threshold_and_makes_callers_wait() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10)
    for now in (0.0, 1.0):
        breaker.record_failure(now)
        assert breaker.wait_seconds(now) == 0
    breaker.record_failure(2.0)
    assert breaker.is_open
    assert breaker.wait_seconds(5.0) == 7.0


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(failure_threshold=2, open_seconds=10)
    breaker.record_failure(0.0)
    breaker.record_success(0.5)
    breaker.record_failure(1.0)
    assert breaker.wait_seconds(1.0) == 0


def test_after_the_wait_one_probe_goes_and_others_keep_waiting() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=4)
    breaker.record_failure(0.0)
    assert breaker.wait_seconds(4.0) == 0  # the probe
    assert breaker.wait_seconds(4.0) > 0  # everyone else
    breaker.record_success(4.0)
    assert breaker.wait_seconds(4.1) == 0
    assert not breaker.is_open


def test_a_failed_probe_opens_it_again() -> None:
    breaker = CircuitBreaker(failure_threshold=5, open_seconds=4)
    for _ in range(5):
        breaker.record_failure(0.0)
    assert breaker.wait_seconds(4.0) == 0
    breaker.record_failure(4.5)
    assert breaker.wait_seconds(5.0) == 3.5


def test_it_reports_its_state_and_since_when() -> None:
    breaker = CircuitBreaker(failure_threshold=2, open_seconds=4)
    assert (breaker.state(0.0), breaker.state_since(0.0)) == (BreakerState.CLOSED, None)
    breaker.record_failure(1.0)
    assert breaker.state(1.0) == BreakerState.CLOSED and breaker.failures == 1
    breaker.record_failure(2.0)
    assert (breaker.state(3.0), breaker.state_since(3.0)) == (BreakerState.OPEN, 2.0)
    assert (breaker.state(6.5), breaker.state_since(6.5)) == (BreakerState.HALF_OPEN, 6.0)
    assert breaker.wait_seconds(6.5) == 0  # the probe goes, and succeeds
    breaker.record_success(7.0)
    assert (breaker.state(8.0), breaker.state_since(8.0)) == (BreakerState.CLOSED, 7.0)
    assert breaker.failures == 0
