"""`POST /v1/verifications`, intake's hot path, answered without FastAPI's per-request
machinery (routing, dependency solving, response re-validation): about a third of intake's CPU
per accepted request.

The lane answers only what it is sure of: an accepted or in-flight request (202 or 200) and a
refusal of intake's own (problem details, as the route answers it). Everything else, such as
no or an unknown API key, a query string, a body that does not parse or validate, an unexpected
error, goes on to the full application with the body as read, which answers as it always did.
The route stays declared there, so the OpenAPI document is unchanged.
"""

from collections.abc import Awaitable, Callable
from uuid import UUID

import orjson
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.intake.api.problems import refusal_handler
from services.intake.api.schemas import VerificationIn
from services.intake.api.verifications import out
from services.intake.applying import Applying
from services.intake.domain.errors import Refusal
from services.intake.store.repository import IntakeStore
from services.intake.usecases.following import with_current_expectation
from services.intake.usecases.submitting import submit_application

PATH = "/v1/verifications"
MAX_IDEMPOTENCY_KEY = 255  # as the route's Header(max_length=255)
EmployerOf = Callable[[str], Awaitable[UUID | None]]
Answer = Callable[[UUID, VerificationIn, str | None, str | None], Awaitable[Response]]


class ApplyLane:
    """Outermost of intake's own middlewares: `app` is the rest of the application."""

    def __init__(self, app: ASGIApp, *, employer_of: EmployerOf, answer: Answer) -> None:
        self._app = app
        self._employer_of = employer_of
        self._answer = answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_plain_apply(scope):
            await self._app(scope, receive, send)
            return
        body = await _read_body(receive)
        response = await self._answered(scope, body)
        if response is None:
            await self._app(scope, _replaying(body, receive), send)
        else:
            await response(scope, receive, send)

    async def _answered(self, scope: Scope, body: bytes) -> Response | None:
        headers = _single_headers(scope)
        if headers is None or headers.get(b"content-type") != b"application/json":
            return None
        scheme, _, api_key = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
        idempotency_key = _text(headers.get(b"idempotency-key"))
        if scheme.lower() != "bearer" or not api_key or _too_long(idempotency_key):
            return None
        try:
            application = VerificationIn.model_validate(orjson.loads(body))
        except (orjson.JSONDecodeError, ValidationError):
            return None  # the route names what is wrong, in its own words
        traceparent = _text(headers.get(b"traceparent"))
        try:
            employer_id = await self._employer_of(api_key)
            if employer_id is None:
                return None
            return await self._answer(employer_id, application, idempotency_key, traceparent)
        except Refusal as refusal:
            return await refusal_handler(Request(scope), refusal)
        except Exception:  # the full application answers it, as it always has
            return None


def apply_answer(store: IntakeStore, applying: Applying) -> Answer:
    """What the route answers an accepted application: the request, 202 if it was created and
    200 if the identical one in flight (or the idempotency key's original) is returned."""

    async def answer(
        employer_id: UUID,
        application: VerificationIn,
        idempotency_key: str | None,
        traceparent: str | None,
    ) -> Response:
        submission = await submit_application(
            store, applying, employer_id, application, idempotency_key, traceparent
        )
        followed = await with_current_expectation(applying, submission.record)
        answered = out(followed.record, followed.expected_completion_at)
        return Response(
            answered.model_dump_json(),
            status_code=202 if submission.created else 200,
            media_type="application/json",
            headers={"Location": f"{PATH}/{submission.record.id}"},
        )

    return answer


def _is_plain_apply(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == PATH
        and not scope.get("query_string")
    )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break  # the client went away: the application sees an empty body
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` for the full application: the body already read, then what follows."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _single_headers(scope: Scope) -> dict[bytes, bytes] | None:
    """The headers by lower-case name; None when one the lane reads is repeated."""
    headers: dict[bytes, bytes] = {}
    for name, value in scope["headers"]:
        if name in headers and name in _READ:
            return None
        headers[name] = value
    return headers


_READ = {b"content-type", b"authorization", b"idempotency-key", b"traceparent"}


def _text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("latin-1")


def _too_long(value: str | None) -> bool:
    return value is not None and len(value) > MAX_IDEMPOTENCY_KEY
