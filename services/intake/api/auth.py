"""Who is calling: an employer, identified by an API key (stored only as a hash)."""

import time
from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

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


# An OpenAPI security scheme (so clients and tools know how to authenticate); the 401 is ours.
API_KEY = HTTPBearer(
    scheme_name="apiKey",
    bearerFormat="API key",
    description="`Authorization: Bearer <API key>`, the key an operator issued to the employer",
    auto_error=False,
)


def unauthenticated() -> Refusal:
    return Refusal(
        RefusalCode.UNAUTHENTICATED, "缺少或无效的 API 密钥", "Missing or invalid API key"
    )


def employer_dependency(store: IntakeStore) -> Callable[..., Awaitable[UUID]]:
    """A FastAPI dependency answering the calling employer's id, or refusing with 401."""
    keys = _ApiKeyCache()

    async def employer(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY)],
    ) -> UUID:
        if credentials is None or not credentials.credentials:
            raise unauthenticated()
        api_key = credentials.credentials
        employer_id = keys.get(api_key) or await store.authenticate(api_key)
        if employer_id is None:
            raise unauthenticated()
        keys.put(api_key, employer_id)
        return employer_id

    return employer
