"""The Registry gRPC service: validates, calls the repository, maps refusals to statuses."""

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import asyncpg
import grpc
from prometheus_client import Counter, Histogram

from qualverify.registry.v1 import registry_pb2
from services.reference.catalogue.model import UnknownQualificationError
from services.reference.catalogue.search import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    InvalidCursorError,
    search,
)
from services.registry.api import messages
from services.registry.api.auth import caller_of
from services.registry.api.status import abort_internal, abort_with
from services.registry.domain.access import Caller
from services.registry.domain.access_trail import (
    TRAIL_PAGE_DEFAULT,
    TRAIL_PAGE_MAX,
    TrailCursor,
)
from services.registry.domain.codes import VerificationCode, parse_code
from services.registry.domain.errors import (
    InvalidField,
    NotFound,
    PermissionDenied,
    RegistryError,
)
from services.registry.domain.verifications import (
    HOLDER_PAGE_DEFAULT,
    HOLDER_PAGE_MAX,
    MAX_TEXT,
    HolderCursor,
    Verification,
    page_limit,
    parse_request_id,
    revocation_reason,
)
from services.registry.store.audit import AuditLog
from services.registry.store.catalogue import CatalogueStore
from services.registry.store.codes import CodeRepository
from services.registry.store.keys import SigningKeys
from services.registry.store.outcomes import OutcomeStore, StoredOutcome
from services.registry.store.subscribers import SubscriberLog
from services.runtime.notifications import Signal
from services.runtime.observability import ERRORS, error_site, request_id_var
from services.runtime.resilience import DATABASE_UNREACHABLE, describe

log = logging.getLogger(__name__)

RPCS = Counter("registry_rpcs_total", "Registry RPCs by method and outcome", ["method", "outcome"])
RPC_SECONDS = Histogram("registry_rpc_seconds", "Registry RPC latency", ["method"])

REQUEST_ID_METADATA = "x-request-id"
SUBSCRIBERS_DEFAULT = 50
SUBSCRIBERS_MAX = 100

T = TypeVar("T")


@dataclass(frozen=True)
class ServiceParts:
    """What the RPCs beyond issuing and looking up codes need."""

    catalogue: CatalogueStore
    outcomes: OutcomeStore
    signal: Signal
    audit: AuditLog
    keys: SigningKeys
    subscribers: SubscriberLog
    poll_seconds: float = 1.0


