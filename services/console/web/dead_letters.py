"""The dead-letters section: the count on each `.dlq` topic, each parked record's headers,
reason, source offset and masked preview, and the operator's Replay and Discard (with a
reason), both audited."""

from typing import Any
from urllib.parse import urlencode

from aiokafka.errors import KafkaError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.console.domain.dead_letters import NotReplayable
from services.console.store.dead_letters import AlreadyHandled, RecordKey
from services.console.usecases.dead_letters import (
    MAX_REASON_LENGTH,
    DeadLetterNotFound,
    DeadLetters,
    DeadLetterTopicView,
    ReasonRequired,
)
from services.console.web.deps import Deps
from services.console.web.pages import operator_of, render, require_operator_role
from services.runtime.resilience import DATABASE_UNREACHABLE

_AWAY = (*DATABASE_UNREACHABLE, KafkaError)
PAGE_SIZE = 50


def _refusal(error: Exception) -> tuple[int, str, str]:
    """(status, English, Chinese) of an action refused."""
    if isinstance(error, AlreadyHandled):
        action = error.action
        kind = {"replayed": ("replayed", "重放"), "discarded": ("discarded", "丢弃")}[action.kind]
        return (
            409,
            f"This record was already {kind[0]} by {action.actor}; it is not acted on twice.",
            f"该记录已由 {action.actor} {kind[1]}，不会重复处理。",
        )
    if isinstance(error, DeadLetterNotFound):
        return 404, "No such parked record (it may have expired).", "没有该死信记录（可能已过期）。"
    if isinstance(error, ReasonRequired):
        return (
            422,
            f"A reason is required to discard (1 to {MAX_REASON_LENGTH} characters).",
            f"丢弃必须填写原因（1 至 {MAX_REASON_LENGTH} 个字符）。",
        )
    if isinstance(error, NotReplayable):
        return (
            422,
            "This record cannot be replayed: it does not carry a valid signature of its "
            "producer, so it would only be parked again. Discard it instead.",
            "该记录无法重放：它没有其生产者的有效签名，重放后只会再次进入死信。请改为丢弃。",
        )
    return (
        503,
        "The broker or the console's database is unreachable; try again shortly.",
        "Kafka 代理或控制台数据库无法连接，请稍后重试。",
    )


def _offset(raw: str | None) -> int | None:
    """A `before` offset from the query; anything else means the newest page."""
    return int(raw) if raw is not None and raw.isdigit() else None


def _key(form: Any) -> RecordKey:
    try:
        return RecordKey(
            str(form.get("topic", "")), int(form.get("partition", "")), int(form.get("offset", ""))
        )
    except ValueError as error:
        raise DeadLetterNotFound("malformed record address") from error


def routes(deps: Deps) -> list[BaseRoute]:
    async def context(request: Request, records: bool = True) -> dict[str, Any]:
        """The counts per topic (from the latest sample) and, with `records`, the newest
        records of the chosen topic (read from the broker)."""
        section = deps.dead_letters
        if section is None:
            return {"available": False, "counts": {}, "view": None, "chosen": None}
        counts = section.counts()
        chosen = request.query_params.get("topic") or next(iter(sorted(counts)), None)
        view: DeadLetterTopicView | None = None
        error: str | None = None
        before = _offset(request.query_params.get("before"))
        if chosen is not None and records:
            try:
                view = await section.topic(chosen, limit=PAGE_SIZE, before=before)
            except DeadLetterNotFound:
                error = "not-found"
            except (*_AWAY, TimeoutError):
                error = "away"
        return {
            "available": True,
            "counts": counts,
            "chosen": chosen,
            "view": view,
            "load_error": error,
            "may_act": operator_of(request).may_act,
            "max_reason": MAX_REASON_LENGTH,
            "before": before,
        }

    async def page(request: Request) -> Response:
        found = await context(request)
        found["done"] = request.query_params.get("done")
        return render(request, "dead_letters.html", found)

    async def live(request: Request) -> Response:
        found = await context(request, records=False)  # the counts only: no broker round trip
        status = 503 if not found["available"] else 200
        return render(request, "dead_letters_live.html", found, status_code=status)

    async def act(request: Request, section: DeadLetters, action: str) -> Response:
        operator = require_operator_role(request)
        form = await request.form()
        try:
            key = _key(form)
            if action == "replay":
                await section.replay(operator, key)
            else:
                await section.discard(operator, key, str(form.get("reason", "")))
        except (
            AlreadyHandled,
            DeadLetterNotFound,
            ReasonRequired,
            NotReplayable,
            *_AWAY,
            TimeoutError,
        ) as error:
            status, english, chinese = _refusal(error)
            found = await context(request)
            found["refusal"] = (english, chinese)
            return render(request, "dead_letters.html", found, status_code=status)
        query = urlencode({"topic": key.topic, "done": f"{action}:{key}"})
        return RedirectResponse(f"/dead-letters?{query}", status_code=303)

    async def replay(request: Request) -> Response:
        if deps.dead_letters is None:
            return render(request, "dead_letters.html", await context(request), 503)
        return await act(request, deps.dead_letters, "replay")

    async def discard(request: Request) -> Response:
        if deps.dead_letters is None:
            return render(request, "dead_letters.html", await context(request), 503)
        return await act(request, deps.dead_letters, "discard")

    return [
        Route("/dead-letters", page, methods=["GET"]),
        Route("/dead-letters/live", live, methods=["GET"]),
        Route("/dead-letters/replay", replay, methods=["POST"]),
        Route("/dead-letters/discard", discard, methods=["POST"]),
    ]
