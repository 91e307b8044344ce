"""When repeated failed sign-ins lock an account, and for how long: pure, given the clock.
One policy for every sign-in of the platform (the console's operators, employers' users)."""

from datetime import datetime, timedelta


def locked_until_after_failure(
    failures_before: int, now: datetime, lock_after: int, first_lock_seconds: float
) -> datetime | None:
    """The lock that follows one more failure: none below `lock_after` failures in a row, then
    `first_lock_seconds`, doubling with each further failure (capped at a day)."""
    failures = failures_before + 1
    if failures < lock_after:
        return None
    seconds = min(first_lock_seconds * 2 ** (failures - lock_after), 86_400.0)
    return now + timedelta(seconds=seconds)


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    return locked_until is not None and locked_until > now
