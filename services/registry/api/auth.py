"""Mutual TLS and authorisation: who is calling (from the client certificate) and whether the
one table in `domain.access` lets them call this RPC."""

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from services.registry.domain.access import LOCAL, Caller, may_call

# Served to every authenticated caller, whatever its identity.
_OPEN_SERVICES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
_REGISTRY_PREFIX = "/qualverify.registry.v1.Registry/"


def server_credentials(ca: Path, cert: Path, key: Path) -> Any:
    """TLS that requires a client certificate signed by the platform's CA."""
    return grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())],
        root_certificates=ca.read_bytes(),
        require_client_auth=True,
    )


def caller_of(context: Any, secure: bool) -> Caller:
    peer = str(context.peer() or "unknown")
    if not secure:
        return Caller(LOCAL, peer)
    names = (context.auth_context() or {}).get("x509_common_name") or []
    identity = names[0].decode() if names else ""
    return Caller(identity, peer)


class AuthorisationInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Refuses a call before it reaches the servicer: UNAUTHENTICATED without an identity,
    PERMISSION_DENIED when the identity may not call the method."""

    async def intercept_service(
        self,
        continuation: Callable[[Any], Awaitable[Any]],
        handler_call_details: Any,
    ) -> Any:
        handler = await continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or method.startswith(_OPEN_SERVICES):
            return handler
        rpc = method.removeprefix(_REGISTRY_PREFIX)
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                _guarded_unary(handler.unary_unary, rpc),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                _guarded_stream(handler.unary_stream, rpc),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler


def _guarded_unary(
    behaviour: Callable[[Any, Any], Awaitable[Any]], rpc: str
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def guarded(request: Any, context: Any) -> Any:
        await _authorise(context, rpc)
        return await behaviour(request, context)

    return guarded


def _guarded_stream(behaviour: Callable[[Any, Any], Any], rpc: str) -> Callable[[Any, Any], Any]:
    async def guarded(request: Any, context: Any) -> Any:
        await _authorise(context, rpc)
        async for message in behaviour(request, context):
            yield message

    return guarded


async def _authorise(context: Any, rpc: str) -> None:
    caller = caller_of(context, secure=True)
    if not caller.identity:
        await context.abort(
            grpc.StatusCode.UNAUTHENTICATED,
            "a client certificate with a common name is required / 需要带通用名称的客户端证书",
        )
    if not may_call(caller.identity, rpc):
        await context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"'{caller.identity}' may not call {rpc} / “{caller.identity}”无权调用 {rpc}",
        )
