"""JSON-line logs carrying the request id, Prometheus metrics, and the ops HTTP endpoints."""

import asyncio
import contextvars
import logging
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

from log_rate_limit.log_rate_limit import StreamRateLimitFilter
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, generate_latest
from pythonjsonlogger.json import JsonFormatter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.runtime.lifecycle import HttpServer, http_server
from services.runtime.resilience import DATABASE_UNREACHABLE, Loops, describe

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)

EVENTS_PRODUCED = Counter("events_produced_total", "Events published to Kafka", ["topic"])
EVENTS_CONSUMED = Counter("events_consumed_total", "Events consumed from Kafka", ["topic"])
EVENTS_DEAD_LETTERED = Counter("events_dead_lettered_total", "Poison events parked", ["topic"])
ERRORS = Counter("errors_total", "Errors by kind", ["kind"])
CONSUMER_LAG = Gauge("consumer_lag", "Messages behind the log end", ["topic", "partition"])
OUTBOX_PENDING = Gauge("outbox_pending", "Outbox rows not yet published")


class _RequestIdFilter(logging.Filter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        request_id = request_id_var.get()
        if request_id and not hasattr(record, "request_id"):
            record.request_id = request_id
        return True


class _KafkaClientFloodFilter(logging.Filter):
    """While the broker is down aiokafka logs the same errors in a loop without pause (over a
    thousand lines a second): each distinct message passes once per period, with a count of
    what was skipped. Only the Kafka client's records; ours are never dropped."""

    def __init__(self, period_seconds: float = 10.0) -> None:
        super().__init__()
        self._limit = StreamRateLimitFilter(period_sec=period_seconds)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith("aiokafka"):
            return True
        return bool(self._limit.filter(record))


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(_RequestIdFilter(service))
    handler.addFilter(_KafkaClientFloodFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiokafka", "uvicorn.access", "httpx"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


HealthCheck = Callable[[], Awaitable[bool]]

# A dependency that takes longer than this to answer a health check counts as down.
_CHECK_SECONDS = 2.0


async def _metrics(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def ops_routes(checks: dict[str, HealthCheck], loops: Loops | None = None) -> list[Route]:
    """`/livez` (the process and its loops run; touches no dependency), `/readyz` (every
    dependency answers and no loop waits out an outage; `/healthz` is the same) and
    `/metrics`."""
    loops = loops or Loops()

    async def live(_: Request) -> JSONResponse:
        alive = not loops.any_stopped()
        return JSONResponse(
            {"status": "ok" if alive else "stopped", "loops": loops.states()},
            status_code=200 if alive else 503,
        )

    async def ready(_: Request) -> JSONResponse:
        results = {name: await _safe(check) for name, check in checks.items()}
        healthy = all(results.values()) and loops.all_running()
        return JSONResponse(
            {
                "status": "ok" if healthy else "degraded",
                "checks": results,
                "loops": loops.states(),
            },
            status_code=200 if healthy else 503,
        )

    return [
        Route("/livez", live),
        Route("/readyz", ready),
        Route("/healthz", ready),
        Route("/metrics", _metrics),
    ]


async def _safe(check: HealthCheck) -> bool:
    try:
        async with asyncio.timeout(_CHECK_SECONDS):
            return await check()
    except Exception:
        return False


def ops_app(checks: dict[str, HealthCheck], loops: Loops | None = None) -> Starlette:
    """A small app of the ops endpoints, for services that serve no other HTTP."""
    return Starlette(routes=ops_routes(checks, loops), exception_handlers=database_away_handlers())


# A database restart takes seconds; clients that honour this do not hammer it meanwhile.
RETRY_AFTER_SECONDS = 5


def database_away_handlers() -> dict[Any, Callable[[Request, Exception], Awaitable[Response]]]:
    """Starlette exception handlers: while PostgreSQL is unreachable an endpoint answers 503
    with Retry-After and a bilingual problem, not a bare 500."""
    return dict.fromkeys(DATABASE_UNREACHABLE, database_away)


async def database_away(request: Request, error: Exception) -> Response:
    logging.getLogger(__name__).warning(
        "request failed: database away", extra={"path": request.url.path, "error": describe(error)}
    )
    title_en = "The service is temporarily unavailable; try again shortly"
    title_zh = "服务暂时不可用，请稍后重试"
    body = {
        "type": "/problems/service-unavailable",
        "title": title_en,
        "status": 503,
        "detail": f"{title_en} / {title_zh}",
        "instance": request.url.path,
        "code": "service-unavailable",
        "message": {"zh": title_zh, "en": title_en},
    }
    return JSONResponse(
        body,
        status_code=503,
        media_type="application/problem+json",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def ops_server(
    host: str, port: int, checks: dict[str, HealthCheck], loops: Loops | None = None
) -> HttpServer:
    return http_server(ops_app(checks, loops), host, port)


def own_health_server(
    host: str, port: int | None, checks: dict[str, HealthCheck], loops: Loops | None = None
) -> list[HttpServer]:
    """The ops endpoints on a port of this process alone, when its service port is shared with
    replicas (SO_REUSEPORT) and a probe must reach this one; none without a port."""
    return [] if port is None else [ops_server(host, port, checks, loops)]


def error_site(error: BaseException) -> dict[str, str]:
    """Log fields of an unexpected error: its class and the line that raised it, never its
    text or a traceback with it, since the text may quote personal data it choked on."""
    frames = traceback.extract_tb(error.__traceback__)
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "unknown"
    return {"error": type(error).__name__, "at": place}
