"""When an estimate "moves materially", and what the employer is told. Pure."""

from datetime import UTC, datetime, timedelta

from services.contracts.events import Stage
from services.notifier.domain.progress import (
    ACCEPTED,
    NotifiedProgress,
    after_notice,
    moved_materially,
    worth_notifying,
)

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_shift_under_five_minutes_is_never_material() -> None:
    old = NOW + timedelta(minutes=10)
    assert not moved_materially(old, old + timedelta(minutes=4, seconds=59), NOW)
    assert moved_materially(old, old + timedelta(minutes=5), NOW)


def test_a_long_wait_needs_a_fifth_of_the_remaining_time() -> None:
    old = NOW + timedelta(hours=10)  # 20% of the remaining time is 2 hours
    assert not moved_materially(old, old + timedelta(hours=1, minutes=59), NOW)
    assert moved_materially(old, old + timedelta(hours=2), NOW)
    assert moved_materially(old, old - timedelta(hours=2), NOW), "earlier counts too"


def test_an_estimate_already_passed_uses_the_floor() -> None:
    old = NOW - timedelta(hours=1)
    assert moved_materially(old, NOW + timedelta(minutes=5), NOW)
    assert not moved_materially(old, old + timedelta(minutes=3), NOW)


def test_without_two_estimates_nothing_moved() -> None:
    assert not moved_materially(None, NOW, NOW)
    assert not moved_materially(NOW, None, NOW)


def test_a_new_stage_is_worth_notifying_even_with_the_same_estimate() -> None:
    last = NotifiedProgress(Stage.VERIFYING, NOW + timedelta(hours=1))
    assert worth_notifying(last, Stage.WAITING_FOR_BODY, last.expected_completion_at, NOW)
    assert not worth_notifying(last, Stage.VERIFYING, last.expected_completion_at, NOW)


def test_the_first_estimate_becomes_the_baseline_without_a_notice() -> None:
    expected = NOW + timedelta(hours=1)
    assert not worth_notifying(ACCEPTED, Stage.VERIFYING, expected, NOW)
    assert after_notice(ACCEPTED, Stage.VERIFYING, expected, notified=False) == NotifiedProgress(
        Stage.VERIFYING, expected
    )


def test_small_drifts_cannot_add_up_unnoticed() -> None:
    start = NOW + timedelta(minutes=30)
    last = NotifiedProgress(Stage.VERIFYING, start)
    told = []
    for step in range(1, 5):  # four drifts of 2 minutes: 8 minutes in all
        expected = start + timedelta(minutes=2 * step)
        notify = worth_notifying(last, Stage.VERIFYING, expected, NOW)
        told.append(notify)
        last = after_notice(last, Stage.VERIFYING, expected, notify)
    assert told == [False, False, True, False]
    assert last.expected_completion_at == start + timedelta(minutes=6)
