"""Who may call what: the one table from caller identity to allowed RPCs (pure).

Identities are the common names of the client certificates issued by the platform's CA
(see deploy/pki/make-dev-pki.py). Without TLS (local development) every caller is `LOCAL`,
trusted with everything.
"""

from dataclasses import dataclass
from enum import StrEnum

from services.registry.domain.verifications import Region


class Rpc(StrEnum):
    ISSUE_CODE = "IssueCode"
    LOOKUP_CODE = "LookupCode"
    GET_VERIFICATION = "GetVerification"
    LIST_HOLDER_VERIFICATIONS = "ListHolderVerifications"
    REVOKE_CODE = "RevokeCode"
    STREAM_OUTCOMES = "StreamOutcomes"
    SEARCH_CATALOGUE = "SearchCatalogue"
    GET_QUALIFICATION = "GetQualification"
    WITHDRAW_QUALIFICATION = "WithdrawQualification"
    ROTATE_SIGNING_KEY = "RotateSigningKey"


_READ_CATALOGUE = frozenset({Rpc.SEARCH_CATALOGUE, Rpc.GET_QUALIFICATION})
_REGION_RPCS = _READ_CATALOGUE | {
    Rpc.LOOKUP_CODE,
    Rpc.GET_VERIFICATION,
    Rpc.LIST_HOLDER_VERIFICATIONS,
    Rpc.STREAM_OUTCOMES,
}

ALLOWED_RPCS: dict[str, frozenset[Rpc]] = {
    **{region.value: _REGION_RPCS for region in Region},
    "operator": _READ_CATALOGUE
    | {Rpc.LOOKUP_CODE, Rpc.REVOKE_CODE, Rpc.WITHDRAW_QUALIFICATION, Rpc.ROTATE_SIGNING_KEY},
    "verifier": frozenset({Rpc.ISSUE_CODE, Rpc.LOOKUP_CODE}),
}

LOCAL = "local"  # the caller of a plaintext (development) server


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str  # certificate common name, or LOCAL
    peer: str  # network address, for the audit log

    @property
    def region(self) -> Region | None:
        try:
            return Region(self.identity)
        except ValueError:
            return None

    @property
    def personal(self) -> bool:
        """Full names and holder references go to the regions only (and to local development)."""
        return self.identity == LOCAL or self.region is not None

    def may_stream(self, region: Region) -> bool:
        return self.identity in (LOCAL, "operator") or self.region == region


def may_call(identity: str, rpc: str) -> bool:
    """True when `identity` may call `rpc` (a method name such as "RevokeCode")."""
    if identity == LOCAL:
        return True
    return rpc in ALLOWED_RPCS.get(identity, frozenset())
