"""Translation between protobuf messages and the domain."""

import functools
from datetime import date, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from google.type.date_pb2 import Date

from qualverify.registry.v1 import registry_pb2
from services.reference.catalogue.model import (
    Catalogue,
    ListId,
    Qualification,
    catalogue_today,
)
from services.reference.catalogue.search import SearchQuery
from services.registry.domain.access_trail import AccessEntry, AccessScope
from services.registry.domain.codes import mask_name
from services.registry.domain.errors import InvalidField
from services.registry.domain.verifications import (
    CodeStatus,
    Region,
    Verification,
)
from services.registry.store.outcomes import StoredOutcome
from services.registry.store.subscribers import SubscriberRecord

_STATUS = {
    CodeStatus.VALID: registry_pb2.CODE_STATUS_VALID,
    CodeStatus.REVOKED: registry_pb2.CODE_STATUS_REVOKED,
}
REGION_MESSAGES: dict[Region, registry_pb2.Region.ValueType] = {
    Region.BEIJING: registry_pb2.REGION_BEIJING,
    Region.TIANJIN: registry_pb2.REGION_TIANJIN,
    Region.HEBEI: registry_pb2.REGION_HEBEI,
}
_REGIONS = {message: region for region, message in REGION_MESSAGES.items()}
_LISTS: dict[ListId, registry_pb2.CatalogueList.ValueType] = {
    ListId.INTERNATIONAL: registry_pb2.CATALOGUE_LIST_INTERNATIONAL,
    ListId.URGENT: registry_pb2.CATALOGUE_LIST_URGENT,
    ListId.OUTBOUND: registry_pb2.CATALOGUE_LIST_OUTBOUND,
    ListId.MUTUAL: registry_pb2.CATALOGUE_LIST_MUTUAL,
}
_LIST_IDS = {message: list_id for list_id, message in _LISTS.items()}
_VERDICTS: dict[str, registry_pb2.Verdict.ValueType] = {
    "authentic": registry_pb2.VERDICT_AUTHENTIC,
    "not_authentic": registry_pb2.VERDICT_NOT_AUTHENTIC,
    "unable_to_verify": registry_pb2.VERDICT_UNABLE_TO_VERIFY,
    "needs_review": registry_pb2.VERDICT_NEEDS_REVIEW,
}


def region_of(message: registry_pb2.Region.ValueType) -> Region:
    """The domain region of a request's region enum; unspecified or unknown is refused."""
    try:
        return _REGIONS[message]
    except KeyError:
        allowed = ", ".join(registry_pb2.Region.Name(value) for value in REGION_MESSAGES.values())
        raise InvalidField(
            "region", f"must be one of {allowed}", f"必须是以下之一：{allowed}"
        ) from None


def verification_message(
    verification: Verification, personal: bool = True
) -> registry_pb2.Verification:
    """In full for callers entitled to personal data; else the name masked, no holder ref."""
    message = registry_pb2.Verification(
        request_id=str(verification.request_id),
        code=str(verification.code),
        status=_STATUS[verification.status],
        qualification_id=verification.qualification_id,
        body_ids=verification.body_ids,
        holder_ref=verification.holder_ref,
        holder_name=verification.holder_name,
        region=REGION_MESSAGES[verification.region],
        employer_id=verification.employer_id,
        verified_at=_timestamp(verification.verified_at),
        revoked_at=_timestamp(verification.revoked_at),
        revocation_reason=verification.revocation_reason or "",
        statement=verification.statement or "",
    )
    if not personal:
        message.holder_name = mask_name(verification.holder_name)
        message.holder_ref = ""
    return message


# Answers are built once per verification (a revoked code is another Verification); gRPC only
# serialises them, nothing changes them after.
@functools.lru_cache(maxsize=20_000)
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


