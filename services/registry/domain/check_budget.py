"""The public check's budget per client: a sliding window counter, as the store counts it.

In the window now under way a client has `current` admitted checks, and `previous` in the one
before; that earlier window still weighs `1 - elapsed` (the fraction of it inside the last
window's length). A check is admitted while the weighted sum plus one stays within the limit.
Pure: when a refused client may try again.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowCount:
    limit: int
    window_seconds: float
    previous: int
    current: int
    elapsed: float  # the fraction of the current window gone, 0 <= elapsed < 1

    def retry_after_seconds(self) -> int:
        """Whole seconds until one more check fits (at least 1)."""
        # Less a nanosecond: float noise must not round 3.0000000000000027 s up to 4.
        return max(1, math.ceil(self._fraction_to_wait() * self.window_seconds - 1e-9))

    def _fraction_to_wait(self) -> float:
        room = self.limit - self.current - 1
        if room >= 0:  # this window has room once enough of the previous one slides out
            needed = 1 - room / self.previous if self.previous else 0.0
            return max(0.0, needed - self.elapsed)
        # Not before the next window, where this one's hits weigh as the previous ones.
        needed = 1 - (self.limit - 1) / self.current
        return 1 - self.elapsed + max(0.0, needed)
