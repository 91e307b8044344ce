"""How a channel says that an attempt failed but a later one may succeed."""


class TransientChannelError(Exception):
    """The body did not answer usefully this time (timeout, 5xx, connection refused)."""


class RateLimited(TransientChannelError):
    def __init__(self, retry_after_seconds: float) -> None:
        super().__init__(f"rate limited, retry after {retry_after_seconds}s")
        self.retry_after_seconds = retry_after_seconds
