"""The Registry gRPC service: validates, calls the repository, maps refusals to statuses."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
from prometheus_client import Counter, Histogram

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api import messages
from services.registry.api.status import abort_internal, abort_with
from services.registry.domain.codes import parse_code
from services.registry.domain.errors import InvalidField, NotFound, RegistryError
from services.registry.domain.verifications import Verification, parse_request_id
from services.registry.store.codes import CodeRepository
from services.runtime.observability import ERRORS, request_id_var

log = logging.getLogger(__name__)

RPCS = Counter("registry_rpcs_total", "Registry RPCs by method and outcome", ["method", "outcome"])
RPC_SECONDS = Histogram("registry_rpc_seconds", "Registry RPC latency", ["method"])

REQUEST_ID_METADATA = "x-request-id"

T = TypeVar("T")


class RegistryService(registry_pb2_grpc.RegistryServicer):
    def __init__(self, codes: CodeRepository) -> None:
        self._codes = codes

    async def IssueCode(
        self, request: registry_pb2.IssueCodeRequest, context: Any
    ) -> registry_pb2.IssueCodeResponse:
        request_id_var.set(_request_id(context, request.request_id))

        async def issue() -> registry_pb2.IssueCodeResponse:
            issued = await self._codes.issue(messages.issue_request(request))
            log.info("code issued", extra={"newly_issued": issued.newly_issued})
            return registry_pb2.IssueCodeResponse(
                code=str(issued.verification.code),
                newly_issued=issued.newly_issued,
                verification=messages.verification_message(issued.verification),
            )

        return await _handled("IssueCode", context, issue)

    async def LookupCode(
        self, request: registry_pb2.LookupCodeRequest, context: Any
    ) -> registry_pb2.LookupCodeResponse:
        request_id_var.set(_request_id(context))

        async def lookup() -> registry_pb2.LookupCodeResponse:
            if not request.code.strip():
                raise InvalidField("code", "is required", "不能为空")
            verification = await self._by_code(request.code)
            return messages.lookup_message(verification)

        return await _handled("LookupCode", context, lookup)

    async def GetVerification(
        self, request: registry_pb2.GetVerificationRequest, context: Any
    ) -> registry_pb2.Verification:
        request_id_var.set(_request_id(context, request.request_id))

        async def get() -> registry_pb2.Verification:
            key = request.WhichOneof("key")
            if key == "request_id":
                verification = await self._by_request_id(request.request_id)
            elif key == "code":
                verification = await self._by_code(request.code)
            else:
                raise InvalidField(
                    "key", "give a request_id or a code", "请提供 request_id 或 code"
                )
            return messages.verification_message(verification)

        return await _handled("GetVerification", context, get)

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
    """Runs one RPC: refusals become their status, anything else INTERNAL without details."""
    with RPC_SECONDS.labels(method).time():
        try:
            result = await call()
        except RegistryError as error:
            RPCS.labels(method, error.code.value).inc()
            log.info("rpc refused", extra={"method": method, "error_code": error.code.value})
            await abort_with(context, error)
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
        except Exception:
            _count_internal(method)
            log.exception("rpc failed", extra={"method": method})
            await abort_internal(context)
    RPCS.labels(method, "ok").inc()
    return result


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