class RegistryService:
    """The RegistryService's behaviour, one method per served RPC (`auth.guarded_handlers`
    builds the handlers from the service descriptor)."""

    def __init__(
        self,
        codes: CodeRepository,
        parts: ServiceParts | None = None,
    ) -> None:
        self._codes = codes
        self._parts = parts

    @property
    def _p(self) -> ServiceParts:
        if self._parts is None:
            raise RuntimeError("this registry was built without catalogue, outcomes and audit")
        return self._parts

    async def LookupCode(
        self, request: registry_pb2.LookupCodeRequest, context: Any
    ) -> registry_pb2.LookupCodeResponse:
        request_id_var.set(_request_id(context))

        async def lookup() -> registry_pb2.LookupCodeResponse:
            if not request.code.strip():
                raise InvalidField("code", "is required", "不能为空")
            verification = await self._audited_by_code(context, "LookupCode", request.code)
            return messages.lookup_message(verification)

        return await _handled("LookupCode", context, lookup)

    async def GetVerification(
        self, request: registry_pb2.GetVerificationRequest, context: Any
    ) -> registry_pb2.GetVerificationResponse:
        request_id_var.set(_request_id(context, request.request_id))

        async def get() -> registry_pb2.GetVerificationResponse:
            key = request.WhichOneof("key")
            if key == "request_id":
                verification = await self._by_request_id(request.request_id)
                await self._audit(context, "GetVerification", "found", verification.code)
            elif key == "code":
                verification = await self._audited_by_code(context, "GetVerification", request.code)
            else:
                raise InvalidField(
                    "key", "give a request_id or a code", "请提供 request_id 或 code"
                )
            return registry_pb2.GetVerificationResponse(
                verification=messages.verification_message(
                    verification, self._caller(context).personal
                )
            )

        return await _handled("GetVerification", context, get)

    async def ListHolderVerifications(
        self, request: registry_pb2.ListHolderVerificationsRequest, context: Any
    ) -> registry_pb2.ListHolderVerificationsResponse:
        request_id_var.set(_request_id(context))

        async def list_all() -> registry_pb2.ListHolderVerificationsResponse:
            holder_ref = request.holder_ref.strip()
            if not holder_ref or len(holder_ref) > MAX_TEXT:
                raise InvalidField("holder_ref", "is required", "不能为空")
            limit = page_limit(request.limit, HOLDER_PAGE_DEFAULT, HOLDER_PAGE_MAX)
            after = HolderCursor.decode(request.cursor) if request.cursor else None
            found = await self._codes.by_holder(holder_ref, limit + 1, after)
            page, more = found[:limit], len(found) > limit
            caller = self._caller(context)
            await self._p.audit.record(
                actor=caller.identity,
                peer=caller.peer,
                action="ListHolderVerifications",
                outcome=f"{len(page)} found",
                holder_ref=holder_ref,
            )
            last = page[-1] if more else None
            return registry_pb2.ListHolderVerificationsResponse(
                verifications=[messages.verification_message(v, caller.personal) for v in page],
                next_cursor=HolderCursor(last.verified_at, last.request_id).encode()
                if last
                else "",
            )

        return await _handled("ListHolderVerifications", context, list_all)

    async def RevokeCode(
        self, request: registry_pb2.RevokeCodeRequest, context: Any
    ) -> registry_pb2.RevokeCodeResponse:
        request_id_var.set(_request_id(context))

        async def revoke() -> registry_pb2.RevokeCodeResponse:
            code = parse_code(request.code)
            reason = revocation_reason(request.reason)
            caller = self._caller(context)
            revoked = await self._codes.revoke(code, reason, datetime.now(UTC), caller.identity)
            if revoked is None:  # unknown, or revoked before: revoking is idempotent
                revoked = await self._audited_by_code(
                    context, "RevokeCode", request.code, found="already revoked"
                )
            else:
                await self._audit(context, "RevokeCode", "revoked", code)
                log.info("code revoked", extra={"revoked_by": caller.identity})
            return registry_pb2.RevokeCodeResponse(
                verification=messages.verification_message(revoked, caller.personal)
            )

        return await _handled("RevokeCode", context, revoke)

    async def StreamOutcomes(
        self, request: registry_pb2.StreamOutcomesRequest, context: Any
    ) -> AsyncIterator[registry_pb2.StreamOutcomesResponse]:
        request_id_var.set(_request_id(context))
        caller = self._caller(context)
        try:
            region = messages.region_of(request.region)
            if request.after_cursor < 0:
                raise InvalidField("after_cursor", "must not be negative", "不能为负数")
            if not caller.may_stream(region):
                raise PermissionDenied(
                    f"'{caller.identity}' may stream only its own region's outcomes",
                    f"“{caller.identity}”只能订阅本地区的核验结果",
                )
        except RegistryError as error:
            RPCS.labels("StreamOutcomes", error.code.value).inc()
            await abort_with(context, error)
        RPCS.labels("StreamOutcomes", "opened").inc()
        try:
            subscription = await self._p.subscribers.open(
                region, caller.identity, caller.peer, request.after_cursor
            )
        except DATABASE_UNREACHABLE as error:
            RPCS.labels("StreamOutcomes", "unavailable").inc()
            log.warning("stream not opened: database away", extra={"error": describe(error)})
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "database unavailable, retry / 数据库暂不可用，请重试"
            )
            raise AssertionError("grpc.aio context.abort returned") from None
        try:
            async for outcome in self._outcomes_after(region.value, request.after_cursor):
                yield registry_pb2.StreamOutcomesResponse(
                    outcome=messages.outcome_message(outcome, caller.personal)
                )
                subscription.deliver(outcome.cursor)  # memory only; written about once a second
        finally:
            SubscriberLog.close(subscription)

    async def _outcomes_after(self, region: str, cursor: int) -> AsyncIterator[StoredOutcome]:
        """The backlog after `cursor`, then each new outcome as it is committed; never ends."""
        batch = 500
        while True:
            change = self._p.signal.next_change()
            rows = await self._p.outcomes.after(region, cursor, batch)
            for row in rows:
                yield row
                cursor = row.cursor
            if len(rows) < batch:
                await self._p.signal.wait(change, self._p.poll_seconds)

    async def SearchCatalogue(
        self, request: registry_pb2.SearchCatalogueRequest, context: Any
    ) -> registry_pb2.SearchCatalogueResponse:
        request_id_var.set(_request_id(context))

        async def find() -> registry_pb2.SearchCatalogueResponse:
            catalogue = await self._p.catalogue.current()
            query = messages.search_query(request, datetime.now(UTC).date())
            limit = request.limit or DEFAULT_LIMIT
            if not 1 <= limit <= MAX_LIMIT:
                raise InvalidField(
                    "limit", f"must be between 1 and {MAX_LIMIT}", f"必须在 1 到 {MAX_LIMIT} 之间"
                )
            try:
                # Pure Python over the whole catalogue: off the event loop, so other calls go on.
                page = await asyncio.to_thread(
                    search, catalogue, query, limit=limit, cursor=request.cursor or None
                )
            except InvalidCursorError:
                raise InvalidField(
                    "cursor", "was not issued for this search", "不是本次查询签发的游标"
                ) from None
            return registry_pb2.SearchCatalogueResponse(
                qualifications=[messages.qualification_message(catalogue, q) for q in page.items],
                total=page.total,
                next_cursor=page.next_cursor or "",
                edition_id=catalogue.edition.id,
            )

        return await _handled("SearchCatalogue", context, find)

    async def GetQualification(
        self, request: registry_pb2.GetQualificationRequest, context: Any
    ) -> registry_pb2.GetQualificationResponse:
        request_id_var.set(_request_id(context))

        async def get() -> registry_pb2.GetQualificationResponse:
            catalogue = await self._p.catalogue.current()
            try:
                qualification = catalogue.qualification(request.qualification_id.strip())
            except UnknownQualificationError:
                raise NotFound(
                    "no such qualification in the catalogue", "目录中没有该职业资格"
                ) from None
            return registry_pb2.GetQualificationResponse(
                qualification=messages.qualification_message(catalogue, qualification)
            )

        return await _handled("GetQualification", context, get)

    async def WithdrawQualification(
        self, request: registry_pb2.WithdrawQualificationRequest, context: Any
    ) -> registry_pb2.WithdrawQualificationResponse:
        request_id_var.set(_request_id(context))

        async def withdraw() -> registry_pb2.WithdrawQualificationResponse:
            on = messages.date_of("withdrawn_on", request.withdrawn_on, datetime.now(UTC).date())
            reason = revocation_reason(request.reason)
            qualification = await self._p.catalogue.withdraw(
                request.qualification_id.strip(), on, reason, self._caller(context).identity
            )
            catalogue = await self._p.catalogue.current()
            return registry_pb2.WithdrawQualificationResponse(
                qualification=messages.qualification_message(catalogue, qualification)
            )

        return await _handled("WithdrawQualification", context, withdraw)

    async def RotateSigningKey(
        self, request: registry_pb2.RotateSigningKeyRequest, context: Any
    ) -> registry_pb2.RotateSigningKeyResponse:
        request_id_var.set(_request_id(context))

        async def rotate() -> registry_pb2.RotateSigningKeyResponse:
            return registry_pb2.RotateSigningKeyResponse(kid=await self._p.keys.rotate())

        return await _handled("RotateSigningKey", context, rotate)

    async def ListCodeAccess(
        self, request: registry_pb2.ListCodeAccessRequest, context: Any
    ) -> registry_pb2.ListCodeAccessResponse:
        request_id_var.set(_request_id(context))

        async def list_access() -> registry_pb2.ListCodeAccessResponse:
            if not request.code.strip():
                raise InvalidField("code", "is required", "不能为空")
            limit = page_limit(request.limit, TRAIL_PAGE_DEFAULT, TRAIL_PAGE_MAX)
            before = TrailCursor.decode(request.cursor).before_id if request.cursor else None
            verification = await self._by_code(request.code)
            found = await self._p.audit.trail(
                code=str(verification.code),
                holder_ref=verification.holder_ref,
                issued_at=verification.created_at,
                limit=limit + 1,
                before_id=before,
            )
            page, more = found[:limit], len(found) > limit
            return registry_pb2.ListCodeAccessResponse(
                accesses=[messages.access_message(entry) for entry in page],
                next_cursor=TrailCursor(page[-1].id).encode() if more else "",
            )

        return await _handled("ListCodeAccess", context, list_access)

    async def ListOutcomeSubscribers(
        self, request: registry_pb2.ListOutcomeSubscribersRequest, context: Any
    ) -> registry_pb2.ListOutcomeSubscribersResponse:
        request_id_var.set(_request_id(context))

        async def list_subscribers() -> registry_pb2.ListOutcomeSubscribersResponse:
            region = (
                messages.region_of(request.region)
                if request.region != registry_pb2.REGION_UNSPECIFIED
                else None
            )
            limit = page_limit(request.limit, SUBSCRIBERS_DEFAULT, SUBSCRIBERS_MAX)
            found = await self._p.subscribers.list(region, limit)
            return registry_pb2.ListOutcomeSubscribersResponse(
                subscribers=[messages.subscriber_message(record) for record in found]
            )

        return await _handled("ListOutcomeSubscribers", context, list_subscribers)

    def _caller(self, context: Any) -> Caller:
        return caller_of(context)

    async def _audited_by_code(
        self, context: Any, action: str, text: str, *, found: str = "found"
    ) -> Verification:
        code = parse_code(text)
        verification = await self._codes.by_code(code)
        await self._audit(context, action, found if verification else "unknown", code)
        if verification is None:
            raise NotFound("no verification code like this was issued", "未签发过该核验码")
        return verification

    async def _audit(self, context: Any, action: str, outcome: str, code: VerificationCode) -> None:
        if self._parts is None:
            return
        caller = self._caller(context)
        await self._parts.audit.record(
            actor=caller.identity, peer=caller.peer, action=action, outcome=outcome, code=str(code)
        )

    async def _by_code(self, text: str) -> Verification:
        verification = await self._codes.by_code(parse_code(text))
        if verification is None:
            raise NotFound("no verification code like this was issued", "未签发过该核验码")
        return verification

    async def _by_request_id(self, text: str) -> Verification:
        verification = await self._codes.by_request_id(parse_request_id(text))
        if verification is None:
            raise NotFound("no verification for this request id", "该核验申请没有核验记录")
        return verification


