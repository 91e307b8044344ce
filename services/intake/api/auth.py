"""Who is calling: an employer, identified by an API key (stored only as a hash)."""

import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.store.accounts import REVOCATIONS_CHANNEL
from services.intake.store.repository import IntakeStore
from services.runtime.notifications import Notifications

# How long a worker trusts a key it verified. A revoked key is forgotten at once by the process
# that revoked it (`forget_api_key`) and, told by PostgreSQL, by every other worker process
# (`follow_api_key_revocations`); only a worker that could not hear (its LISTEN connection
# lost) may accept it for at most this long, or until it listens again.
API_KEY_CACHE_SECONDS = 30.0


class _ApiKeyCache:
    """Remembers verified API keys briefly so each request does not cost a database read."""

    def __init__(self, ttl_seconds: float = API_KEY_CACHE_SECONDS) -> None:
        self._ttl = ttl_seconds
        self._entries: dict[str, tuple[UUID, float]] = {}
        _CACHES.add(self)

    def forget_all(self) -> None:
        self._entries.clear()

    def forget(self, key_id: str) -> None:
        prefix = f"qv_{key_id}_"
        for api_key in [k for k in self._entries if k.startswith(prefix)]:
            del self._entries[api_key]

    def get(self, api_key: str) -> UUID | None:
        entry = self._entries.get(api_key)
        if entry is None or entry[1] < time.monotonic():
            return None
        return entry[0]

    def put(self, api_key: str, employer_id: UUID) -> None:
        if len(self._entries) > 10_000:
            self._entries.clear()
        self._entries[api_key] = (employer_id, time.monotonic() + self._ttl)


_CACHES: "weakref.WeakSet[_ApiKeyCache]" = weakref.WeakSet()


def forget_api_key(key_id: str) -> None:
    """A revoked key is refused at once by every app of this process."""
    for cache in list(_CACHES):
        cache.forget(key_id)


def _forget_every_api_key() -> None:
    for cache in list(_CACHES):
        cache.forget_all()


def follow_api_key_revocations(notifications: Notifications) -> None:
    """Forgets each key revoked by any process of this intake as PostgreSQL announces it, and
    every key on each (re)connect (revocations announced meanwhile were not heard)."""
    notifications.on(
        REVOCATIONS_CHANNEL, forget_api_key, resync=_forget_every_api_key, own_schema=True
    )


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


def api_key_verifier(store: IntakeStore) -> Callable[[str], Awaitable[UUID | None]]:
    """The employer an API key belongs to (None: no such key, or revoked), remembered briefly."""
    keys = _ApiKeyCache()

    async def employer_of(api_key: str) -> UUID | None:
        employer_id = keys.get(api_key) or await store.authenticate(api_key)
        if employer_id is not None:
            keys.put(api_key, employer_id)
        return employer_id

    return employer_of


def employer_dependency(
    store: IntakeStore, employer_of: Callable[[str], Awaitable[UUID | None]] | None = None
) -> Callable[..., Awaitable[UUID]]:
    """A FastAPI dependency answering the calling employer's id, or refusing with 401."""
    verified = employer_of or api_key_verifier(store)

    async def employer(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(API_KEY)],
    ) -> UUID:
        if credentials is None or not credentials.credentials:
            raise unauthenticated()
        employer_id = await verified(credentials.credentials)
        if employer_id is None:
            raise unauthenticated()
        return employer_id

    return employer
