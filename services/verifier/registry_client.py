"""gRPC client of the registry: issues the verification code of an authentic verdict."""

from datetime import datetime
from pathlib import Path

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.contracts.events import VerificationRequested


class RegistryUnavailable(ConnectionError):
    """The registry did not answer; the verdict is retried later, never dropped."""


def mutual_tls_credentials(tls_dir: Path, identity: str = "verifier") -> grpc.ChannelCredentials:
    """Client credentials from a directory made by deploy/pki/make_dev_pki.py (ca.pem,
    <identity>.pem, <identity>-key.pem); the registry authorises calls by that identity."""
    return grpc.ssl_channel_credentials(
        root_certificates=(tls_dir / "ca.pem").read_bytes(),
        private_key=(tls_dir / f"{identity}-key.pem").read_bytes(),
        certificate_chain=(tls_dir / f"{identity}.pem").read_bytes(),
    )


class RegistryClient:
    def __init__(
        self,
        target: str,
        timeout_seconds: float = 5.0,
        credentials: grpc.ChannelCredentials | None = None,
    ) -> None:
        """Plaintext by default (local development); mutual TLS when given `credentials`."""
        self._channel = (
            grpc.aio.secure_channel(target, credentials)
            if credentials is not None
            else grpc.aio.insecure_channel(target)
        )
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
