"""Channel 3: signed digital credentials (Open Badges 3.0 / W3C VC 2.0 secured as a VC-JWT).

Each body signs with an Ed25519 key derived from (seed, body id), published as a JWKS, and
publishes a Bitstring Status List marking its revoked credentials.
"""

import base64
import gzip
import hashlib
import json
from datetime import UTC, date, datetime, time
from functools import lru_cache
from typing import Any, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from joserfc import jwt
from joserfc.jwk import OKPKey

from simulator.bodies import display_name, require_body_id
from simulator.context import SimulatorContext
from simulator.population import SimulatedCertificate, population_for
from simulator.responses import error_json, json_fault_response

CHANNEL = "signed_credential"
ALGORITHM = "Ed25519"  # RFC 9864 fully-specified EdDSA over Ed25519
STATUS_LIST_BITS = 131_072  # the W3C minimum, so an index reveals little about its holder
STATUS_LIST_ID = "1"
CredentialVariant = Literal["genuine", "unknown_key", "tampered"]
KeyPurpose = Literal["issuer", "unknown"]
_CONTEXTS = [
    "https://www.w3.org/ns/credentials/v2",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
]


@lru_cache(maxsize=512)
def signing_key(seed: int, body_id: str, purpose: KeyPurpose = "issuer") -> OKPKey:
    """The body's Ed25519 key; `unknown` is a key no JWKS publishes (for forgeries)."""
    private_bytes = hashlib.sha256(f"vc-signing|{seed}|{body_id}|{purpose}".encode()).digest()
    public_bytes = (
        Ed25519PrivateKey.from_private_bytes(private_bytes)
        .public_key()
        .public_bytes(Encoding.Raw, PublicFormat.Raw)
    )
    return OKPKey.import_key(
        {"kty": "OKP", "crv": "Ed25519", "d": _b64url(private_bytes), "x": _b64url(public_bytes)}
    )


def key_id(key: OKPKey) -> str:
    return key.thumbprint()


def jwks_for(seed: int, body_id: str) -> dict[str, Any]:
    key = signing_key(seed, body_id)
    public = key.as_dict(private=False)
    return {"keys": [{**public, "kid": key_id(key), "use": "sig", "alg": ALGORITHM}]}


def credential_claims(cert: SimulatedCertificate, issuer_url: str) -> dict[str, Any]:
    """The VC 2.0 document (with JWT registered claims mirroring its validity)."""
    valid_from = _at(cert.issued_on, time(0, 0, 0))
    claims: dict[str, Any] = {
        "@context": _CONTEXTS,
        "id": f"{issuer_url}/credentials/{cert.credential_id}",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "issuer": {"id": issuer_url, "type": ["Profile"], "name": display_name(cert.body_id)},
        "validFrom": _iso(valid_from),
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "name": cert.holder_name,
            "identifier": cert.certificate_number,
            "achievement": {
                "id": f"{issuer_url}/achievements/{_slug(cert.credential_name)}",
                "type": ["Achievement"],
                "name": cert.credential_name,
            },
        },
        "credentialStatus": {
            "id": f"{issuer_url}/status/{STATUS_LIST_ID}#{cert.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(cert.index),
            "statusListCredential": f"{issuer_url}/status/{STATUS_LIST_ID}",
        },
        "iss": issuer_url,
        "jti": f"{issuer_url}/credentials/{cert.credential_id}",
        "iat": int(valid_from.timestamp()),
        "nbf": int(valid_from.timestamp()),
    }
    if cert.expires_on is not None:
        valid_until = _at(cert.expires_on, time(23, 59, 59))
        claims["validUntil"] = _iso(valid_until)
        claims["exp"] = int(valid_until.timestamp())
    return claims


def sign(claims: dict[str, Any], key: OKPKey) -> str:
    header = {"alg": ALGORITHM, "typ": "vc+jwt", "cty": "vc", "kid": key_id(key)}
    return jwt.encode(header, claims, key, algorithms=[ALGORITHM])


def issue_credential(
    seed: int, cert: SimulatedCertificate, issuer_url: str, variant: CredentialVariant
) -> str:
    """The VC-JWT a holder would present; non-genuine variants must fail verification."""
    claims = credential_claims(cert, issuer_url)
    if variant == "unknown_key":
        return sign(claims, signing_key(seed, cert.body_id, "unknown"))
    token = sign(claims, signing_key(seed, cert.body_id))
    if variant == "tampered":
        header, _, signature = token.split(".")
        edited = {
            **claims,
            "credentialSubject": {
                **claims["credentialSubject"],
                "name": cert.claimed_name + " (edited)",
            },
        }
        return ".".join([header, _b64url(json.dumps(edited).encode()), signature])
    return token


