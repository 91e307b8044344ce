"""What a delivery channel (webhook, e-mail) reports back to the sender."""

from dataclasses import dataclass
from typing import Protocol

from services.notifier.store.repository import DueDelivery


@dataclass(frozen=True)
class Failure:
    error: str
    final: bool = False  # retrying cannot help (e.g. the endpoint was removed)


class Transport(Protocol):
    async def send(self, delivery: DueDelivery) -> Failure | None: ...
