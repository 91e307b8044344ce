"""Channel 1: the credential API of cloud vendors and badge platforms (JSON over HTTP)."""

import base64
import binascii
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse, Response

from simulator.bodies import require_body_id
from simulator.context import SimulatorContext
from simulator.faults import MalformedStyle
from simulator.population import SimulatedCertificate, normalise_name, population_for
from simulator.responses import error_json, json_fault_response

CHANNEL = "credential_api"
_MISSING_FIELDS = ("holder_name", "status")


def credential_json(cert: SimulatedCertificate) -> dict[str, Any]:
    return {
        "credential_id": cert.credential_id,
        "holder_name": cert.holder_name,
        "status": cert.status,
        "issued_on": cert.issued_on.isoformat(),
        "expires_on": cert.expires_on.isoformat() if cert.expires_on else None,
        "credential_name": cert.credential_name,
    }


def malformed_body(payload: dict[str, Any], style: MalformedStyle) -> bytes:
    """A broken 200 answer: JSON cut in half, or an object lacking required fields."""
    if style == "truncated":
        encoded = orjson.dumps(payload)
        return encoded[: len(encoded) // 2]
    return orjson.dumps({k: v for k, v in payload.items() if k not in _MISSING_FIELDS})


def encode_page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def decode_page_token(token: str) -> int:
    """Raises ValueError for a token this simulator did not issue."""
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise ValueError("invalid page token") from exc
    prefix, _, number = text.partition(":")
    if prefix != "offset" or not number.isdigit():
        raise ValueError("invalid page token")
    return int(number)


def build_router(ctx: SimulatorContext) -> APIRouter:
    router = APIRouter(prefix="/credential-api/{body_id}/v1", tags=["credential-api"])

    def authorised(body_id: str, authorization: str | None) -> bool:
        return authorization == f"Bearer {ctx.settings.api_key_for(body_id)}"

    @router.get("/credentials/{credential_id}")
    async def get_credential(
        body_id: str,
        credential_id: str,
        authorization: Annotated[str | None, Header()] = None,
    ) -> Response:
        require_body_id(body_id)
        decision = await ctx.admit(CHANNEL, body_id)
        if decision.outcome != "pass":
            ctx.record(CHANNEL, body_id, decision.outcome)
            return json_fault_response(decision)
        if not authorised(body_id, authorization):
            ctx.record(CHANNEL, body_id, "unauthorized")
            return error_json(401, "unauthorized")
        cert = ctx.certificate(body_id, credential_id)
        if cert is None:
            ctx.record(CHANNEL, body_id, "not_found")
            return error_json(404, "not_found")
        if decision.malformed is not None:
            ctx.record(CHANNEL, body_id, "malformed")
            body = malformed_body(credential_json(cert), decision.malformed)
            return Response(body, status_code=200, media_type="application/json")
        ctx.record(CHANNEL, body_id, "ok")
        return JSONResponse(credential_json(cert))

    @router.get("/credentials")
    async def list_credentials(
        body_id: str,
        authorization: Annotated[str | None, Header()] = None,
        holder_name: str | None = None,
        page_token: str | None = None,
        page_size: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> Response:
        require_body_id(body_id)
        decision = await ctx.admit(CHANNEL, body_id)
        if decision.outcome != "pass":
            ctx.record(CHANNEL, body_id, decision.outcome)
            return json_fault_response(decision)
        if not authorised(body_id, authorization):
            ctx.record(CHANNEL, body_id, "unauthorized")
            return error_json(401, "unauthorized")
        try:
            offset = decode_page_token(page_token) if page_token else 0
        except ValueError:
            ctx.record(CHANNEL, body_id, "bad_request")
            return error_json(400, "invalid_page_token")
        matches = _matching(ctx, body_id, holder_name)
        page = matches[offset : offset + page_size]
        next_offset = offset + page_size
        ctx.record(CHANNEL, body_id, "ok")
        return JSONResponse(
            {
                "items": [credential_json(cert) for cert in page],
                "next_page_token": encode_page_token(next_offset)
                if next_offset < len(matches)
                else None,
            }
        )

    return router


def _matching(
    ctx: SimulatorContext, body_id: str, holder_name: str | None
) -> list[SimulatedCertificate]:
    population = population_for(ctx.settings.seed, body_id, ctx.settings.population_size)
    if not holder_name:
        return population
    wanted = normalise_name(holder_name)
    return [cert for cert in population if normalise_name(cert.holder_name) == wanted]
