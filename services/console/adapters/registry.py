"""The registry as the console reaches it: gRPC over mutual TLS as the `operator` identity.

Looks up, reads and revokes codes, reads their access trail and the outcome subscribers, lists
and withdraws qualifications. Each gRPC status becomes one of a few domain errors with a message
in both languages (see `domain.registry`); nothing personal is logged.
"""

import logging
from collections.abc import Awaitable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TypeVar

import grpc
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.type.date_pb2 import Date

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.console.domain.holder_name import mask_name
from services.console.domain.registry import (
    AccessScope,
    AccessTrail,
    CatalogueQualification,
    CodeAccess,
    CodeRecord,
    CodeStatus,
    OutcomeSubscriber,
    RegistryForbidden,
    RegistryInvalid,
    RegistryNotFound,
    RegistryProblem,
    RegistryUnavailable,
    revocation_reason,
)
from services.runtime.mtls import client_credentials

log = logging.getLogger(__name__)

IDENTITY = "operator"
CATALOGUE_PAGE = 100  # the registry's largest page

_T = TypeVar("_T")

_STATUS = {
    registry_pb2.CODE_STATUS_VALID: CodeStatus.VALID,
    registry_pb2.CODE_STATUS_REVOKED: CodeStatus.REVOKED,
}
_REGIONS: dict[registry_pb2.Region.ValueType, str] = {
    registry_pb2.REGION_BEIJING: "beijing",
    registry_pb2.REGION_TIANJIN: "tianjin",
    registry_pb2.REGION_HEBEI: "hebei",
}
_REGION_VALUES = {name: value for value, name in _REGIONS.items()}
_SCOPES = {
    registry_pb2.ACCESS_SCOPE_CODE: AccessScope.CODE,
    registry_pb2.ACCESS_SCOPE_HOLDER: AccessScope.HOLDER,
}
# The registry's own words are kept for these: they name the field and what is wrong with it.
_INVALID = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.OUT_OF_RANGE,
}


class RegistryOperator:
    """One mutual-TLS channel to the registry; every call bounded by `timeout_seconds`."""

    def __init__(self, channel: grpc.aio.Channel, timeout_seconds: float = 5.0) -> None:
        self._channel = channel
        self._stub = registry_pb2_grpc.RegistryServiceStub(channel)
        self._timeout = timeout_seconds

    @classmethod
    def connect(
        cls, target: str, tls_dir: Path, timeout_seconds: float = 5.0
    ) -> "RegistryOperator":
        """A client presenting `operator.pem` from `tls_dir` (with `ca.pem`, `operator-key.pem`).
        The channel connects lazily: a registry that is down fails calls, not start-up."""
        channel = grpc.aio.secure_channel(target, client_credentials(tls_dir, IDENTITY))
        return cls(channel, timeout_seconds)

    async def close(self) -> None:
        await self._channel.close()

    async def lookup(self, code: str) -> CodeRecord:
        """What anyone holding the code may see (no region); audited by the registry."""
        found = await self._call(
            self._stub.LookupCode(registry_pb2.LookupCodeRequest(code=code), timeout=self._timeout)
        )
        return CodeRecord(
            code=found.code,
            status=_STATUS[found.status],
            qualification_id=found.qualification_id,
            body_ids=tuple(found.body_ids),
            region=None,
            verified_at=_moment(found, "verified_at"),
            holder_name_masked=mask_name(found.holder_name_masked),
            revocation_reason=found.revocation_reason or None,
        )

    async def verification(self, code: str) -> CodeRecord:
        """The code's verification, masked for the operator; audited by the registry."""
        request = registry_pb2.GetVerificationRequest(code=code)
        found = await self._call(self._stub.GetVerification(request, timeout=self._timeout))
        return _code_record(found.verification)

    async def revoke(self, code: str, reason: str) -> CodeRecord:
        """Revokes the code (idempotent: a revoked code stays as it was revoked)."""
        request = registry_pb2.RevokeCodeRequest(code=code, reason=revocation_reason(reason))
        revoked = await self._call(self._stub.RevokeCode(request, timeout=self._timeout))
        return _code_record(revoked.verification)

    async def access_trail(
        self, code: str, limit: int = 50, cursor: str | None = None
    ) -> AccessTrail:
        """Who accessed the code's record, newest first; pass `next_cursor` for older ones."""
        request = registry_pb2.ListCodeAccessRequest(code=code, limit=limit, cursor=cursor or "")
        page = await self._call(self._stub.ListCodeAccess(request, timeout=self._timeout))
        return AccessTrail(
            accesses=tuple(
                CodeAccess(
                    at=_moment(access, "at"),
                    identity=access.identity,
                    peer=access.peer,
                    method=access.method,
                    outcome=access.outcome,
                    scope=_SCOPES.get(access.scope, AccessScope.CODE),
                )
                for access in page.accesses
            ),
            next_cursor=page.next_cursor or None,
        )

    async def subscribers(
        self, region: str | None = None, limit: int = 100
    ) -> list[OutcomeSubscriber]:
        """StreamOutcomes subscriptions, open ones first, then the most recently seen."""
        request = registry_pb2.ListOutcomeSubscribersRequest(
            region=_region_value(region) if region else registry_pb2.REGION_UNSPECIFIED,
            limit=limit,
        )
        found = await self._call(self._stub.ListOutcomeSubscribers(request, timeout=self._timeout))
        return [_subscriber(s) for s in found.subscribers]

    async def qualifications(self) -> list[CatalogueQualification]:
        """The whole catalogue, withdrawn qualifications included, in the registry's order."""
        found: list[CatalogueQualification] = []
        cursor = ""
        while True:
            request = registry_pb2.SearchCatalogueRequest(limit=CATALOGUE_PAGE, cursor=cursor)
            page = await self._call(self._stub.SearchCatalogue(request, timeout=self._timeout))
            found.extend(_qualification(q) for q in page.qualifications)
            cursor = page.next_cursor
            if not cursor:
                return found

    async def qualification(self, qualification_id: str) -> CatalogueQualification:
        """One qualification of the catalogue, with its bodies and any withdrawal."""
        request = registry_pb2.GetQualificationRequest(qualification_id=qualification_id)
        found = await self._call(self._stub.GetQualification(request, timeout=self._timeout))
        return _qualification(found.qualification)

    async def withdraw(
        self, qualification_id: str, on: date | None, reason: str
    ) -> CatalogueQualification:
        """Withdraws a qualification from `on` (today when None; a later day only schedules it)."""
        request = registry_pb2.WithdrawQualificationRequest(
            qualification_id=qualification_id, reason=revocation_reason(reason)
        )
        if on is not None:
            request.withdrawn_on.CopyFrom(Date(year=on.year, month=on.month, day=on.day))
        withdrawn = await self._call(
            self._stub.WithdrawQualification(request, timeout=self._timeout)
        )
        return _qualification(withdrawn.qualification)

    async def _call(self, call: Awaitable[_T]) -> _T:
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            raise problem_of(error.code(), error.details() or "") from None


