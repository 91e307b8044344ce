"""Intake's operator API: the console lists employers waiting for approval and approves or
rejects them. Bearer `INTAKE_OPERATOR_TOKEN`; kept out of the public OpenAPI document, as no
employer calls it."""

import hmac
from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field

from services.intake.domain.accounts import EmployerStatus
from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.store.employer_review import EmployerUnderReview
from services.intake.usecases.approving import Approving

_BEARER = HTTPBearer(auto_error=False)


class Contact(BaseModel):
    name: str | None
    email: str | None
    phone: str | None


class EmployerOut(BaseModel):
    id: UUID
    name: str
    credit_code: str
    status: EmployerStatus
    created_at: datetime
    email_verified_at: datetime | None
    contact: Contact
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None


class EmployerList(BaseModel):
    items: list[EmployerOut]


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    operator: str = Field(max_length=200)


class RejectIn(ApproveIn):
    reason: str = Field(max_length=5000)


def _out(employer: EmployerUnderReview) -> EmployerOut:
    return EmployerOut(
        id=employer.id,
        name=employer.name,
        credit_code=employer.credit_code,
        status=employer.status,
        created_at=employer.created_at,
        email_verified_at=employer.email_verified_at,
        contact=Contact(
            name=employer.contact_name,
            email=employer.contact_email,
            phone=employer.contact_phone,
        ),
        decided_at=employer.decided_at,
        decided_by=employer.decided_by,
        decision_reason=employer.decision_reason,
    )


def refused_operator() -> Refusal:
    return Refusal(
        RefusalCode.UNAUTHENTICATED, "缺少或无效的操作员令牌", "Missing or invalid operator token"
    )


def operator_router(approving: Approving, operator_token: str) -> APIRouter:
    async def operator(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER)],
    ) -> None:
        given = b"" if credentials is None else credentials.credentials.encode()
        # An unset token opens nothing.
        if not operator_token or not hmac.compare_digest(given, operator_token.encode()):
            raise refused_operator()

    router = APIRouter(
        prefix="/internal/v1/employers",
        include_in_schema=False,
        dependencies=[Depends(operator)],
    )

    @router.get("")
    async def list_employers(
        status: Literal["pending", "active", "rejected", "unverified"] = "pending",
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
    ) -> EmployerList:
        listed = await approving.listed(EmployerStatus(status), limit)
        return EmployerList(items=[_out(e) for e in listed])

    @router.get("/{employer_id}")
    async def one_employer(employer_id: UUID) -> EmployerOut:
        return _out(await approving.employer(employer_id))

    @router.post("/{employer_id}/approve")
    async def approve(employer_id: UUID, body: ApproveIn) -> EmployerOut:
        return _out(await approving.approve(employer_id, body.operator))

    @router.post("/{employer_id}/reject")
    async def reject(employer_id: UUID, body: RejectIn) -> EmployerOut:
        return _out(await approving.reject(employer_id, body.operator, body.reason))

    return router
