"""Who is calling: an employer, identified by an API key (stored only as a hash)."""

import time
from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import Header

from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.store.repository import IntakeStore


class _ApiKeyCache:
    """Remembers verified API keys briefly so each request does not cost a database read."""

    def __init__(self, ttl_seconds: float = 30.0) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[UUID, float]] = {}

    def get(self, api_key: str) -> UUID | None:
        entry = self._entries.get(api_key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, api_key: str, employer_id: UUID) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[api_key] = (employer_id, time.monotonic() + self._ttl)


def unauthenticated() -> Refusal:
    return Refusal(
        RefusalCode.UNAUTHENTICATED, "缺少或无效的 API 密钥", "Missing or invalid API key"
    )


def employer_dependency(store: IntakeStore) -> Callable[..., Awaitable[UUID]]:
    """A FastAPI dependency answering the calling employer's id, or refusing with 401."""
    keys = _ApiKeyCache()

    async def employer(
        authorization: Annotated[
            str | None, Header(description="`Bearer <API key>` issued to the employer")
        ] = None,
    ) -> UUID:
        if not authorization or not authorization.startswith("Bearer "):
            raise unauthenticated()
        api_key = authorization.removeprefix("Bearer ").strip()
        employer_id = keys.get(api_key) or await store.authenticate(api_key)
        if employer_id is None:
            raise unauthenticated()
        keys.put(api_key, employer_id)
        return employer_id

    return employer
