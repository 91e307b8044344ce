"""The catalogue watch (section 五 of the notice: follow how each listed qualification is used,
so that the list can be adjusted): per qualification its requests, authentic rate and regions;
the ones nobody has verified in N months; withdrawals past and scheduled. Pure: no I/O."""

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime


@dataclass(frozen=True)
class ListedQualification:
    """A qualification of the catalogue as the registry holds it."""

    qualification_id: str
    name: str
    withdrawn_on: date | None = None
    withdrawal_reason: str = ""


@dataclass(frozen=True)
class Usage:
    """How one qualification was used, from the console's projection."""

    qualification_id: str
    requests: int = 0
    decided: int = 0
    authentic: int = 0
    regions: Mapping[str, int] = field(default_factory=dict)
    last_requested_at: datetime | None = None


@dataclass(frozen=True)
class Withdrawal:
    qualification_id: str
    name: str
    withdrawn_on: date
    reason: str

    def in_effect(self, today: date) -> bool:
        """Withdrawn from its date, inclusive (the registry's rule)."""
        return self.withdrawn_on <= today


@dataclass(frozen=True)
class WatchedQualification:
    qualification_id: str
    name: str
    requests: int
    authentic_rate: float | None  # authentic / decided
    regions: Mapping[str, int]
    last_requested_at: datetime | None
    dormant: bool  # in force, and nobody asked to verify it since the cut-off
    withdrawal: Withdrawal | None


@dataclass(frozen=True)
class CatalogueWatch:
    today: date
    dormant_since: datetime  # the cut-off: N months before now
    observed_since: datetime | None  # the console's first request: "never" means since then
    qualifications: list[WatchedQualification]
    withdrawals_past: list[Withdrawal]
    withdrawals_scheduled: list[Withdrawal]

    @property
    def dormant(self) -> list[WatchedQualification]:
        return [q for q in self.qualifications if q.dormant]


def months_before(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months earlier (the month's last day when it
    is shorter: 31 August less six months is 28 or 29 February)."""
    index = moment.year * 12 + moment.month - 1 - months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


def watch(
    catalogue: Iterable[ListedQualification],
    usage: Iterable[Usage],
    *,
    now: datetime,
    dormant_months: int,
    observed_since: datetime | None = None,
    announced: Mapping[str, Withdrawal] | None = None,
) -> CatalogueWatch:
    """`catalogue` is the registry's listing, which decides what is withdrawn; `announced` are
    the withdrawals seen on the catalogue's change topic: they give a reason the listing may
    lack, and the withdrawals of qualifications it does not list."""
    today = now.date()
    cut_off = months_before(now, dormant_months)
    used = {u.qualification_id: u for u in usage}
    announced = announced or {}
    rows = []
    withdrawals: dict[str, Withdrawal] = {}
    listed_ids = set()
    for listed in catalogue:
        listed_ids.add(listed.qualification_id)
        withdrawal = _withdrawal_of(listed, announced.get(listed.qualification_id))
        if withdrawal is not None:
            withdrawals[listed.qualification_id] = withdrawal
        rows.append(_watched(listed, used.get(listed.qualification_id), withdrawal, today, cut_off))
    for qualification_id, withdrawal in announced.items():
        if qualification_id not in listed_ids:
            withdrawals[qualification_id] = withdrawal
    ordered = sorted(withdrawals.values(), key=lambda w: (w.withdrawn_on, w.qualification_id))
    return CatalogueWatch(
        today=today,
        dormant_since=cut_off,
        observed_since=observed_since,
        qualifications=sorted(rows, key=lambda q: (-q.requests, q.qualification_id)),
        withdrawals_past=[w for w in reversed(ordered) if w.in_effect(today)],
        withdrawals_scheduled=[w for w in ordered if not w.in_effect(today)],
    )


def _withdrawal_of(listed: ListedQualification, announced: Withdrawal | None) -> Withdrawal | None:
    if listed.withdrawn_on is None:
        return None
    reason = listed.withdrawal_reason or (announced.reason if announced else "")
    return Withdrawal(listed.qualification_id, listed.name, listed.withdrawn_on, reason)


def _watched(
    listed: ListedQualification,
    usage: Usage | None,
    withdrawal: Withdrawal | None,
    today: date,
    cut_off: datetime,
) -> WatchedQualification:
    usage = usage or Usage(listed.qualification_id)
    in_force = withdrawal is None or not withdrawal.in_effect(today)
    last = usage.last_requested_at
    return WatchedQualification(
        qualification_id=listed.qualification_id,
        name=listed.name,
        requests=usage.requests,
        authentic_rate=usage.authentic / usage.decided if usage.decided else None,
        regions=dict(usage.regions),
        last_requested_at=last,
        dormant=in_force and (last is None or last < cut_off),
        withdrawal=withdrawal,
    )
