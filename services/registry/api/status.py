"""The one table from domain error codes to gRPC status codes, and the abort that uses it."""

from typing import Any, NoReturn

import grpc

from services.registry.domain.errors import ErrorCode, RegistryError

STATUS_BY_ERROR: dict[ErrorCode, grpc.StatusCode] = {
    ErrorCode.MALFORMED_CODE: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.CHECK_CHARACTER_MISMATCH: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.INVALID_FIELD: grpc.StatusCode.INVALID_ARGUMENT,
    ErrorCode.NOT_FOUND: grpc.StatusCode.NOT_FOUND,
    # The code would be issued under a qualification that does not exist: the referenced
    # resource is missing (NOT_FOUND), not a state that may change (FAILED_PRECONDITION).
    ErrorCode.UNKNOWN_QUALIFICATION: grpc.StatusCode.NOT_FOUND,
    ErrorCode.REQUEST_CONFLICT: grpc.StatusCode.ALREADY_EXISTS,
    ErrorCode.ALREADY_WITHDRAWN: grpc.StatusCode.FAILED_PRECONDITION,
    ErrorCode.PERMISSION_DENIED: grpc.StatusCode.PERMISSION_DENIED,
}

# Trailing metadata key carrying the stable domain error code, for clients that branch on it.
ERROR_CODE_KEY = "qualverify-error-code"


async def abort_with(context: Any, error: RegistryError) -> NoReturn:
    """Ends the RPC with the status of the error; details in English then Chinese."""
    await context.abort(
        STATUS_BY_ERROR[error.code],
        str(error),
        trailing_metadata=((ERROR_CODE_KEY, error.code.value),),
    )
    raise AssertionError("grpc.aio context.abort returned")


async def abort_internal(context: Any) -> NoReturn:
    await context.abort(grpc.StatusCode.INTERNAL, "internal error / 内部错误")
    raise AssertionError("grpc.aio context.abort returned")
