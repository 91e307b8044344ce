"""While PostgreSQL is away an RPC fails with UNAVAILABLE (retry later), not INTERNAL."""

from typing import Any

import asyncpg
import grpc
import pytest

from services.registry.api.servicer import _handled


class Aborted(Exception):
    pass


class RecordingContext:
    """The two things `_handled` asks of a grpc.aio servicer context."""

    def __init__(self) -> None:
        self.status: grpc.StatusCode | None = None
        self.details = ""

    def time_remaining(self) -> float:
        return 5.0

    async def abort(self, code: grpc.StatusCode, details: str) -> Any:
        self.status, self.details = code, details
        raise Aborted


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connect call failed"),
        asyncpg.exceptions.AdminShutdownError(
            "terminating connection due to administrator command"
        ),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    ],
)
async def test_an_unreachable_database_is_unavailable(error: Exception) -> None:
    async def lookup() -> None:
        raise error

    context = RecordingContext()
    with pytest.raises(Aborted):
        await _handled("LookupCode", context, lookup)
    assert context.status is grpc.StatusCode.UNAVAILABLE
    assert "retry" in context.details and "请重试" in context.details


async def test_other_database_errors_stay_internal() -> None:
    async def lookup() -> None:
        raise asyncpg.exceptions.UndefinedTableError("relation does not exist")

    context = RecordingContext()
    with pytest.raises(Aborted):
        await _handled("LookupCode", context, lookup)
    assert context.status is grpc.StatusCode.INTERNAL
