"""A breaker kept in step with other verifiers' breakers, with an explicit clock."""

from services.verifier.domain.breaker import BreakerState, CircuitBreaker


def test_opened_elsewhere_it_waits_what_is_left_of_the_other_ones_open_period() -> None:
    breaker = CircuitBreaker(failure_threshold=3, open_seconds=10)
    breaker.opened_elsewhere(100.0, open_for=4.0)
    assert breaker.is_open and breaker.wait_seconds(100.0) == 4.0
    assert breaker.state(101.0) is BreakerState.OPEN


def test_a_probe_held_elsewhere_keeps_it_waiting_until_the_claim_expires() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=2)
    breaker.record_failure(0.0)
    assert breaker.wait_seconds(2.0) == 0 and breaker.is_probing
    breaker.probe_taken_elsewhere(2.0, for_seconds=3.0)
    assert not breaker.is_probing
    assert breaker.wait_seconds(4.0) > 0
    assert breaker.wait_seconds(5.0) == 0 and breaker.is_probing  # the claim lapsed: its turn


def test_closed_elsewhere_it_lets_calls_through_but_never_under_its_own_probe() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=2)
    breaker.record_failure(0.0)
    breaker.closed_elsewhere(1.0)
    assert not breaker.is_open and breaker.wait_seconds(1.0) == 0
    breaker.record_failure(2.0)
    assert breaker.wait_seconds(4.0) == 0  # this verifier's probe is in flight
    breaker.closed_elsewhere(4.1)
    assert breaker.is_probing  # its own outcome decides


def test_only_a_transition_reports_that_it_opened() -> None:
    breaker = CircuitBreaker(failure_threshold=2, open_seconds=2)
    assert breaker.record_failure(0.0) is False
    assert breaker.record_failure(0.1) is True
    assert breaker.record_failure(0.2) is False  # a call in flight failing after: still open
    assert breaker.wait_seconds(2.5) == 0
    assert breaker.record_failure(2.6) is True  # the probe failed: opened again


def test_a_released_probe_goes_to_the_next_caller() -> None:
    breaker = CircuitBreaker(failure_threshold=1, open_seconds=1)
    breaker.record_failure(0.0)
    assert breaker.wait_seconds(1.0) == 0
    assert breaker.wait_seconds(1.0) > 0
    breaker.release_probe()
    assert breaker.wait_seconds(1.0) == 0