async def _handled(method: str, context: Any, call: Callable[[], Awaitable[T]]) -> T:
    """Runs one RPC: refusals become their status, anything else INTERNAL without details.

    The caller's deadline bounds the work too, so nothing runs on for an answer nobody awaits.
    """
    with _seconds_of(method).time():
        try:
            remaining = context.time_remaining()
            if remaining is None:  # no deadline: nothing to bound (and no timer to arm)
                result = await call()
            else:
                async with asyncio.timeout(remaining):
                    result = await call()
        except TimeoutError:
            RPCS.labels(method, "deadline").inc()
            await context.abort(
                grpc.StatusCode.DEADLINE_EXCEEDED, "deadline exceeded / 已超过截止时间"
            )
            raise AssertionError("grpc.aio context.abort returned") from None
        except RegistryError as error:
            RPCS.labels(method, error.code.value).inc()
            log.info("rpc refused", extra={"method": method, "error_code": error.code.value})
            await abort_with(context, error)
        except DATABASE_UNREACHABLE as error:
            RPCS.labels(method, "unavailable").inc()
            extra = {"method": method, "error": describe(error)}
            log.warning("rpc failed: database away", extra=extra)
            await context.abort(
                grpc.StatusCode.UNAVAILABLE, "database unavailable, retry / 数据库暂不可用，请重试"
            )
            raise AssertionError("grpc.aio context.abort returned") from None
        except asyncpg.PostgresError as error:
            # PostgreSQL's message details may quote the row, names included: log codes only.
            _count_internal(method)
            log.error(
                "rpc failed in the database",
                extra={
                    "method": method,
                    "error_type": type(error).__name__,
                    "sqlstate": error.sqlstate,
                    "constraint": error.constraint_name,
                },
            )
            await abort_internal(context)
        except Exception as error:
            _count_internal(method)
            log.error("rpc failed", extra=error_site(error) | {"method": method})
            await abort_internal(context)
    _answered(method).inc()
    return result


# The metrics' children of each method, looked up once: every call counts, so this is on the
# lookups' hot path.
@functools.cache
def _seconds_of(method: str) -> Any:
    return RPC_SECONDS.labels(method)


@functools.cache
def _answered(method: str) -> Any:
    return RPCS.labels(method, "ok")


def _count_internal(method: str) -> None:
    RPCS.labels(method, "internal").inc()
    ERRORS.labels("registry_rpc").inc()


def _request_id(context: Any, carried: str = "") -> str | None:
    """The verification request id a call carries, else the caller's `x-request-id`."""
    if carried:
        return carried[:64]
    for key, value in context.invocation_metadata() or ():
        if key == REQUEST_ID_METADATA and isinstance(value, str):
            return value[:64]
    return None
