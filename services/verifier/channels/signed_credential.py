"""Signed digital credential channel: a VC-JWT (Open Badges 3.0 / W3C VC 2.0) the holder supplied,
or, for issuers of public badges (`fetch_by_number`, e.g. Credly), fetched from the issuer by its
certificate number; checked against the issuer's published keys, its validity period and its
revocation status list.

Keys and status lists come only from the body's configured endpoint host and are cached, so a
cached body needs no network call. Fail closed: a key or list that cannot be had means "could
not check", never "authentic".
"""

import base64
import binascii
import gzip
import hashlib
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import orjson
from joserfc import jws
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import KeySet

from services.contracts.events import VerificationRequested
from services.reference.channels import BodyChannel
from services.runtime.egress import EgressRefused
from services.verifier.channels.errors import TransientChannelError
from services.verifier.channels.guard import HostGuard, RefusedUrl, fetch_limited
from services.verifier.channels.http_clients import BodyClients, ResponseTooLarge
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

CHANNEL = "signed_credential"
ALGORITHMS = ["Ed25519", "EdDSA", "ES256"]
MAX_TOKEN_BYTES = 64 * 1024
KEY_REFETCH_SECONDS = 10.0
_STATUS_PURPOSE = "revocation"


class CouldNotCheck(Exception):
    """Something needed for the verdict could not be checked; the message says what."""


@dataclass
class _Cached:
    value: Any
    until: float
    fetched: float = 0.0


@dataclass(frozen=True)
class _IssuerKeys:
    """An issuer's published key document, imported once (not once per credential)."""

    document: dict[str, Any]
    keys: KeySet | None  # None: the document's keys are malformed


def _issuer_keys(document: dict[str, Any]) -> _IssuerKeys:
    published: Any = document  # checked by the import itself
    try:
        return _IssuerKeys(document, KeySet.import_key_set(published))
    except (JoseError, ValueError, TypeError):
        return _IssuerKeys(document, None)


