"""An awarding body's recent health, with an explicit clock: a sliding window of attempts that
forgets what is older than the window, and percentiles of its recent answer times."""

import pytest

from services.verifier.domain.body_health import (
    KEPT_ANSWER_TIMES,
    AttemptCounts,
    AttemptWindow,
    BodyHealth,
)


def test_the_window_counts_attempts_and_failures_of_the_last_minutes_only() -> None:
    window = AttemptWindow(window_seconds=300)
    window.record(1000.0, failed=False)
    window.record(1001.0, failed=True)
    window.record(1200.0, failed=True)
    assert window.counts(1250.0) == AttemptCounts(attempts=3, failed=2)
    assert window.counts(1250.0).error_rate == pytest.approx(2 / 3)
    # Five minutes after the first two, only the third is still inside.
    assert window.counts(1305.0) == AttemptCounts(attempts=1, failed=1)
    assert window.counts(1600.0) == AttemptCounts(attempts=0, failed=0)
    assert window.counts(1600.0).error_rate is None


def test_a_reused_slot_forgets_what_it_held_a_window_ago() -> None:
    window = AttemptWindow(window_seconds=300)
    window.record(0.0, failed=True)
    window.record(300.0, failed=False)  # the same slot of the ring, one window later
    assert window.counts(300.0) == AttemptCounts(attempts=1, failed=0)


def test_a_window_must_have_a_length() -> None:
    with pytest.raises(ValueError, match="positive"):
        AttemptWindow(window_seconds=0)


def test_answer_times_give_percentiles_and_the_newest_first() -> None:
    health = BodyHealth()
    assert health.answer_times().count == 0 and health.answer_times().p50_seconds is None
    for i in range(1, 11):
        health.record_answer(float(i), seconds=float(i))
    times = health.answer_times(last=3)
    assert times.count == 10
    assert times.p50_seconds == pytest.approx(5.5)
    assert times.p90_seconds == pytest.approx(9.1)
    assert [a.seconds for a in times.last] == [10.0, 9.0, 8.0]


def test_one_answer_is_its_own_percentiles_and_only_the_latest_are_kept() -> None:
    health = BodyHealth()
    health.record_answer(0.0, seconds=2.0)
    assert (health.answer_times().p50_seconds, health.answer_times().p90_seconds) == (2.0, 2.0)
    for i in range(KEPT_ANSWER_TIMES + 5):
        health.record_answer(float(i), seconds=100.0)
    assert health.answer_times().count == KEPT_ANSWER_TIMES
    assert health.answer_times().p50_seconds == 100.0
