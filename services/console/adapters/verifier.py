"""The verifier's operator API, as the console reads and acts on it: awarding-body health,
open enquiries, and an operator's answer to a parked enquiry. Every refusal or fault becomes a
domain error with a message in both languages; nothing personal is logged."""

import logging
from datetime import datetime
from typing import Any
from urllib.parse import quote
from uuid import UUID

import httpx

from services.console.adapters.operator_api import Answer, OperatorApi, problem_message
from services.console.domain.bodies import (
    AnswerTime,
    Bilingual,
    BodiesReport,
    BodyHealth,
    Breaker,
    BreakerState,
    EnquiryAnswer,
    EnquiryNotFound,
    InvalidAnswer,
    InvalidQuery,
    OpenEnquiries,
    OpenEnquiry,
    VerifierRefused,
    VerifierUnavailable,
)

log = logging.getLogger(__name__)

UNAVAILABLE = Bilingual(
    en="The verifier is not answering; try again shortly", zh="核验服务暂无响应，请稍后再试"
)
UNEXPECTED = Bilingual(
    en="The verifier gave an answer the console does not understand",
    zh="核验服务返回了控制台无法识别的内容",
)
REFUSED = Bilingual(
    en="The verifier refused the console's operator token; check CONSOLE_VERIFIER_OPERATOR_TOKEN",
    zh="核验服务拒绝了控制台的操作员令牌，请检查 CONSOLE_VERIFIER_OPERATOR_TOKEN",
)
NOT_FOUND = Bilingual(en="The verifier knows no such enquiry", zh="核验服务中不存在该查询")


class _Breaker(Answer):
    state: BreakerState
    since: datetime | None
    consecutive_failures: int
    failure_threshold: int
    open_seconds: float


class _Recent(Answer):
    attempts: int
    failed_attempts: int
    error_rate: float | None


class _AnswerTime(Answer):
    at: datetime
    seconds: float


class _AnswerTimes(Answer):
    count: int
    p50_seconds: float | None
    p90_seconds: float | None
    last: list[_AnswerTime]


class _Body(Answer):
    body_id: str
    name: str | None
    channel: str
    expected_answer_seconds: float
    deadline_seconds: float
    breaker: _Breaker
    recent: _Recent
    answer_times: _AnswerTimes
    open_enquiries: int
    overdue_enquiries: int
    next_due_at: datetime | None


class _Bodies(Answer):
    instance: str
    generated_at: datetime
    window_seconds: float
    bodies: list[_Body]


class _Enquiry(Answer):
    reference: str
    request_id: UUID
    body_id: str
    sent_at: datetime
    due_at: datetime


class _Enquiries(Answer):
    total: int
    items: list[_Enquiry]


class VerifierOps(OperatorApi):
    """The verifier's ops port."""

    service = "verifier"

    def unavailable(self, unexpected: bool = False) -> Exception:
        return VerifierUnavailable(UNEXPECTED if unexpected else UNAVAILABLE)

    async def bodies(self) -> BodiesReport:
        parsed = self._parse(_Bodies, await self._call("GET", "/v1/bodies"))
        return BodiesReport(
            parsed.instance,
            parsed.generated_at,
            parsed.window_seconds,
            tuple(_body(b) for b in parsed.bodies),
        )

    async def open_enquiries(
        self, body_id: str | None = None, limit: int = 100, reference: str | None = None
    ) -> OpenEnquiries:
        """The most urgent first; `body_id` or `reference` narrow it to one body or one."""
        params: dict[str, str | int] = {"state": "open", "limit": limit}
        if body_id is not None:
            params["body"] = body_id
        if reference is not None:
            params["reference"] = reference
        parsed = self._parse(_Enquiries, await self._call("GET", "/v1/enquiries", params=params))
        items = tuple(
            OpenEnquiry(e.reference, e.request_id, e.body_id, e.sent_at, e.due_at)
            for e in parsed.items
        )
        return OpenEnquiries(parsed.total, items)

    async def answer(self, reference: str, answer: EnquiryAnswer) -> None:
        """Enter a body's answer, as an operator who telephoned it; the request resumes."""
        body: dict[str, Any] = {"status": answer.status.value}
        if answer.registered_name is not None:
            body["registered_name"] = answer.registered_name
        path = f"/v1/enquiries/{quote(reference, safe='')}/operator-answer"
        await self._call("POST", path, json=body, of_enquiry=True)

    async def _call(
        self, method: str, path: str, *, of_enquiry: bool = False, **options: Any
    ) -> httpx.Response:
        response = await self._send(method, path, **options)
        if response.is_success:
            return response
        raise _error_of(response, of_enquiry)


def _error_of(response: httpx.Response, of_enquiry: bool) -> Exception:
    """404 means no such enquiry only when one was named; on a read, the URL is wrong."""
    problem = problem_message(response)
    if response.status_code == 401:
        return VerifierRefused(REFUSED)
    if response.status_code == 404 and of_enquiry:
        return EnquiryNotFound(problem or NOT_FOUND)
    if response.status_code in (400, 413, 422) and problem is not None:
        return InvalidAnswer(problem) if of_enquiry else InvalidQuery(problem)
    if response.status_code < 500:
        log.warning("verifier refused a call", extra={"status": response.status_code})
        return VerifierUnavailable(UNEXPECTED)
    log.warning("verifier answered an error", extra={"status": response.status_code})
    return VerifierUnavailable(UNAVAILABLE)


def _body(body: _Body) -> BodyHealth:
    return BodyHealth(
        body_id=body.body_id,
        name=body.name,
        channel=body.channel,
        expected_answer_seconds=body.expected_answer_seconds,
        deadline_seconds=body.deadline_seconds,
        breaker=Breaker(
            body.breaker.state,
            body.breaker.since,
            body.breaker.consecutive_failures,
            body.breaker.failure_threshold,
            body.breaker.open_seconds,
        ),
        attempts=body.recent.attempts,
        failed_attempts=body.recent.failed_attempts,
        error_rate=body.recent.error_rate,
        answers_kept=body.answer_times.count,
        p50_seconds=body.answer_times.p50_seconds,
        p90_seconds=body.answer_times.p90_seconds,
        last_answers=tuple(AnswerTime(a.at, a.seconds) for a in body.answer_times.last),
        open_enquiries=body.open_enquiries,
        overdue_enquiries=body.overdue_enquiries,
        next_due_at=body.next_due_at,
    )
