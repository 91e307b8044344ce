"""Ed25519 signing keys in the registry's database, and the signer of statements.

Private keys are stored only as passphrase-encrypted PKCS#8 and are never logged; a key is
decrypted once per process and kept in memory by its id. Retired keys stay published in the
JWKS so statements they signed remain verifiable.
"""

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson
from joserfc import jws
from joserfc.jwk import KeySet, OKPKey

from services.registry.domain.statements import JOSE_TYPE, SIGNING_ALGORITHM
from services.runtime.db import Connection

log = logging.getLogger(__name__)


class SigningKeys:
    CURRENT = "SELECT kid, encrypted_private_key FROM signing_keys WHERE retired_at IS NULL"
    INSERT = (
        "INSERT INTO signing_keys (kid, public_jwk, encrypted_private_key) "
        "VALUES ($1, $2::jsonb, $3)"
    )
    RETIRE = "UPDATE signing_keys SET retired_at = clock_timestamp() WHERE retired_at IS NULL"
    PUBLISHED = "SELECT public_jwk FROM signing_keys ORDER BY created_at DESC"

    def __init__(self, pool: asyncpg.Pool, passphrase: str) -> None:
        self._pool = pool
        self._passphrase = passphrase
        self._decrypted: dict[str, OKPKey] = {}

    async def ensure_current(self) -> str:
        """The current key's id, creating the first key when there is none."""
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(self.CURRENT)
            if row is not None:
                return str(row["kid"])
            try:
                async with conn.transaction():
                    return await self._insert_new(conn)
            except asyncpg.UniqueViolationError:  # another replica created it first
                current = await conn.fetchrow(self.CURRENT)
                assert current is not None
                return str(current["kid"])

    async def rotate(self) -> str:
        """Retires the current key and makes a new one current; returns the new key's id."""
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute("LOCK TABLE signing_keys IN EXCLUSIVE MODE")
            await conn.execute(self.RETIRE)
            kid = await self._insert_new(conn)
        log.info("signing key rotated", extra={"kid": kid})
        return kid

    async def sign(self, conn: Connection, claims: dict[str, Any]) -> str:
        """Compact JWS of `claims` with the current key (`alg` Ed25519, `typ` vc+jwt)."""
        return (await self.sign_all(conn, [claims]))[0]

    async def sign_all(self, conn: Connection, claims: Sequence[dict[str, Any]]) -> list[str]:
        """Each of `claims` signed with the current key, read once for them all."""
        kid, key = await self._current(conn)
        header = {"alg": SIGNING_ALGORITHM, "kid": kid, "typ": JOSE_TYPE}
        return [
            jws.serialize_compact(header, orjson.dumps(one), key, algorithms=[SIGNING_ALGORITHM])
            for one in claims
        ]

    async def jwks(self) -> dict[str, Any]:
        rows = await self._pool.fetch(self.PUBLISHED)
        return {"keys": [orjson.loads(row["public_jwk"]) for row in rows]}

    async def key_set(self) -> KeySet:
        """The published keys, as an offline verifier would import them."""
        return KeySet.import_key_set(await self.jwks())  # type: ignore[arg-type]

    async def _current(self, conn: Connection) -> tuple[str, OKPKey]:
        row = await conn.fetchrow(self.CURRENT)
        if row is None:
            raise RuntimeError("no current signing key; the registry creates one at start-up")
        kid = str(row["kid"])
        if kid not in self._decrypted:
            # Decrypting derives the key from the passphrase (CPU-bound): off the event loop.
            self._decrypted[kid] = await asyncio.to_thread(
                OKPKey.import_key,
                bytes(row["encrypted_private_key"]),
                parameters={"kid": kid},
                password=self._passphrase.encode(),
            )
        return kid, self._decrypted[kid]

    async def _insert_new(self, conn: Connection) -> str:
        key = OKPKey.generate_key("Ed25519")
        kid = key.thumbprint()
        public = key.as_dict(private=False) | {"kid": kid, "alg": SIGNING_ALGORITHM, "use": "sig"}
        encrypted = key.as_pem(private=True, password=self._passphrase)
        await conn.execute(self.INSERT, kid, orjson.dumps(public).decode(), encrypted)
        self._decrypted[kid] = OKPKey.import_key(key.as_dict(private=True), {"kid": kid})
        return kid
