"""Signed verification statements: verified offline with the published keys, revocation
published in the Bitstring Status List, keys rotated without breaking older statements."""

import base64
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
from joserfc import jws
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, OKPKey

from qualverify.registry.v1 import registry_pb2
from services.registry.api.app import RunningRegistry, running_registry
from services.registry.domain.statements import (
    STATUS_LIST_BITS,
    encode_status_list,
    status_bit,
)
from tests.infra import Infra
from tests.registry.support import QUALIFICATION, issue_request, registry_settings

pytestmark = pytest.mark.integration

ALGORITHMS = ["Ed25519"]


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str) -> AsyncIterator[RunningRegistry]:
    settings = registry_settings(
        infra, module_database, public_base_url="https://registry.example.cn"
    )
    async with running_registry(settings) as running:
        yield running


async def published_keys(registry: RunningRegistry) -> KeySet:
    """What an offline verifier downloads once: the JWKS, over plain HTTP."""
    async with httpx.AsyncClient(base_url=registry.public_url) as http:
        reply = await http.get("/.well-known/jwks.json")
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/jwk-set+json")
    return KeySet.import_key_set(reply.json())


async def status_list(registry: RunningRegistry, keys: KeySet) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=registry.public_url) as http:
        reply = await http.get("/v1/status-lists/1")
    assert reply.headers["content-type"].startswith("application/vc+jwt")
    credential = jws.deserialize_compact(reply.text, keys, algorithms=ALGORITHMS)
    claims: dict[str, Any] = orjson.loads(credential.payload)
    return claims


def verify_offline(statement: str, keys: KeySet) -> dict[str, Any]:
    token = jws.deserialize_compact(statement, keys, algorithms=ALGORITHMS)
    assert token.headers()["typ"] == "vc+jwt"
    claims: dict[str, Any] = orjson.loads(token.payload)
    return claims


def test_status_list_bits_round_trip() -> None:
    encoded = encode_status_list([0, 7, 8, STATUS_LIST_BITS - 1])
    assert encoded.startswith("u")
    assert [status_bit(encoded, i) for i in (0, 1, 7, 8, 9, STATUS_LIST_BITS - 1)] == [
        True,
        False,
        True,
        True,
        False,
        True,
    ]
    with pytest.raises(ValueError, match="out of range"):
        encode_status_list([STATUS_LIST_BITS])


async def test_a_statement_verifies_offline_with_the_published_key(
    stub: Any, registry: RunningRegistry
) -> None:
    issued = await stub.seed(issue_request(holder_name="ZHANG Wei"))
    keys = await published_keys(registry)
    claims = verify_offline(issued.statement, keys)
    subject = claims["credentialSubject"]
    assert subject["verificationCode"] == issued.code
    assert subject["qualificationId"] == QUALIFICATION
    assert subject["holderNameMasked"] == "Z**** W**"
    assert "ZHANG Wei" not in issued.statement
    assert claims["issuer"]["id"] == "https://registry.example.cn"
    status = claims["credentialStatus"]
    assert status["type"] == "BitstringStatusListEntry"
    assert status["statusListCredential"] == "https://registry.example.cn/v1/status-lists/1"
    # A retried issuance returns the very same statement; the stored verification carries it.
    again = await stub.seed(
        issue_request(issued.verification.request_id, holder_ref=issued.verification.holder_ref)
    )
    assert again.statement == issued.statement == issued.verification.statement


async def test_a_tampered_statement_or_a_foreign_key_fails(
    stub: Any, registry: RunningRegistry
) -> None:
    issued = await stub.seed(issue_request())
    keys = await published_keys(registry)
    header, _, signature = issued.statement.split(".")
    forged_claims = orjson.loads(
        jws.deserialize_compact(issued.statement, keys, algorithms=ALGORITHMS).payload
    )
    forged_claims["credentialSubject"]["qualificationId"] = "something-else"
    forged_payload = base64.urlsafe_b64encode(orjson.dumps(forged_claims)).decode().rstrip("=")
    with pytest.raises(BadSignatureError):
        verify_offline(f"{header}.{forged_payload}.{signature}", keys)
    stranger = OKPKey.generate_key(
        "Ed25519",
        parameters={"kid": jws.extract_compact(issued.statement.encode()).headers()["kid"]},
    )
    with pytest.raises(BadSignatureError):
        verify_offline(
            issued.statement, KeySet([OKPKey.import_key(stranger.as_dict(private=False))])
        )


async def test_revocation_flips_the_published_status_bit(
    stub: Any, registry: RunningRegistry
) -> None:
    issued = await stub.seed(issue_request())
    keys = await published_keys(registry)
    index = int(verify_offline(issued.statement, keys)["credentialStatus"]["statusListIndex"])
    before = await status_list(registry, keys)
    assert before["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
    assert not status_bit(before["credentialSubject"]["encodedList"], index)

    await stub.RevokeCode(registry_pb2.RevokeCodeRequest(code=issued.code, reason="forged"))
    after = await status_list(registry, keys)
    assert status_bit(after["credentialSubject"]["encodedList"], index)


async def test_rotated_keys_sign_new_statements_and_old_ones_still_verify(
    stub: Any, registry: RunningRegistry
) -> None:
    old = await stub.seed(issue_request())
    rotated = await stub.RotateSigningKey(registry_pb2.RotateSigningKeyRequest())
    new = await stub.seed(issue_request())
    keys = await published_keys(registry)
    old_kid = jws.extract_compact(old.statement.encode()).headers()["kid"]
    new_kid = jws.extract_compact(new.statement.encode()).headers()["kid"]
    assert new_kid == rotated.kid != old_kid
    verify_offline(old.statement, keys)
    verify_offline(new.statement, keys)
    jwks = (await published_keys(registry)).as_dict(private=False)
    assert all("d" not in key for key in jwks["keys"])  # never a private half


async def test_private_keys_are_stored_encrypted(
    registry: RunningRegistry, module_database: str
) -> None:
    conn = await asyncpg.connect(module_database)
    try:
        stored = await conn.fetch("SELECT encrypted_private_key FROM registry.signing_keys")
    finally:
        await conn.close()
    assert stored
    assert all(b"ENCRYPTED PRIVATE KEY" in bytes(row[0]) for row in stored)
