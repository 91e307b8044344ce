"""A bare grpc.aio server answering LookupCode with a constant: the yardstick for the registry.
It serves mutual TLS with the registry's certificates, so both pay the same for TLS.

python -m bench.bare_grpc PORT TLS_DIR
"""

import asyncio
import sys
from pathlib import Path

import grpc

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc

_ANSWER = registry_pb2.LookupCodeResponse(
    code="0EEN-2D2S-MS4A-PSD0-*",
    status=registry_pb2.CODE_STATUS_VALID,
    qualification_id="aws-e94e5145",
    body_ids=["aws"],
    holder_name_masked="K**** N*****",
)


class BareRegistry(registry_pb2_grpc.RegistryServiceServicer):
    """Implements only LookupCode; the base class answers UNIMPLEMENTED for the rest."""

    async def LookupCode(
        self, request: registry_pb2.LookupCodeRequest, context: grpc.aio.ServicerContext
    ) -> registry_pb2.LookupCodeResponse:
        return _ANSWER


async def serve(port: int, tls_dir: Path) -> None:
    server = grpc.aio.server()
    registry_pb2_grpc.add_RegistryServiceServicer_to_server(BareRegistry(), server)  # type: ignore[abstract]
    credentials = grpc.ssl_server_credentials(
        [((tls_dir / "registry-key.pem").read_bytes(), (tls_dir / "registry.pem").read_bytes())],
        root_certificates=(tls_dir / "ca.pem").read_bytes(),
        require_client_auth=True,
    )
    server.add_secure_port(f"127.0.0.1:{port}", credentials)
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))
