"""The grpc.aio server of the registry, with health checking and reflection.

One server, two kinds of port: the mutual-TLS port every platform caller uses, and an opt-in
plaintext port where callers are anonymous and get the public level only.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from services.registry.api.auth import SERVICE, guarded_handlers, server_credentials
from services.registry.api.servicer import RegistryService, ServiceParts
from services.registry.settings import RegistrySettings
from services.registry.store.codes import CodeRepository

SERVICE_NAME: str = SERVICE.full_name
OVERALL = ""  # the health service's name for the server as a whole


@dataclass(frozen=True)
class GrpcOptions:
    host: str
    port: int  # mutual TLS; 0 picks a free port
    tls: tuple[Path, Path, Path]  # CA, certificate, key
    plaintext_port: int | None = None  # anonymous, public level; None: no such port
    max_receive_message_bytes: int = 64 * 1024
    max_send_message_bytes: int = 4 * 1024 * 1024

    @classmethod
    def of(cls, settings: RegistrySettings) -> "GrpcOptions":
        return cls(
            host=settings.host,
            port=settings.grpc_port,
            tls=settings.tls_files(),
            plaintext_port=settings.plaintext_port,
            max_receive_message_bytes=settings.max_receive_message_bytes,
            max_send_message_bytes=settings.max_send_message_bytes,
        )


@dataclass
class GrpcServer:
    server: Any  # grpc.aio.Server
    health: health_aio.HealthServicer
    host: str
    port: int
    plaintext_port: int | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def plaintext_address(self) -> str | None:
        return None if self.plaintext_port is None else f"{self.host}:{self.plaintext_port}"

    async def stop(self, grace: float) -> None:
        """NOT_SERVING first so balancers drain, then let in-flight calls finish within grace."""
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def start_grpc_server(
    codes: CodeRepository, parts: ServiceParts | None, options: GrpcOptions
) -> GrpcServer:
    """Binds, starts and reports SERVING; returns the bound ports.

    On the TLS port every caller must present a client certificate of the CA, and each RPC is
    authorised from the certificate's identity.
    """
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", options.max_receive_message_bytes),
            ("grpc.max_send_message_length", options.max_send_message_bytes),
        ],
    )
    handlers = guarded_handlers(RegistryService(codes, parts))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    # Registered methods are found without asking each generic handler in turn (as the
    # generated add_..._to_server does): the cheaper path on every call.
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
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
    port = _bind(
        server.add_secure_port, options.host, options.port, server_credentials(*options.tls)
    )
    plaintext = None
    if options.plaintext_port is not None:
        plaintext = _bind(server.add_insecure_port, options.host, options.plaintext_port)
    await server.start()
    for service in (OVERALL, SERVICE_NAME):
        await health.set(service, health_pb2.HealthCheckResponse.SERVING)
    return GrpcServer(server, health, options.host, port, plaintext)


def _bind(add_port: Any, host: str, port: int, *credentials: Any) -> int:
    bound = int(add_port(f"{host}:{port}", *credentials))
    if bound == 0:
        raise OSError(f"cannot bind the registry gRPC server to {host}:{port}")
    return bound
