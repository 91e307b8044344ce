"""Each awarding body's declared concurrency, held across every verifier replica.

Chosen: each verifier takes a share of it (domain/shares.py) among the live verifiers of the
heartbeat table (store/replicas.py), in an in-process limiter resized when they change. Not
chosen: slot leases in PostgreSQL, exact at every instant but two round trips (take, give
back) per body call, and a wait on the database when the body is busy; the share costs nothing
per call, only a heartbeat every couple of seconds per verifier.

What it gives up, and when:
- A verifier that joins while others run takes no slot of a body for one heartbeat interval
  plus the body's call timeout: by then the others have shrunk to their new shares (the join is
  announced with NOTIFY; the heartbeat covers a lost LISTEN) and every call they started under
  their old share has ended. A verifier that starts with no other alive (a cold start) takes its
  share at once; two starting at the same instant may both take the whole for one heartbeat.
- A verifier that dies keeps its share until its heartbeat expires (its `ttl`): the survivors
  use less than the body allows meanwhile, never more.
- With more verifiers than a body's concurrency each still gets one slot (see shares.py).
- While PostgreSQL is away the shares stay as they were; no work is taken on meanwhile anyway.
"""

import time

from anyio import CapacityLimiter

from services.reference.channels import BodyChannel
from services.verifier.domain.shares import share_of


class BodyLimits:
    """The limiters of one verifier. Alone (`shared=False`) each body gets its whole
    concurrency; shared, nothing until the first roster of live verifiers is known."""

    def __init__(self, instance: str, *, shared: bool, heartbeat_seconds: float = 0.0) -> None:
        self._me = instance
        self._shared = shared
        self._heartbeat = heartbeat_seconds
        self._live: list[str] | None = None if shared else [instance]
        self._joined_others_at: float | None = None  # set when joining a running cluster
        self._limiters: dict[str, CapacityLimiter] = {}
        self._channels: dict[str, BodyChannel] = {}

    def limiter(self, body_id: str, channel: BodyChannel) -> CapacityLimiter:
        limiter = self._limiters.get(body_id)
        if limiter is None:
            self._channels[body_id] = channel
            limiter = self._limiters[body_id] = CapacityLimiter(self._share(channel))
        return limiter

    def set_live(self, live: list[str]) -> None:
        """The live verifiers, as the heartbeat table has them now."""
        if self._live is None and set(live) - {self._me}:
            self._joined_others_at = time.monotonic()
        self._live = live
        for body_id, limiter in self._limiters.items():
            limiter.total_tokens = self._share(self._channels[body_id])

    def share(self, body_id: str) -> int:
        """This verifier's current share of the body's concurrency (0 while warming up)."""
        limiter = self._limiters.get(body_id)
        return 0 if limiter is None else int(limiter.total_tokens)

    def _share(self, channel: BodyChannel) -> int:
        if self._live is None:
            return 0
        joined = self._joined_others_at
        if joined is not None and time.monotonic() < joined + self._heartbeat + (
            channel.timeout_seconds
        ):
            return 0
        return share_of(channel.concurrency, self._live, self._me)