class SignedCredentialChannel:
    def __init__(
        self,
        client: httpx.AsyncClient,
        guard: HostGuard,
        *,
        bodies: BodyClients | None = None,
        keys_ttl_seconds: float = 300.0,
        status_ttl_seconds: float = 60.0,
    ) -> None:
        """`client`: fetches keys and status lists (cached); `bodies`: the credentials fetched
        by number, one per verification (by default clients under the guard's policy)."""
        self._client = client
        self._guard = guard
        self._bodies = bodies or BodyClients(policy=guard.policy, resolver=guard.resolver)
        self._keys_ttl = keys_ttl_seconds
        self._status_ttl = status_ttl_seconds
        self._cache: dict[str, _Cached] = {}

    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer:
        token = request.certificate.channel_fields.get("credential_jwt", "").strip()
        digest = hashlib.sha256(token.encode()).hexdigest()

        def answer(status: BodyStatus, detail: str = "", **extra: Any) -> BodyAnswer:
            return BodyAnswer(
                body_id,
                CHANNEL,
                status,
                detail=detail,
                asked="verify signed credential",
                answer_digest=digest,
                **extra,
            )

        try:
            if not token and channel.fetch_by_number:
                fetched = await self._fetch_credential(body_id, channel, request.certificate.number)
                if fetched is None:
                    return answer(BodyStatus.NOT_FOUND, "the issuer has no such credential")
                token = fetched
            return await self._verify(token, channel, request, answer)
        except CouldNotCheck as error:
            return answer(BodyStatus.UNREACHABLE, str(error))
        except RefusedUrl as error:
            return answer(BodyStatus.UNREACHABLE, f"refused to fetch: {error}")

    async def _verify(
        self,
        token: str,
        channel: BodyChannel,
        request: VerificationRequested,
        answer: Callable[..., BodyAnswer],
    ) -> BodyAnswer:
        if not token:
            raise CouldNotCheck("no signed credential was supplied")
        if len(token) > MAX_TOKEN_BYTES:
            raise CouldNotCheck("the signed credential is too large")
        header, claims = _unverified(token)
        issuer = _issuer_of(claims)
        if issuer.rstrip("/") != channel.endpoint.rstrip("/"):
            raise CouldNotCheck("the credential's issuer is not a known issuer of the body")
        key_id = str(header.get("kid", ""))
        keys = await self._keys(channel, key_id)
        try:
            verified = jws.deserialize_compact(token, keys, algorithms=ALGORITHMS)
        except BadSignatureError:
            return answer(BodyStatus.SIGNATURE_INVALID, "the signature does not match")
        except JoseError as error:
            raise CouldNotCheck(f"signature not checkable: {type(error).__name__}") from error
        claims = _json_object(verified.payload)
        return await self._judge(claims, channel, request, answer)

    async def _judge(
        self,
        claims: dict[str, Any],
        channel: BodyChannel,
        request: VerificationRequested,
        answer: Callable[..., BodyAnswer],
    ) -> BodyAnswer:
        subject = claims.get("credentialSubject")
        if not isinstance(subject, dict):
            raise CouldNotCheck("the credential has no subject")
        number = str(subject.get("identifier", ""))
        if number.casefold() != request.certificate.number.casefold():
            return answer(BodyStatus.NOT_FOUND, "the credential is for another certificate")
        now = datetime.now(UTC)
        valid_from, valid_until = (
            _instant(claims.get("validFrom")),
            _instant(claims.get("validUntil")),
        )
        if valid_from is not None and now < valid_from:
            return answer(BodyStatus.EXPIRED, "the credential is not valid yet")
        if valid_until is not None and now > valid_until:
            return answer(BodyStatus.EXPIRED, "the validity period has ended")
        if await self._revoked(claims, channel):
            return answer(BodyStatus.REVOKED, "set in the issuer's revocation list")
        name = subject.get("name")
        return answer(
            BodyStatus.CONFIRMED,
            "signature, validity and revocation status checked",
            registered_name=name if isinstance(name, str) else None,
            expires_on=valid_until.date() if valid_until else None,
        )

    async def _keys(self, channel: BodyChannel, key_id: str) -> KeySet:
        url = f"{channel.endpoint.rstrip('/')}/.well-known/jwks.json"
        issuer: _IssuerKeys | None = self._cached(url)
        if issuer is None or (not _has_key(issuer.document, key_id) and self._may_refetch(url)):
            issuer = _issuer_keys(await self._fetch_json(url, channel, "issuer keys"))
            now = time.monotonic()
            self._cache[url] = _Cached(issuer, now + self._keys_ttl, now)
        if not _has_key(issuer.document, key_id):
            raise CouldNotCheck("the signing key is not published by the issuer (unknown key)")
        if issuer.keys is None:
            raise CouldNotCheck("the issuer's published keys are malformed")
        return issuer.keys

    async def _revoked(self, claims: dict[str, Any], channel: BodyChannel) -> bool:
        entry = claims.get("credentialStatus")
        if entry is None:
            return False  # the issuer does not offer revocation for this credential
        if not isinstance(entry, dict) or entry.get("statusPurpose") != _STATUS_PURPOSE:
            raise CouldNotCheck("the credential's status entry is not understood")
        url = str(entry.get("statusListCredential", ""))
        try:
            index = int(str(entry.get("statusListIndex", "")))
        except ValueError as error:
            raise CouldNotCheck("the credential's status index is malformed") from error
        await self._guard.check(url, urlsplit(channel.endpoint).hostname or "")
        bits = self._cached(url)
        if bits is None:
            document = await self._fetch_json(url, channel, "revocation status list")
            bits = decode_status_list(document)
            self._cache[url] = _Cached(bits, time.monotonic() + self._status_ttl)
        return is_revoked(bits, index)

    async def _fetch_credential(
        self, body_id: str, channel: BodyChannel, number: str
    ) -> str | None:
        """The issuer's public copy of the credential, or None when it has none by that id."""
        url = f"{channel.endpoint.rstrip('/')}/credentials/{quote(number.strip(), safe='')}.jwt"
        await self._guard.check(url, urlsplit(channel.endpoint).hostname or "")
        # Once per verification: on the bodies' aiohttp clients, not httpx (see http_clients).
        try:
            response = await self._bodies.send(
                body_id, channel, "GET", url, max_bytes=MAX_TOKEN_BYTES
            )
        except ResponseTooLarge as error:
            raise RefusedUrl(str(error)) from error
        except TransientChannelError as error:
            if isinstance(error.__cause__, EgressRefused):
                raise RefusedUrl("host resolves to an internal address") from error
            raise TransientChannelError(f"credential unreachable: {error}") from error
        if response.status == 404:
            return None
        if response.status == 429 or response.status >= 500:
            raise TransientChannelError(f"credential unreachable: HTTP {response.status}")
        if response.status != 200:
            raise CouldNotCheck(f"credential unavailable: HTTP {response.status}")
        return response.text.strip()

    def _may_refetch(self, url: str) -> bool:
        """An unknown key may be a new one (key rotation): fetch the keys again, but not more
        often than every few seconds, so forged tokens cannot make us flood the issuer."""
        entry = self._cache.get(url)
        return entry is None or time.monotonic() - entry.fetched >= KEY_REFETCH_SECONDS

    def _cached(self, url: str) -> Any:
        entry = self._cache.get(url)
        return entry.value if entry and entry.until > time.monotonic() else None

    async def _fetch_json(self, url: str, channel: BodyChannel, what: str) -> dict[str, Any]:
        try:
            response = await fetch_limited(
                self._client,
                url,
                max_bytes=channel.max_response_bytes,
                seconds=channel.timeout_seconds,
            )
        except TransientChannelError as error:
            raise TransientChannelError(f"{what} unreachable: {error}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise TransientChannelError(f"{what} unreachable: HTTP {response.status_code}")
        if response.status_code != 200:
            raise CouldNotCheck(f"{what} unavailable: HTTP {response.status_code}")
        try:
            return _json_object(response.content)
        except CouldNotCheck as error:
            raise CouldNotCheck(f"{what} malformed") from error


def _unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        compact = jws.extract_compact(token.encode())
    except (JoseError, ValueError, binascii.Error) as error:
        raise CouldNotCheck("the signed credential is not a compact JWS") from error
    return dict(compact.protected), _json_object(compact.payload)


def _json_object(raw: bytes) -> dict[str, Any]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise CouldNotCheck("not JSON") from error
    if not isinstance(document, dict):
        raise CouldNotCheck("not a JSON object")
    return document


def _issuer_of(claims: dict[str, Any]) -> str:
    issuer = claims.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return str(issuer or claims.get("iss") or "")


def _has_key(document: dict[str, Any], key_id: str) -> bool:
    keys = document.get("keys")
    return isinstance(keys, list) and any(
        isinstance(k, dict) and k.get("kid") == key_id for k in keys
    )


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise CouldNotCheck("a validity date is malformed") from error
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def decode_status_list(document: dict[str, Any]) -> bytes:
    """The bitstring of a Bitstring Status List credential (multibase base64url of GZIP)."""
    subject = document.get("credentialSubject")
    encoded = subject.get("encodedList") if isinstance(subject, dict) else None
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise CouldNotCheck("revocation status list malformed")
    payload = encoded[1:]
    try:
        return gzip.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (binascii.Error, OSError, EOFError, zlib.error) as error:
        raise CouldNotCheck("revocation status list malformed") from error


def is_revoked(bits: bytes, index: int) -> bool:
    if not 0 <= index < len(bits) * 8:
        raise CouldNotCheck("status index outside the revocation status list")
    return bool(bits[index // 8] & (0x80 >> (index % 8)))
