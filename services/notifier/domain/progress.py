"""When a change in a request's progress is worth telling the employer about. Pure."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.contracts.events import Stage

# An estimate "moves materially" when it shifts by at least the larger of these two.
MATERIAL_SHIFT_FLOOR = timedelta(minutes=5)
MATERIAL_SHIFT_SHARE = 0.2  # of the time that was still remaining under the old estimate


@dataclass(frozen=True)
class NotifiedProgress:
    """What the employer was last told about a request in flight."""

    stage: Stage
    expected_completion_at: datetime | None


# Intake's acceptance already told the employer the request is being verified.
ACCEPTED = NotifiedProgress(Stage.VERIFYING, None)


def moved_materially(old: datetime | None, new: datetime | None, now: datetime) -> bool:
    """True when `new` differs from `old` by at least max(5 minutes, 20% of the remaining
    time under `old`). A first estimate (no `old`) is not a move."""
    if old is None or new is None:
        return False
    remaining = max(old - now, timedelta(0))
    threshold = max(MATERIAL_SHIFT_FLOOR, remaining * MATERIAL_SHIFT_SHARE)
    return abs(new - old) >= threshold


def worth_notifying(
    last: NotifiedProgress, stage: Stage, expected: datetime | None, now: datetime
) -> bool:
    return stage != last.stage or moved_materially(last.expected_completion_at, expected, now)


def after_notice(
    last: NotifiedProgress, stage: Stage, expected: datetime | None, notified: bool
) -> NotifiedProgress:
    """The baseline to compare the next change with. A first estimate becomes the baseline
    even unannounced; an unannounced small drift does not, so drifts cannot add up unseen."""
    if notified or last.expected_completion_at is None:
        return NotifiedProgress(stage, expected or last.expected_completion_at)
    return last
