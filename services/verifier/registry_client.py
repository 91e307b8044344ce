"""gRPC client of the registry: issues the verification code of an authentic verdict."""

from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.contracts.events import VerificationRequested


class RegistryUnavailable(ConnectionError):
    """The registry did not answer; the verdict is retried later, never dropped."""


class RegistryClient:
    def __init__(self, target: str, timeout_seconds: float = 5.0) -> None:
        self._channel = grpc.aio.insecure_channel(target)
        self._stub = registry_pb2_grpc.RegistryStub(self._channel)
        self._timeout = timeout_seconds

    async def issue_code(self, request: VerificationRequested, verified_at: datetime) -> str:
        stamp = Timestamp()
        stamp.FromDatetime(verified_at)
        message = registry_pb2.IssueCodeRequest(
            request_id=str(request.request_id),
            qualification_id=request.qualification_id,
            body_ids=request.body_ids,
            holder_ref=request.holder.holder_ref,
            holder_name=request.holder.name,
            region=request.region,
            employer_id=str(request.employer_id),
            verified_at=stamp,
        )
        try:
            response = await self._stub.IssueCode(message, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise RegistryUnavailable(error.details() or str(error.code())) from error
            raise
        return str(response.code)

    async def close(self) -> None:
        await self._channel.close()
