"""Operators' read API on the verifier's ops port (operator bearer token): how each awarding
body is doing as this verifier sees it (channel, breaker, recent errors and answer times), and
the enquiries awaiting an answer. No personal data: references, bodies and times only."""

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.verifier.api.problems import operator_refused, problem
from services.verifier.channels.contact import BodyContacts
from services.verifier.domain.body_health import AnswerTime
from services.verifier.store.open_enquiries import BodyBacklog, OpenEnquiryReader

STATES = ("open",)
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


def operator_routes(
    contacts: BodyContacts,
    enquiries: OpenEnquiryReader,
    operator_token: str,
    *,
    instance: str,
    body_names: Mapping[str, str] | None = None,
) -> list[Route]:
    names = dict(body_names or {})

    async def bodies(request: Request) -> Response:
        if (refused := operator_refused(request, operator_token)) is not None:
            return refused
        if (unknown := _unknown_parameter(request, set())) is not None:
            return unknown
        backlog = await enquiries.backlog_by_body()
        wall, mono = time.time(), time.monotonic()
        return JSONResponse(
            {
                "instance": instance,
                "generated_at": _iso(wall),
                "window_seconds": contacts.health_window_seconds,
                "bodies": [
                    _body(contacts, body, names.get(body), backlog.get(body), wall, mono)
                    for body in contacts.body_ids()
                ],
            }
        )

    async def open_enquiries(request: Request) -> Response:
        if (refused := operator_refused(request, operator_token)) is not None:
            return refused
        allowed = {"state", "body", "reference", "limit"}
        if (unknown := _unknown_parameter(request, allowed)) is not None:
            return unknown
        query = request.query_params
        if query.get("state", "open") not in STATES:
            return _invalid("state", "state must be open", "state 只能为 open")
        body = query.get("body")
        if body is not None and body not in contacts.body_ids():
            return _invalid("body", f"Unknown awarding body {body!r}", f"未知的颁发机构 {body!r}")
        limit = _limit(query.get("limit"))
        if limit is None:
            return _invalid(
                "limit",
                f"limit must be a whole number from 1 to {MAX_LIMIT}",
                f"limit 必须是 1 到 {MAX_LIMIT} 之间的整数",
            )
        found = await enquiries.open_enquiries(body, limit, query.get("reference"))
        return JSONResponse(
            {
                "total": found.total,
                "items": [
                    {
                        "reference": e.reference,
                        "request_id": str(e.request_id),
                        "body_id": e.body_id,
                        "sent_at": e.sent_at.isoformat(),
                        "due_at": e.due_at.isoformat(),
                    }
                    for e in found.items
                ],
            }
        )

    return [
        Route("/v1/bodies", bodies, methods=["GET"]),
        Route("/v1/enquiries", open_enquiries, methods=["GET"]),
    ]


def _body(
    contacts: BodyContacts,
    body_id: str,
    name: str | None,
    backlog: BodyBacklog | None,
    wall: float,
    mono: float,
) -> dict[str, Any]:
    channel = contacts.channel_of(body_id)
    breaker = contacts.breaker_of(body_id)
    health = contacts.health_of(body_id)
    since = breaker.state_since(mono)
    counts = health.window.counts(wall)
    times = health.answer_times()
    return {
        "body_id": body_id,
        "name": name,
        "channel": channel.type.value,
        "expected_answer_seconds": channel.turnaround_seconds,
        "deadline_seconds": channel.deadline_seconds,
        "breaker": {
            "state": breaker.state(mono).value,
            # The breaker runs on the monotonic clock: told in wall-clock time.
            "since": None if since is None else _iso(wall - (mono - since)),
            "consecutive_failures": breaker.failures,
            "failure_threshold": breaker.failure_threshold,
            "open_seconds": breaker.open_seconds,
        },
        "recent": {
            "attempts": counts.attempts,
            "failed_attempts": counts.failed,
            "error_rate": counts.error_rate,
        },
        "answer_times": {
            "count": times.count,
            "p50_seconds": times.p50_seconds,
            "p90_seconds": times.p90_seconds,
            "last": [_answer_time(a) for a in times.last],
        },
        "open_enquiries": backlog.open if backlog else 0,
        "overdue_enquiries": backlog.overdue if backlog else 0,
        "next_due_at": backlog.next_due_at.isoformat() if backlog else None,
    }


def _answer_time(answer: AnswerTime) -> dict[str, Any]:
    return {"at": _iso(answer.at), "seconds": answer.seconds}


def _iso(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat()


def _limit(raw: str | None) -> int | None:
    if raw is None:
        return DEFAULT_LIMIT
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        return None
    return int(raw)


def _invalid(parameter: str, en: str, zh: str) -> JSONResponse:
    return problem(400, "invalid-parameter", en, zh, parameter=parameter)


def _unknown_parameter(request: Request, allowed: set[str]) -> JSONResponse | None:
    unknown = sorted(set(request.query_params) - allowed)
    if not unknown:
        return None
    return _invalid(
        unknown[0],
        f"Unknown query parameter {unknown[0]!r}",
        f"未知的查询参数 {unknown[0]!r}",
    )
