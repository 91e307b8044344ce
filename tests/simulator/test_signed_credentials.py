from datetime import UTC, datetime

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import BadSignatureError, InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet

from simulator.population import find, unknown_certificate_number
from simulator.server import RunningSimulator
from simulator.signed_credentials import ALGORITHM, decode_status_list, is_bit_set
from tests.simulator.support import SEED


async def key_set(http: httpx.AsyncClient, body_id: str) -> KeySet:
    response = await http.get(f"/vc/{body_id}/.well-known/jwks.json")
    assert response.status_code == 200
    return KeySet.import_key_set(response.json())


async def fetch_credential(
    http: httpx.AsyncClient, body_id: str, number: str, variant: str = "genuine"
) -> str:
    response = await http.get(
        f"/vc/{body_id}/credentials/{number}.jwt", params={"variant": variant}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vc+jwt")
    return response.text


async def revoked_bits(http: httpx.AsyncClient, status_list_url: str) -> bytes:
    response = await http.get(status_list_url)
    assert response.status_code == 200
    subject = response.json()["credentialSubject"]
    assert (subject["type"], subject["statusPurpose"]) == ("BitstringStatusList", "revocation")
    return decode_status_list(subject["encodedList"])


async def test_genuine_credential_verifies_against_the_jwks(
    http: httpx.AsyncClient, simulator: RunningSimulator
) -> None:
    cert = find(SEED, "aws", "authentic")
    token = jwt.decode(
        await fetch_credential(http, "aws", cert.certificate_number),
        await key_set(http, "aws"),
        algorithms=[ALGORITHM],
    )
    vc = token.claims
    assert token.header["typ"] == "vc+jwt"
    assert vc["issuer"]["id"] == f"{simulator.base_url}/vc/aws"
    assert vc["credentialSubject"]["name"] == cert.holder_name
    assert vc["validFrom"] == f"{cert.issued_on.isoformat()}T00:00:00Z"
    assert "OpenBadgeCredential" in vc["type"]
    status = vc["credentialStatus"]
    assert status["statusListIndex"] == str(cert.index)
    bits = await revoked_bits(http, status["statusListCredential"])
    assert not is_bit_set(bits, cert.index)


async def test_status_list_marks_revoked_credentials(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "aws", "revoked")
    vc = jwt.decode(
        await fetch_credential(http, "aws", cert.certificate_number),
        await key_set(http, "aws"),
        algorithms=[ALGORITHM],
    ).claims
    bits = await revoked_bits(http, vc["credentialStatus"]["statusListCredential"])
    assert len(bits) * 8 == 131_072
    assert is_bit_set(bits, cert.index)
    assert sum(bin(byte).count("1") for byte in bits) == 15


async def test_signed_status_list_verifies(http: httpx.AsyncClient) -> None:
    response = await http.get("/vc/aws/status/1.jwt")
    claims = jwt.decode(response.text, await key_set(http, "aws"), algorithms=[ALGORITHM]).claims
    assert claims["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]


async def test_expired_credential_has_validity_in_the_past(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "pmi", "expired")
    vc = jwt.decode(
        await fetch_credential(http, "pmi", cert.certificate_number),
        await key_set(http, "pmi"),
        algorithms=[ALGORITHM],
    ).claims
    valid_until = datetime.fromisoformat(vc["validUntil"].replace("Z", "+00:00"))
    assert valid_until < datetime.now(UTC)
    with pytest.raises(JoseError):
        jwt.JWTClaimsRegistry().validate(vc)  # exp is in the past


async def test_credential_signed_by_an_unknown_key_fails(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "aws", "authentic")
    token = await fetch_credential(http, "aws", cert.certificate_number, "unknown_key")
    keys = await key_set(http, "aws")
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(token, keys, algorithms=[ALGORITHM])


async def test_tampered_credential_fails_the_signature(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "aws", "authentic")
    token = await fetch_credential(http, "aws", cert.certificate_number, "tampered")
    with pytest.raises(BadSignatureError):
        jwt.decode(token, await key_set(http, "aws"), algorithms=[ALGORITHM])


async def test_bodies_sign_with_different_keys(http: httpx.AsyncClient) -> None:
    cert = find(SEED, "aws", "authentic")
    token = await fetch_credential(http, "aws", cert.certificate_number)
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(token, await key_set(http, "microsoft"), algorithms=[ALGORITHM])


async def test_unknown_credential_is_404(http: httpx.AsyncClient) -> None:
    response = await http.get(f"/vc/aws/credentials/{unknown_certificate_number('aws')}.jwt")
    assert (response.status_code, response.json()) == (404, {"error": "not_found"})
