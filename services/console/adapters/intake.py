"""Intake's operator API, as the console reads and acts on it: employers waiting for approval,
recent decisions, and an operator's approval or rejection. Every refusal or fault becomes a
domain error with a message in both languages; nothing personal is logged."""

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from services.console.adapters.operator_api import Answer, OperatorApi, problem_message
from services.console.domain.bodies import Bilingual
from services.console.domain.employers import (
    AlreadyDecided,
    Contact,
    EmployerNotFound,
    EmployersError,
    EmployerStatus,
    IntakeRefused,
    IntakeUnavailable,
    InvalidDecision,
    ReviewedEmployer,
)

log = logging.getLogger(__name__)

UNAVAILABLE = Bilingual(
    en="Intake is not answering; try again shortly", zh="受理服务暂无响应，请稍后再试"
)
UNEXPECTED = Bilingual(
    en="Intake gave an answer the console does not understand",
    zh="受理服务返回了控制台无法识别的内容",
)
REFUSED = Bilingual(
    en="Intake refused the console's operator token; check CONSOLE_INTAKE_OPERATOR_TOKEN",
    zh="受理服务拒绝了控制台的操作员令牌，请检查 CONSOLE_INTAKE_OPERATOR_TOKEN",
)
NOT_FOUND = Bilingual(en="Intake knows no such employer", zh="受理服务中不存在该用人单位")


class _Contact(Answer):
    name: str | None
    email: str | None
    phone: str | None


class _Employer(Answer):
    id: UUID
    name: str
    credit_code: str
    status: EmployerStatus
    created_at: datetime
    email_verified_at: datetime | None
    contact: _Contact
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


class _Employers(Answer):
    items: list[_Employer]


class IntakeOperator(OperatorApi):
    """Intake's API port."""

    service = "intake"

    def unavailable(self, unexpected: bool = False) -> Exception:
        return IntakeUnavailable(UNEXPECTED if unexpected else UNAVAILABLE)

    async def employers(self, status: EmployerStatus, limit: int = 100) -> list[ReviewedEmployer]:
        params = {"status": status.value, "limit": limit}
        response = await self._call("GET", "/internal/v1/employers", params=params)
        return [_employer(e) for e in self._parse(_Employers, response).items]

    async def employer(self, employer_id: UUID) -> ReviewedEmployer:
        response = await self._call("GET", f"/internal/v1/employers/{employer_id}")
        return _employer(self._parse(_Employer, response))

    async def approve(self, employer_id: UUID, operator: str) -> ReviewedEmployer:
        path = f"/internal/v1/employers/{employer_id}/approve"
        response = await self._call("POST", path, json={"operator": operator})
        return _employer(self._parse(_Employer, response))

    async def reject(self, employer_id: UUID, operator: str, reason: str) -> ReviewedEmployer:
        path = f"/internal/v1/employers/{employer_id}/reject"
        response = await self._call("POST", path, json={"operator": operator, "reason": reason})
        return _employer(self._parse(_Employer, response))

    async def _call(self, method: str, path: str, **options: Any) -> httpx.Response:
        response = await self._send(method, path, **options)
        if response.is_success:
            return response
        raise _error_of(response)


def _error_of(response: httpx.Response) -> EmployersError:
    problem = _problem_message(response)
    status = response.status_code
    if status == 401:
        return IntakeRefused(REFUSED)
    if status == 404:
        return EmployerNotFound(NOT_FOUND)
    if status == 409 and problem is not None:
        return AlreadyDecided(problem)
    if status == 422 and problem is not None:
        return InvalidDecision(problem)
    log.warning("intake refused a call", extra={"status": status})
    return IntakeUnavailable(UNAVAILABLE if status >= 500 else UNEXPECTED)


def _problem_message(response: httpx.Response) -> Bilingual | None:
    """The problem's message, with its first field's detail if it names one."""
    message = problem_message(response)
    if message is None:
        return None
    try:
        for error in response.json().get("errors") or []:
            detail = error["message"]
            return Bilingual(en=f"{message.en}: {detail['en']}", zh=f"{message.zh}：{detail['zh']}")
        return message
    except (ValueError, KeyError, TypeError):
        return None


def _employer(employer: _Employer) -> ReviewedEmployer:
    return ReviewedEmployer(
        id=employer.id,
        name=employer.name,
        credit_code=employer.credit_code,
        status=employer.status,
        created_at=employer.created_at,
        email_verified_at=employer.email_verified_at,
        contact=Contact(employer.contact.name, employer.contact.email, employer.contact.phone),
        decided_at=employer.decided_at,
        decided_by=employer.decided_by,
        decision_reason=employer.decision_reason,
    )
