"""The grpc.aio server of the registry, with health checking and reflection."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api.auth import AuthorisationInterceptor, server_credentials
from services.registry.api.servicer import RegistryService, ServiceParts
from services.registry.store.codes import CodeRepository

SERVICE_NAME: str = registry_pb2.DESCRIPTOR.services_by_name["Registry"].full_name
OVERALL = ""  # the health service's name for the server as a whole


@dataclass
class GrpcServer:
    server: Any  # grpc.aio.Server
    health: health_aio.HealthServicer
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def stop(self, grace: float) -> None:
        """NOT_SERVING first so balancers drain, then let in-flight calls finish within grace."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_grpc_server(
    codes: CodeRepository,
    host: str,
    port: int,
    parts: ServiceParts | None = None,
    tls: tuple[Path, Path, Path] | None = None,
) -> GrpcServer:
    """Binds (port 0 picks a free port), starts and reports SERVING; returns the bound port.

    With `tls` (CA, certificate, key) every caller must present a client certificate of that
    CA, and each RPC is authorised from the certificate's identity; without, plaintext.
    """
    interceptors = [AuthorisationInterceptor()] if tls else []
    server = grpc.aio.server(interceptors=interceptors)
    servicer = RegistryService(codes, parts, secure=tls is not None)
    registry_pb2_grpc.add_RegistryServicer_to_server(servicer, server)
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        (
            SERVICE_NAME,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        ),
        server,
    )
    address = f"{host}:{port}"
    if tls:
        bound = server.add_secure_port(address, server_credentials(*tls))
    else:
        bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot bind the registry gRPC server to {host}:{port}")
    await server.start()
    for service in (OVERALL, SERVICE_NAME):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    return GrpcServer(server=server, health=health, host=host, port=bound)
