"""When a refused client may check again, under the sliding window counter."""

from services.registry.domain.check_budget import WindowCount


def test_a_full_current_window_waits_into_the_next() -> None:
    # 30 in this window, 0 before, a quarter gone: the next window starts in 45 s, and there
    # this window's 30 weigh 30 * (1 - f); one more fits once f >= 1/30 (2 s in).
    count = WindowCount(limit=30, window_seconds=60, previous=0, current=30, elapsed=0.25)
    assert count.retry_after_seconds() == 47


def test_room_in_this_window_waits_for_the_previous_to_slide_out() -> None:
    # 20 before, 10 now, half gone: 20 * 0.5 + 10 = 20 < 30 would fit; at limit 20 it needs
    # 20 * (1 - f) + 11 <= 20, so f >= 0.55: 3 s more.
    count = WindowCount(limit=20, window_seconds=60, previous=20, current=10, elapsed=0.5)
    assert count.retry_after_seconds() == 3


def test_it_is_never_less_than_a_second() -> None:
    count = WindowCount(limit=2, window_seconds=60, previous=3, current=1, elapsed=0.9999)
    assert count.retry_after_seconds() == 1