def problem_of(status: grpc.StatusCode, details: str) -> RegistryProblem:
    """The domain error of a gRPC status (the one table of this adapter)."""
    if status == grpc.StatusCode.NOT_FOUND:
        en, zh = _split(details, "Not found in the registry", "注册中心中不存在")
        return RegistryNotFound(en, zh)
    if status in _INVALID:
        en, zh = _split(details, "The registry refused the input", "注册中心拒绝了该输入")
        return RegistryInvalid(en, zh)
    if status in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        log.error("registry refused the console's identity", extra={"status": status.name})
        return RegistryForbidden(
            "The registry refused the console's operator identity; check "
            "CONSOLE_REGISTRY_TLS_DIR (ca.pem, operator.pem, operator-key.pem)",
            "注册中心拒绝了控制台的操作员身份，请检查 CONSOLE_REGISTRY_TLS_DIR"
            "（ca.pem、operator.pem、operator-key.pem）",
        )
    log.warning("registry unavailable", extra={"status": status.name})
    return RegistryUnavailable(
        "The registry is not answering; try again shortly", "注册中心暂无响应，请稍后再试"
    )


def _split(details: str, default_en: str, default_zh: str) -> tuple[str, str]:
    """The registry writes each refusal as "English / 中文"."""
    en, separator, zh = details.rpartition(" / ")
    if not separator or not en.strip() or not zh.strip():
        return default_en, default_zh
    return en.strip(), zh.strip()


def _region_value(region: str) -> registry_pb2.Region.ValueType:
    try:
        return _REGION_VALUES[region]
    except KeyError:
        raise RegistryInvalid(
            f"Unknown region '{region}'; one of {', '.join(_REGION_VALUES)}",
            f"未知地区“{region}”，应为 {'、'.join(_REGION_VALUES)} 之一",
        ) from None


def _moment(message: Message, field: str) -> datetime | None:
    """A timestamp field as an aware datetime; None when unset."""
    if not message.HasField(field):
        return None
    stamp: Timestamp = getattr(message, field)
    return stamp.ToDatetime(tzinfo=UTC)


def _code_record(verification: registry_pb2.Verification) -> CodeRecord:
    return CodeRecord(
        code=verification.code,
        status=_STATUS[verification.status],
        qualification_id=verification.qualification_id,
        body_ids=tuple(verification.body_ids),
        region=_REGIONS.get(verification.region),
        verified_at=_moment(verification, "verified_at"),
        # The registry masks names for the operator; masked again here, so a console given
        # another identity's certificate by mistake still shows no name in full.
        holder_name_masked=mask_name(verification.holder_name),
        revoked_at=_moment(verification, "revoked_at"),
        revocation_reason=verification.revocation_reason or None,
        request_id=verification.request_id or None,
    )


def _subscriber(subscriber: registry_pb2.OutcomeSubscriber) -> OutcomeSubscriber:
    return OutcomeSubscriber(
        id=subscriber.id,
        region=_REGIONS.get(subscriber.region, "unknown"),
        identity=subscriber.identity,
        peer=subscriber.peer,
        after_cursor=subscriber.after_cursor,
        last_cursor=subscriber.last_cursor,
        delivered=subscriber.delivered,
        connected_at=_moment(subscriber, "connected_at"),
        last_seen_at=_moment(subscriber, "last_seen_at"),
        disconnected_at=_moment(subscriber, "disconnected_at"),
        connected=subscriber.connected,
        backlog=subscriber.backlog,
    )


def _qualification(qualification: registry_pb2.Qualification) -> CatalogueQualification:
    on = qualification.withdrawn_on if qualification.HasField("withdrawn_on") else None
    return CatalogueQualification(
        id=qualification.id,
        name=qualification.name,
        body_ids=tuple(body.id for body in qualification.bodies),
        body_names=tuple(body.name for body in qualification.bodies),
        fields=tuple(qualification.fields),
        withdrawn=qualification.withdrawn,
        withdrawn_on=date(on.year, on.month, on.day) if on is not None else None,
        withdrawal_reason=qualification.withdrawal_reason or None,
    )
