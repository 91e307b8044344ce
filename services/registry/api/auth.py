"""Who is calling and whether they may: identity from the client certificate (mutual TLS) or
anonymous (the opt-in plaintext port), authorised by the one table in `domain.access`.

The guard in front of every RPC also turns bytes that are not a valid request into
INVALID_ARGUMENT (grpcio would answer UNKNOWN) and checks every request against `bounds`
before the servicer sees it.
"""

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message

from qualverify.registry.v1 import registry_pb2
from services.registry.api.bounds import check_bounds
from services.registry.api.status import abort_with
from services.registry.domain.access import ANONYMOUS, Caller, may_call
from services.registry.domain.errors import InvalidField, RegistryError

SERVICE = registry_pb2.DESCRIPTOR.services_by_name["RegistryService"]

Deserializer = Callable[[bytes], Any]


class Undecodable:
    """Stands in for a request whose bytes did not parse, so the RPC can refuse it cleanly."""


def server_credentials(ca: Path, cert: Path, key: Path) -> Any:
    """TLS that requires a client certificate signed by the platform's CA."""
    return grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())],
        root_certificates=ca.read_bytes(),
        require_client_auth=True,
    )


# Each RPC runs in a task of its own: the caller found by the guard is reused by the servicer
# (the audit), instead of reading the TLS auth context twice per call.
_CALLER: ContextVar[tuple[Any, Caller] | None] = ContextVar("registry_caller", default=None)


def caller_of(context: Any) -> Caller:
    """The certificate's common name over mutual TLS; ANONYMOUS over plaintext."""
    known = _CALLER.get()
    if known is not None and known[0] is context:
        return known[1]
    peer = str(context.peer() or "unknown")
    auth = context.auth_context() or {}
    if auth.get("transport_security_type") != [b"ssl"]:
        caller = Caller(ANONYMOUS, peer)
    else:
        names = auth.get("x509_common_name") or []
        caller = Caller(names[0].decode() if names else "", peer)
    _CALLER.set((context, caller))
    return caller


def guarded_handlers(servicer: Any) -> dict[str, grpc.RpcMethodHandler]:
    """The RegistryService's method handlers by name (all but the deprecated ones), each behind the
    checks of `_admit`: INVALID_ARGUMENT for undecodable bytes, UNAUTHENTICATED without an
    identity, PERMISSION_DENIED when the identity may not call the method, INVALID_ARGUMENT
    for a field out of bounds.

    Built once from the service descriptor instead of a server interceptor, which grpc.aio would
    run as an extra coroutine on every call.
    """
    return {
        method.name: _guarded_handler(servicer, method)
        for method in SERVICE.methods
        if not method.GetOptions().deprecated  # retired: grpc answers UNIMPLEMENTED
    }


def _guarded_handler(servicer: Any, method: MethodDescriptor) -> grpc.RpcMethodHandler:
    request = getattr(registry_pb2, method.input_type.name)
    response = getattr(registry_pb2, method.output_type.name)
    behaviour = getattr(servicer, method.name)
    if method.server_streaming:
        return grpc.unary_stream_rpc_method_handler(
            _guarded_stream(behaviour, method.name),
            request_deserializer=_tolerant(request.FromString),
            response_serializer=response.SerializeToString,
        )
    return grpc.unary_unary_rpc_method_handler(
        _guarded_unary(behaviour, method.name),
        request_deserializer=_tolerant(request.FromString),
        response_serializer=response.SerializeToString,
    )


def _tolerant(deserializer: Deserializer) -> Deserializer:
    def deserialize(data: bytes) -> Any:
        try:
            return deserializer(data)
        except DecodeError:
            return Undecodable()

    return deserialize


def _guarded_unary(
    behaviour: Callable[[Any, Any], Awaitable[Any]], rpc: str
) -> Callable[[Any, Any], Awaitable[Any]]:
    async def guarded(request: Any, context: Any) -> Any:
        await _admit(request, context, rpc)
        return await behaviour(request, context)

    return guarded


def _guarded_stream(behaviour: Callable[[Any, Any], Any], rpc: str) -> Callable[[Any, Any], Any]:
    async def guarded(request: Any, context: Any) -> Any:
        await _admit(request, context, rpc)
        async for message in behaviour(request, context):
            yield message

    return guarded


async def _admit(request: Message | Undecodable, context: Any, rpc: str) -> None:
    if isinstance(request, Undecodable):
        await abort_with(
            context,
            InvalidField(
                "request",
                f"is not a valid protobuf {rpc}Request message",
                f"不是有效的 protobuf {rpc}Request 消息",
            ),
        )
    caller = caller_of(context)
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
    try:
        check_bounds(request)
    except RegistryError as error:
        await abort_with(context, error)
