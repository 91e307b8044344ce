"""gRPC client of the registry: issues the verification code of an authentic verdict."""

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.contracts.events import VerificationRequested
from services.runtime.mtls import client_credentials

_REGIONS: dict[str, registry_pb2.Region.ValueType] = {
    "beijing": registry_pb2.REGION_BEIJING,
    "tianjin": registry_pb2.REGION_TIANJIN,
    "hebei": registry_pb2.REGION_HEBEI,
}


@dataclass(frozen=True, slots=True)
class IssuedCode:
    code: str
    # The registry's signed statement of the verification (a compact JWS, `vc+jwt`); None only
    # from a registry that signs no statements.
    statement: str | None


class RegistryUnavailable(ConnectionError):
    """The registry did not answer; the verdict is retried later, never dropped."""


def mutual_tls_credentials(tls_dir: Path, identity: str = "verifier") -> grpc.ChannelCredentials:
    """Client credentials from a directory made by deploy/pki/make_dev_pki.py (ca.pem,
    <identity>.pem, <identity>-key.pem); the registry authorises calls by that identity."""
    return client_credentials(tls_dir, identity)


class RegistryClient:
    def __init__(
        self,
        target: str,
        credentials: grpc.ChannelCredentials,
        timeout_seconds: float = 5.0,
    ) -> None:
        """Mutual TLS with `credentials`: the registry issues codes to the verifier only."""
        self._channel = grpc.aio.secure_channel(target, credentials)
        self._stub = registry_pb2_grpc.RegistryServiceStub(self._channel)
        self._timeout = timeout_seconds

    async def issue_code(self, request: VerificationRequested, verified_at: datetime) -> IssuedCode:
        """The code and signed statement of `request`; the same ones when asked again."""
        stamp = Timestamp()
        stamp.FromDatetime(verified_at)
        message = registry_pb2.IssueCodeRequest(
            request_id=str(request.request_id),
            qualification_id=request.qualification_id,
            body_ids=request.body_ids,
            holder_ref=request.holder.holder_ref,
            holder_name=request.holder.name,
            region=_REGIONS[request.region],
            employer_id=str(request.employer_id),
            verified_at=stamp,
        )
        try:
            response = await self._stub.IssueCode(message, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise RegistryUnavailable(error.details() or str(error.code())) from error
            raise
        return IssuedCode(code=str(response.code), statement=response.statement or None)

    async def close(self) -> None:
        await self._channel.close()
