"""An operator approves or rejects an employer that signed up and confirmed its e-mail.

Only a pending employer is decided, once: the decision (who, when, why) is stored and, in the
same transaction, each of its admins is told by e-mail (approved: where to sign in; rejected:
the operator's reason). The console (through intake's operator API) and the admin CLI both
come here.
"""

from dataclasses import dataclass
from uuid import UUID

from services.contracts.events import AccountMail, LocalizedText
from services.intake.domain.accounts import EmployerStatus
from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode, not_found
from services.intake.store.account_mail import request_mail
from services.intake.store.employer_review import EmployerReviewStore, EmployerUnderReview
from services.runtime.secret_box import SecretBox

MAX_REASON = 1000
MAX_OPERATOR = 100
REVIEWABLE = (
    EmployerStatus.PENDING,
    EmployerStatus.ACTIVE,
    EmployerStatus.REJECTED,
    EmployerStatus.UNVERIFIED,
)


def no_such_employer() -> Refusal:
    return not_found("未找到该用人单位", "No such employer")


def not_pending(status: EmployerStatus) -> Refusal:
    if status is EmployerStatus.UNVERIFIED:
        return Refusal(
            RefusalCode.EMPLOYER_NOT_PENDING,
            "该单位尚未验证联系人邮箱，暂不能审核",
            "The employer has not confirmed its contact's e-mail yet; it cannot be decided",
        )
    zh = "已批准" if status is EmployerStatus.ACTIVE else "已拒绝"
    return Refusal(
        RefusalCode.EMPLOYER_NOT_PENDING,
        f"该单位已审核（{zh}），不能再次审核",
        f"The employer has already been decided ({status.value}); it cannot be decided again",
    )


def _invalid(pointer: str, zh: str, en: str) -> Refusal:
    return Refusal(
        RefusalCode.INVALID_FIELD,
        "请求数据不完整或格式错误",
        "The request is incomplete or malformed",
        [FieldProblem(pointer, zh, en)],
    )


def checked_operator(operator: str) -> str:
    name = operator.strip()
    if not name or len(name) > MAX_OPERATOR:
        raise _invalid(
            "/operator",
            f"请填写操作员用户名（不超过 {MAX_OPERATOR} 个字符）",
            f"give the operator's user name (at most {MAX_OPERATOR} characters)",
        )
    return name


def checked_reason(reason: str) -> str:
    text = reason.strip()
    if not text:
        raise _invalid("/reason", "拒绝时必须说明理由", "a rejection needs a reason")
    if len(text) > MAX_REASON:
        raise _invalid(
            "/reason",
            f"理由不能超过 {MAX_REASON} 个字符",
            f"the reason must be at most {MAX_REASON} characters",
        )
    return text


@dataclass(frozen=True)
class Approving:
    store: EmployerReviewStore
    mail_box: SecretBox
    sign_in_url: str  # where an approved employer signs in (the approval mail links to it)

    async def listed(self, status: EmployerStatus, limit: int = 50) -> list[EmployerUnderReview]:
        return await self.store.by_status(status, limit)

    async def employer(self, employer_id: UUID) -> EmployerUnderReview:
        found = await self.store.one(employer_id)
        if found is None:
            raise no_such_employer()
        return found

    async def employer_with_credit_code(self, credit_code: str) -> UUID:
        found = await self.store.id_of(credit_code.strip().upper())
        if found is None:
            raise no_such_employer()
        return found

    async def approve(self, employer_id: UUID, operator: str) -> EmployerUnderReview:
        return await self._decide(employer_id, EmployerStatus.ACTIVE, operator, None)

    async def reject(self, employer_id: UUID, operator: str, reason: str) -> EmployerUnderReview:
        return await self._decide(
            employer_id, EmployerStatus.REJECTED, operator, checked_reason(reason)
        )

    async def _decide(
        self, employer_id: UUID, status: EmployerStatus, operator: str, reason: str | None
    ) -> EmployerUnderReview:
        by = checked_operator(operator)
        async with self.store.pool.acquire() as conn, conn.transaction():
            locked = await self.store.lock(conn, employer_id)
            if locked is None:
                raise no_such_employer()
            if locked.status is not EmployerStatus.PENDING:
                raise not_pending(locked.status)
            await self.store.decide(conn, employer_id, status, by, reason)
            for address in await self.store.admin_addresses(conn, employer_id):
                await request_mail(
                    conn,
                    self.mail_box,
                    employer_id=employer_id,
                    kind=(
                        AccountMail.EMPLOYER_APPROVED
                        if status is EmployerStatus.ACTIVE
                        else AccountMail.EMPLOYER_REJECTED
                    ),
                    organisation=locked.name,
                    recipient=address,
                    link=self.sign_in_url if status is EmployerStatus.ACTIVE else None,
                    note=None if reason is None else LocalizedText(zh=reason, en=reason),
                )
        return await self.employer(employer_id)
