"""Employer routes for notifications: secret rotation, e-mail recipients, and the deliveries
(webhooks and e-mails) with their replay.

Delivery state belongs to the notifier; these routes ask its internal API on behalf of the
employer intake authenticated, so employers never reach the notifier directly.
"""

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from uuid import UUID

import httpx
from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from services.intake.api.auth import employer_dependency
from services.intake.api.openapi import documented_problems
from services.intake.api.problems import PROBLEM_JSON
from services.intake.api.schemas import WebhookOut, WebhooksIn, WebhooksOut
from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode
from services.intake.settings import IntakeSettings
from services.runtime.egress import EgressPolicy, EgressRefused
from services.runtime.email_address import MAX_LENGTH as MAX_EMAIL_LENGTH
from services.runtime.email_address import normalised_email

if TYPE_CHECKING:  # routes imports this module
    from services.intake.api.routes import IntakeContext


def NotifierLink() -> IntakeSettings:
    """Where intake finds the notifier's internal API: the INTAKE_NOTIFIER_* settings."""
    return IntakeSettings()


# The notifier's delivery ids (`msg_` and 128 bits in hex) and its cursors (PostgreSQL bigint).
DELIVERY_ID_PATTERN = r"^msg_[0-9a-f]{32}$"
MAX_SEQ = 2**63 - 1


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl


class RotationOut(BaseModel):
    url: str
    secret: str
    note: dict[str, str] = Field(
        default_factory=lambda: {
            "zh": "旧密钥在宽限期（默认 24 小时）内仍同时签名，请尽快换用新密钥。",
            "en": "The previous secret keeps signing alongside the new one for a grace period "
            "(24 hours by default); switch to the new secret.",
        }
    )


# The notifier applies the same rule, so the two always agree on what an address is.
EmailAddress = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, examples=["hr@example.cn"]),
    AfterValidator(normalised_email),
]


class EmailsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    addresses: list[EmailAddress] = Field(max_length=5)


class EmailsOut(BaseModel):
    addresses: list[str]


class DeliveryOut(BaseModel):
    id: str = Field(description="The `webhook-id` (and e-mail Message-ID) of every attempt")
    request_id: UUID
    channel: Literal["webhook", "email"]
    destination: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime
    replayed_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_before: int | None = Field(description="Pass as `before` for the next page")


_NO_ENDPOINT = Refusal(RefusalCode.NOT_FOUND, "未找到该 Webhook 端点", "No such webhook endpoint")
_NO_DELIVERY = Refusal(RefusalCode.NOT_FOUND, "未找到该投递记录", "No such delivery")


