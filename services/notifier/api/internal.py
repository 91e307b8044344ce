"""Internal HTTP API of the notifier, for intake only (never exposed to employers directly):
an employer's deliveries and their replay, and the addresses its notifications are e-mailed
to. Intake passes the employer it authenticated; calls carry a token shared by the two
services."""

import hmac
import re
from typing import Any
from uuid import UUID

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from services.notifier.store.repository import DeliveryView, NotifierStore

_STATUSES = {"pending", "delivered", "failed"}
MAX_PAGE = 200
MAX_SEQ = 2**63 - 1  # deliveries.seq is a bigint
# What repository.delivery_id makes; nothing else can exist (a NUL would fail in PostgreSQL).
WEBHOOK_ID = re.compile(r"msg_[0-9a-f]{32}")


def internal_routes(store: NotifierStore, token: str) -> list[Route]:
    def authorised(request: Request) -> bool:
        offered = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        return hmac.compare_digest(offered.encode(), token.encode())

    async def deliveries(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "unauthorised")
        try:
            query = _DeliveryQuery(request)
        except ValueError as error:
            return _error(422, str(error))
        views = await store.list_deliveries(
            query.employer_id,
            status=query.status,
            request_id=query.request_id,
            limit=query.limit,
            before_seq=query.before,
        )
        next_before = views[-1].seq if len(views) == query.limit else None
        return JSONResponse({"items": [view_json(v) for v in views], "next_before": next_before})

    async def replay(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "unauthorised")
        try:
            employer_id = UUID(request.path_params["employer_id"])
        except ValueError:
            return _error(422, "employer_id is not a UUID")
        webhook_id = request.path_params["webhook_id"]
        if not WEBHOOK_ID.fullmatch(webhook_id):
            return _error(404, "no such delivery")
        view = await store.replay(employer_id, webhook_id)
        if view is None:
            return _error(404, "no such delivery")
        return JSONResponse(view_json(view), status_code=202)

    async def emails(request: Request) -> JSONResponse:
        if not authorised(request):
            return _error(401, "unauthorised")
        try:
            employer_id = UUID(request.path_params["employer_id"])
        except ValueError:
            return _error(422, "employer_id is not a UUID")
        return JSONResponse({"addresses": await store.email_recipients(employer_id)})

    base = "/internal/v1/employers/{employer_id}/deliveries"
    return [
        Route(base, deliveries, methods=["GET"]),
        Route(base + "/{webhook_id}/replay", replay, methods=["POST"]),
        Route("/internal/v1/employers/{employer_id}/emails", emails, methods=["GET"]),
    ]


class _DeliveryQuery:
    def __init__(self, request: Request) -> None:
        params = request.query_params
        self.employer_id = UUID(request.path_params["employer_id"])
        self.status = params.get("status")
        if self.status is not None and self.status not in _STATUSES:
            raise ValueError(f"status must be one of {sorted(_STATUSES)}")
        request_id = params.get("request_id")
        self.request_id = UUID(request_id) if request_id else None
        self.limit = int(params.get("limit", "50"))
        if not 1 <= self.limit <= MAX_PAGE:
            raise ValueError(f"limit must be between 1 and {MAX_PAGE}")
        before = params.get("before")
        self.before = int(before) if before else None
        if self.before is not None and not 1 <= self.before <= MAX_SEQ:
            raise ValueError(f"before must be between 1 and {MAX_SEQ}")


def view_json(view: DeliveryView) -> dict[str, Any]:
    def iso(value: Any) -> Any:
        return None if value is None else value.isoformat()

    return {
        "id": view.webhook_id,
        "request_id": str(view.request_id),
        "channel": view.channel,
        "destination": view.destination,
        "event_type": view.event_type,
        "status": view.status,
        "attempts": view.attempts,
        "last_error": view.last_error,
        "next_attempt_at": iso(view.next_attempt_at),
        "delivered_at": iso(view.delivered_at),
        "created_at": iso(view.created_at),
        "replayed_at": iso(view.replayed_at),
        "seq": view.seq,
    }


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"status": status, "detail": detail}, status_code=status)
