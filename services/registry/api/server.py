"""The grpc.aio server of the registry, with health checking and reflection."""

from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api.servicer import RegistryService
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


async def start_grpc_server(codes: CodeRepository, host: str, port: int) -> GrpcServer:
    """Binds (port 0 picks a free port), starts and reports SERVING; returns the bound port."""
    server = grpc.aio.server()
    registry_pb2_grpc.add_RegistryServicer_to_server(RegistryService(codes), server)
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
    bound = server.add_insecure_port(f"{host}:{port}")
    if bound == 0:
        raise OSError(f"cannot bind the registry gRPC server to {host}:{port}")
    await server.start()
    for service in (OVERALL, SERVICE_NAME):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    return GrpcServer(server=server, health=health, host=host, port=bound)