def webhook_router(
    context: "IntakeContext",
    link: IntakeSettings | None = None,
    egress: EgressPolicy | None = None,
) -> APIRouter:
    link = link or IntakeSettings()  # the INTAKE_NOTIFIER_* settings
    egress = egress or EgressPolicy.from_env()
    router = APIRouter(prefix="/v1/webhooks", tags=["notifications"])
    # Intake's own pool: settings changes are stored with their event in intake's schema.
    settings_store = context.store.webhook_settings
    notifier = _NotifierClient(link)
    employer = employer_dependency(context.store)

    Employer = Annotated[UUID, Depends(employer)]
    problem = {"content": {PROBLEM_JSON: {}}, "description": "Problem details (RFC 9457)"}

    @router.put(
        "",
        response_model=WebhooksOut,
        tags=["webhooks"],
        summary="Set the webhook endpoints; each gets a signing secret",
        description="Each URL must be https and reach a public address: loopback, link-local, "
        "private and unique-local addresses and cloud metadata hosts are refused "
        "(`/problems/forbidden-webhook-url`), and every delivery checks the address again.",
        responses=documented_problems(401, 422),
    )
    async def configure_webhooks(body: WebhooksIn, employer_id: Employer) -> WebhooksOut:
        urls = [str(u) for u in body.urls]
        await _refuse_forbidden(urls, egress, [link.notifier_internal_url])
        endpoints = await settings_store.set_webhooks(employer_id, urls)
        return WebhooksOut(endpoints=[WebhookOut(url=e.url, secret=e.secret) for e in endpoints])

    @router.get(
        "",
        response_model=WebhooksOut,
        tags=["webhooks"],
        summary="The webhook endpoints with their current signing secrets",
        description="Secrets are stored encrypted and shown only to their employer. After a "
        "rotation (including the one that replaced secrets which had travelled unencrypted) "
        "this returns the new secret; the previous one keeps signing for the grace period.",
        responses=documented_problems(401),
    )
    async def list_webhooks(employer_id: Employer) -> WebhooksOut:
        endpoints = await settings_store.secrets_of(employer_id)
        return WebhooksOut(endpoints=[WebhookOut(url=e.url, secret=e.secret) for e in endpoints])

    @router.post("/secrets/rotate", response_model=RotationOut, responses={404: problem})
    async def rotate_secret(body: RotationIn, employer_id: Employer) -> RotationOut:
        rotated = await settings_store.rotate_secret(employer_id, str(body.url))
        if rotated is None:
            raise _NO_ENDPOINT
        return RotationOut(url=rotated.url, secret=rotated.secret)

    @router.put("/emails", response_model=EmailsOut)
    async def set_emails(body: EmailsIn, employer_id: Employer) -> EmailsOut:
        return EmailsOut(addresses=await settings_store.set_emails(employer_id, body.addresses))

    @router.get("/deliveries", response_model=DeliveryPage, responses={503: problem})
    async def deliveries(
        employer_id: Employer,
        status: Literal["pending", "delivered", "failed"] | None = None,
        request_id: UUID | None = None,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        before: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    ) -> Any:
        params: dict[str, str] = {"limit": str(limit)}
        for name, value in (("status", status), ("request_id", request_id), ("before", before)):
            if value is not None:
                params[name] = str(value)
        response = await notifier.call("GET", f"/{employer_id}/deliveries", params)
        if response is None:
            return _notifier_unavailable("/v1/webhooks/deliveries")
        return response.json()

    @router.post(
        "/deliveries/{delivery_id}/replay",
        status_code=202,
        response_model=DeliveryOut,
        responses={404: problem, 503: problem},
    )
    async def replay(
        delivery_id: Annotated[str, Path(pattern=DELIVERY_ID_PATTERN)], employer_id: Employer
    ) -> Any:
        path = f"/{employer_id}/deliveries/{delivery_id}/replay"
        response = await notifier.call("POST", path, {})
        if response is None:
            return _notifier_unavailable(f"/v1/webhooks/deliveries/{delivery_id}/replay")
        if response.status_code == 404:
            raise _NO_DELIVERY
        return response.json()

    return router


async def _refuse_forbidden(urls: list[str], egress: EgressPolicy, own: list[str]) -> None:
    problems = []
    for index, url in enumerate(urls):
        try:
            await egress.check_url(url, never=own)
        except EgressRefused as refused:
            problems.append(FieldProblem(f"/urls/{index}", refused.message_zh, refused.message_en))
    if problems:
        raise Refusal(
            RefusalCode.FORBIDDEN_WEBHOOK_URL,
            "不允许的 Webhook 地址",
            "Webhook URL not allowed",
            problems,
        )


class _NotifierClient:
    def __init__(self, link: IntakeSettings) -> None:
        self._base = link.notifier_internal_url.rstrip("/") + "/internal/v1/employers"
        self._headers = {
            "Authorization": f"Bearer {link.notifier_internal_token.get_secret_value()}"
        }
        self._timeout = link.notifier_timeout_seconds
        self._client: httpx.AsyncClient | None = None

    async def call(self, method: str, path: str, params: dict[str, str]) -> httpx.Response | None:
        """The notifier's answer (2xx or 404), or None when it cannot answer now."""
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        try:
            response = await self._client.request(
                method, self._base + path, params=params, headers=self._headers
            )
        except httpx.HTTPError:
            return None
        if response.is_success or response.status_code == 404:
            return response
        return None


def _notifier_unavailable(instance: str) -> JSONResponse:
    body = {
        "type": "/problems/notifications-unavailable",
        "title": "Delivery records are temporarily unavailable",
        "status": 503,
        "detail": "The notification service did not answer; try again shortly.",
        "instance": instance,
        "code": "notifications-unavailable",
        "message": {
            "zh": "投递记录暂时无法查询，请稍后重试",
            "en": "Delivery records are temporarily unavailable; try again shortly",
        },
        "errors": [],
    }
    return JSONResponse(
        body, status_code=503, media_type=PROBLEM_JSON, headers={"Retry-After": "5"}
    )
