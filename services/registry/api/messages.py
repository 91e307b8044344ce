"""Translation between protobuf messages and the domain."""

from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from qualverify.registry.v1 import registry_pb2
from services.registry.domain.codes import mask_name
from services.registry.domain.verifications import (
    CodeStatus,
    IssueRequest,
    Verification,
    new_issue_request,
)

_STATUS = {
    CodeStatus.VALID: registry_pb2.CODE_STATUS_VALID,
    CodeStatus.REVOKED: registry_pb2.CODE_STATUS_REVOKED,
}


def issue_request(message: registry_pb2.IssueCodeRequest) -> IssueRequest:
    return new_issue_request(
        request_id=message.request_id,
        qualification_id=message.qualification_id,
        body_ids=list(message.body_ids),
        holder_ref=message.holder_ref,
        holder_name=message.holder_name,
        region=message.region,
        employer_id=message.employer_id,
        verified_at=(
            message.verified_at.ToDatetime(tzinfo=UTC) if message.HasField("verified_at") else None
        ),
    )


def verification_message(verification: Verification) -> registry_pb2.Verification:
    return registry_pb2.Verification(
        request_id=str(verification.request_id),
        code=str(verification.code),
        status=_STATUS[verification.status],
        qualification_id=verification.qualification_id,
        body_ids=verification.body_ids,
        holder_ref=verification.holder_ref,
        holder_name=verification.holder_name,
        region=verification.region.value,
        employer_id=verification.employer_id,
        verified_at=_timestamp(verification.verified_at),
        revoked_at=_timestamp(verification.revoked_at),
        revocation_reason=verification.revocation_reason or "",
    )


def lookup_message(verification: Verification) -> registry_pb2.LookupCodeResponse:
    """What anyone holding the code may see: no holder reference, employer or full name."""
    return registry_pb2.LookupCodeResponse(
        code=str(verification.code),
        status=_STATUS[verification.status],
        qualification_id=verification.qualification_id,
        body_ids=verification.body_ids,
        verified_at=_timestamp(verification.verified_at),
        holder_name_masked=mask_name(verification.holder_name),
        revocation_reason=verification.revocation_reason or "",
    )


def _timestamp(moment: datetime | None) -> Timestamp | None:
    if moment is None:
        return None
    timestamp = Timestamp()
    timestamp.FromDatetime(moment)
    return timestamp
