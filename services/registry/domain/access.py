"""Who may call what: the one table from caller identity to allowed RPCs (pure).

Identities are the common names of the client certificates issued by the platform's CA
(see deploy/pki/make_dev_pki.py). A caller on the opt-in plaintext port is `ANONYMOUS` and
gets the public level only: what anyone holding a code may see, and the catalogue.
"""

from dataclasses import dataclass
from enum import StrEnum

from services.registry.domain.verifications import Region


class Rpc(StrEnum):
    LOOKUP_CODE = "LookupCode"
    GET_VERIFICATION = "GetVerification"
    LIST_HOLDER_VERIFICATIONS = "ListHolderVerifications"
    REVOKE_CODE = "RevokeCode"
    STREAM_OUTCOMES = "StreamOutcomes"
    SEARCH_CATALOGUE = "SearchCatalogue"
    GET_QUALIFICATION = "GetQualification"
    WITHDRAW_QUALIFICATION = "WithdrawQualification"
    ROTATE_SIGNING_KEY = "RotateSigningKey"
    LIST_CODE_ACCESS = "ListCodeAccess"
    LIST_OUTCOME_SUBSCRIBERS = "ListOutcomeSubscribers"


_READ_CATALOGUE = frozenset({Rpc.SEARCH_CATALOGUE, Rpc.GET_QUALIFICATION})
_REGION_RPCS = _READ_CATALOGUE | {
    Rpc.LOOKUP_CODE,
    Rpc.GET_VERIFICATION,
    Rpc.LIST_HOLDER_VERIFICATIONS,
    Rpc.STREAM_OUTCOMES,
}

ANONYMOUS = "anonymous"  # a caller without a certificate (plaintext port)

ALLOWED_RPCS: dict[str, frozenset[Rpc]] = {
    ANONYMOUS: _READ_CATALOGUE | {Rpc.LOOKUP_CODE},
    **{region.value: _REGION_RPCS for region in Region},
    # The operator reads a code's verification masked (no holder reference, the name masked),
    # and watches who accessed it and who streams outcomes.
    "operator": _READ_CATALOGUE
    | {
        Rpc.LOOKUP_CODE,
        Rpc.GET_VERIFICATION,
        Rpc.REVOKE_CODE,
        Rpc.WITHDRAW_QUALIFICATION,
        Rpc.ROTATE_SIGNING_KEY,
        Rpc.LIST_CODE_ACCESS,
        Rpc.LIST_OUTCOME_SUBSCRIBERS,
    },
}


@dataclass(frozen=True, slots=True)
class Caller:
    identity: str  # certificate common name, or ANONYMOUS
    peer: str  # network address, for the audit log

    @property
    def region(self) -> Region | None:
        try:
            return Region(self.identity)
        except ValueError:
            return None

    @property
    def personal(self) -> bool:
        """Full names and holder references go to the regions only."""
        return self.region is not None

    def may_stream(self, region: Region) -> bool:
        return self.identity == "operator" or self.region == region


def may_call(identity: str, rpc: str) -> bool:
    """True when `identity` may call `rpc` (a method name such as "RevokeCode")."""
    return rpc in ALLOWED_RPCS.get(identity, frozenset())
