"""Verification statements and the revocation status list, as data (no keys, no I/O).

A statement is a W3C Verifiable Credential (data model 2.0) secured as a compact JWS
(VC-JOSE-COSE, `typ: vc+jwt`). Its `credentialStatus` points at one bit of a W3C Bitstring
Status List; revoking the code sets that bit, so a verifier holding the published list and
keys learns of it without calling the registry.
"""

import base64
import gzip
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.registry.domain.codes import mask_name
from services.registry.domain.verifications import Verification

STATUS_LIST_BITS = 131_072  # the specification's minimum (16 KiB), so no index stands out
STATUS_LIST_ID = "1"
VC_CONTEXT = "https://www.w3.org/ns/credentials/v2"
JOSE_TYPE = "vc+jwt"
SIGNING_ALGORITHM = "Ed25519"  # RFC 9864's fully-specified EdDSA over Ed25519


@dataclass(frozen=True, slots=True)
class Issuer:
    """Where the statements say they come from and where their status lists live."""

    id: str  # e.g. https://registry.example.cn
    name: str = "Beijing qualification verification registry / 北京市职业资格核验登记处"

    def status_list_url(self, list_id: str = STATUS_LIST_ID) -> str:
        return f"{self.id.rstrip('/')}/v1/status-lists/{list_id}"


def verification_claims(
    verification: Verification, status_list_index: int, issuer: Issuer
) -> dict[str, Any]:
    """The credential of one verification: masked name and pseudonymous holder reference only."""
    if not 0 <= status_list_index < STATUS_LIST_BITS:
        raise ValueError(f"status list index {status_list_index} out of range")
    code = str(verification.code)
    return {
        "@context": [VC_CONTEXT],
        "id": f"urn:qualverify:code:{verification.code.compact}",
        "type": ["VerifiableCredential", "QualificationVerificationCredential"],
        "issuer": {"id": issuer.id, "name": issuer.name},
        "validFrom": _iso(verification.verified_at),
        "credentialSubject": {
            "id": f"urn:qualverify:holder:{verification.holder_ref}",
            "verificationCode": code,
            "qualificationId": verification.qualification_id,
            "awardingBodyIds": list(verification.body_ids),
            "holderNameMasked": mask_name(verification.holder_name),
            "region": verification.region.value,
            "verifiedAt": _iso(verification.verified_at),
        },
        "credentialStatus": {
            "id": f"{issuer.status_list_url()}#{status_list_index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": str(status_list_index),
            "statusListCredential": issuer.status_list_url(),
        },
    }


def status_list_claims(
    revoked_indexes: Iterable[int], issuer: Issuer, valid_from: datetime
) -> dict[str, Any]:
    """The BitstringStatusListCredential whose set bits are the revoked statements."""
    url = issuer.status_list_url()
    return {
        "@context": [VC_CONTEXT],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": {"id": issuer.id, "name": issuer.name},
        "validFrom": _iso(valid_from),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": "revocation",
            "encodedList": encode_status_list(revoked_indexes),
        },
    }


def encode_status_list(set_indexes: Iterable[int], bits: int = STATUS_LIST_BITS) -> str:
    """GZIP then multibase base64url (prefix `u`, no padding); index 0 is the first byte's MSB."""
    bitstring = bytearray(bits // 8)
    for index in set_indexes:
        if not 0 <= index < bits:
            raise ValueError(f"status list index {index} out of range")
        bitstring[index // 8] |= 0x80 >> (index % 8)
    # mtime=0 makes the encoding a pure function of the bits.
    compressed = gzip.compress(bytes(bitstring), mtime=0)
    return "u" + base64.urlsafe_b64encode(compressed).decode().rstrip("=")


def status_bit(encoded_list: str, index: int) -> bool:
    """What a verifier does with a fetched list: is the bit at `index` set?"""
    if not encoded_list.startswith("u"):
        raise ValueError("encodedList must be multibase base64url (prefix 'u')")
    payload = encoded_list[1:]
    bitstring = gzip.decompress(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if not 0 <= index < len(bitstring) * 8:
        raise ValueError(f"status list index {index} out of range")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