def encode_status_list(revoked_indices: list[int], bits: int = STATUS_LIST_BITS) -> str:
    """Multibase base64url (prefix "u", no padding) of the GZIP-compressed bitstring; index 0
    is the most significant bit of the first byte."""
    bitstring = bytearray(bits // 8)
    for index in revoked_indices:
        bitstring[index // 8] |= 0x80 >> (index % 8)
    return "u" + _b64url(gzip.compress(bytes(bitstring), mtime=0))


def decode_status_list(encoded: str) -> bytes:
    if not encoded.startswith("u"):
        raise ValueError("status list is not multibase base64url")
    payload = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def is_bit_set(bitstring: bytes, index: int) -> bool:
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def status_list_credential(
    issuer_url: str, body_id: str, population: list[SimulatedCertificate]
) -> dict[str, Any]:
    revoked = [cert.index for cert in population if cert.status == "revoked"]
    list_url = f"{issuer_url}/status/{STATUS_LIST_ID}"
    first_issued = min(cert.issued_on for cert in population)
    return {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "id": list_url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer_url, "name": display_name(body_id)},
        "validFrom": _iso(_at(first_issued, time(0, 0, 0))),
        "credentialSubject": {
            "id": f"{list_url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(revoked),
        },
    }


def build_router(ctx: SimulatorContext) -> APIRouter:
    router = APIRouter(prefix="/vc/{body_id}", tags=["signed-credentials"])
    seed, size = ctx.settings.seed, ctx.settings.population_size

    def issuer_url(request: Request, body_id: str) -> str:
        base = ctx.settings.public_base_url or str(request.base_url)
        return f"{base.rstrip('/')}/vc/{body_id}"

    async def fault(body_id: str) -> Response | None:
        require_body_id(body_id)
        decision = await ctx.admit(CHANNEL, body_id)
        if decision.outcome == "pass":
            return None
        ctx.record(CHANNEL, body_id, decision.outcome)
        return json_fault_response(decision)

    @router.get("/.well-known/jwks.json")
    async def jwks(body_id: str) -> Response:
        if (failed := await fault(body_id)) is not None:
            return failed
        ctx.record(CHANNEL, body_id, "jwks")
        return JSONResponse(jwks_for(seed, body_id), media_type="application/jwk-set+json")

    async def status_document(request: Request, body_id: str) -> dict[str, Any] | Response:
        if (failed := await fault(body_id)) is not None:
            return failed
        ctx.record(CHANNEL, body_id, "status_list")
        return status_list_credential(
            issuer_url(request, body_id), body_id, population_for(seed, body_id, size)
        )

    @router.get(f"/status/{STATUS_LIST_ID}")
    async def status_list(body_id: str, request: Request) -> Response:
        document = await status_document(request, body_id)
        if isinstance(document, Response):
            return document
        return JSONResponse(document, media_type="application/vc+ld+json")

    @router.get(f"/status/{STATUS_LIST_ID}.jwt")
    async def status_list_jwt(body_id: str, request: Request) -> Response:
        document = await status_document(request, body_id)
        if isinstance(document, Response):
            return document
        return Response(sign(document, signing_key(seed, body_id)), media_type="application/vc+jwt")

    @router.get("/credentials/{credential_id}.jwt")
    async def credential(
        body_id: str, credential_id: str, request: Request, variant: CredentialVariant = "genuine"
    ) -> Response:
        if (failed := await fault(body_id)) is not None:
            return failed
        cert = ctx.certificate(body_id, credential_id)
        if cert is None:
            ctx.record(CHANNEL, body_id, "not_found")
            return error_json(404, "not_found")
        ctx.record(CHANNEL, body_id, "ok")
        token = issue_credential(seed, cert, issuer_url(request, body_id), variant)
        return Response(token, media_type="application/vc+jwt")

    return router


def _at(day: date, moment: time) -> datetime:
    return datetime.combine(day, moment, tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _slug(text: str) -> str:
    return "-".join(text.lower().split())


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")