def outcome_message(outcome: StoredOutcome, personal: bool) -> registry_pb2.Outcome:
    return registry_pb2.Outcome(
        cursor=outcome.cursor,
        request_id=str(outcome.request_id),
        region=REGION_MESSAGES[Region(outcome.region)],
        qualification_id=outcome.qualification_id,
        holder_ref=outcome.holder_ref if personal else "",
        verdict=_VERDICTS.get(outcome.verdict, registry_pb2.VERDICT_UNSPECIFIED),
        verification_code=outcome.verification_code or "",
        decided_at=_timestamp(outcome.decided_at),
    )


_SCOPES: dict[AccessScope, registry_pb2.AccessScope.ValueType] = {
    AccessScope.CODE: registry_pb2.ACCESS_SCOPE_CODE,
    AccessScope.HOLDER: registry_pb2.ACCESS_SCOPE_HOLDER,
}


def access_message(entry: AccessEntry) -> registry_pb2.CodeAccess:
    return registry_pb2.CodeAccess(
        identity=entry.actor,
        peer=entry.peer,
        method=entry.action,
        outcome=entry.outcome,
        at=_timestamp(entry.at),
        scope=_SCOPES[entry.scope],
    )


def subscriber_message(record: SubscriberRecord) -> registry_pb2.OutcomeSubscriber:
    return registry_pb2.OutcomeSubscriber(
        id=record.id,
        region=REGION_MESSAGES[record.region],
        identity=record.identity,
        peer=record.peer,
        after_cursor=record.after_cursor,
        last_cursor=record.last_cursor,
        delivered=record.delivered,
        connected_at=_timestamp(record.connected_at),
        last_seen_at=_timestamp(record.last_seen_at),
        disconnected_at=_timestamp(record.disconnected_at),
        connected=record.connected,
        backlog=record.backlog,
    )


def search_query(request: registry_pb2.SearchCatalogueRequest, today: date) -> SearchQuery:
    list_id: ListId | None = None
    if request.list != registry_pb2.CATALOGUE_LIST_UNSPECIFIED:
        try:
            list_id = _LIST_IDS[request.list]
        except KeyError:
            allowed = ", ".join(registry_pb2.CatalogueList.Name(value) for value in _LISTS.values())
            raise InvalidField(
                "list", f"must be one of {allowed}", f"必须是以下之一：{allowed}"
            ) from None
    return SearchQuery(
        text=request.text or None,
        body=request.body or None,
        field=request.field or None,
        list_id=list_id,
        active_on=today if request.active_only else None,
    )


def qualification_message(
    catalogue: Catalogue, qualification: Qualification
) -> registry_pb2.Qualification:
    withdrawal = qualification.withdrawal
    return registry_pb2.Qualification(
        id=qualification.id,
        name=qualification.name,
        bodies=[
            registry_pb2.AwardingBody(
                id=body.id, name=body.name, aliases=body.aliases, country=body.country
            )
            for body in catalogue.bodies_of(qualification.id)
        ],
        country=qualification.country,
        fields=qualification.fields,
        lists=[_LISTS[list_id] for list_id in qualification.list_ids()],
        notes=qualification.notes,
        edition_id=catalogue.edition.id,
        withdrawn=catalogue.is_withdrawn(qualification.id, catalogue_today()),
        withdrawn_on=_date_message(withdrawal.date) if withdrawal else None,
        withdrawal_reason=withdrawal.reason if withdrawal else "",
    )


def _date_message(day: date) -> Date:
    return Date(year=day.year, month=day.month, day=day.day)


def date_of(field: str, message: Date, default: date) -> date:
    """A full calendar date from a `google.type.Date`; `default` when it is unset."""
    if message.year == message.month == message.day == 0:
        return default
    try:
        return date(message.year, message.month, message.day)
    except ValueError:
        raise InvalidField(
            field,
            "must be a full date with year, month and day, e.g. 2025-10-01",
            "必须是包含年、月、日的完整日期（例如 2025-10-01）",
        ) from None
