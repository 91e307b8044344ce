"""Employer routes for notifications: secret rotation, e-mail recipients, and the deliveries
(webhooks and e-mails) with their replay.

Delivery state belongs to the notifier; these routes read intake's projection of the
notifier's delivery updates and ask for a replay through intake's outbox
(`services/intake/usecases/deliveries.py`), so employers never reach the notifier directly.
"""

from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl

from services.intake.api.auth import employer_dependency
from services.intake.api.openapi import documented_problems
from services.intake.api.problems import PROBLEM_JSON
from services.intake.api.schemas import WebhookOut, WebhooksIn, WebhooksOut
from services.intake.usecases.deliveries import (
    DELIVERY_ID_PATTERN,
    MAX_PAGE,
    MAX_SEQ,
    Deliveries,
    Delivery,
    DeliveryPage,
    DeliveryStatus,
)
from services.intake.usecases.notification_settings import (
    MAX_EMAILS,
    ROTATION_NOTE,
    NotificationSettings,
)
from services.runtime.egress import EgressPolicy
from services.runtime.email_address import MAX_LENGTH as MAX_EMAIL_LENGTH
from services.runtime.email_address import normalised_email

if TYPE_CHECKING:  # routes imports this module
    from services.intake.api.routes import IntakeContext


class RotationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: HttpUrl


class RotationOut(BaseModel):
    url: str
    secret: str
    note: dict[str, str] = Field(default_factory=lambda: dict(ROTATION_NOTE))


# The notifier applies the same rule, so the two always agree on what an address is.
EmailAddress = Annotated[
    str,
    Field(max_length=MAX_EMAIL_LENGTH, examples=["hr@example.cn"]),
    AfterValidator(normalised_email),
]


class EmailsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    addresses: list[EmailAddress] = Field(max_length=MAX_EMAILS)


class EmailsOut(BaseModel):
    addresses: list[str]


def webhook_router(context: "IntakeContext", egress: EgressPolicy | None = None) -> APIRouter:
    egress = egress or EgressPolicy.from_env()
    router = APIRouter(prefix="/v1/webhooks", tags=["notifications"])
    # Intake's own pool: settings changes are stored with their event in intake's schema.
    notification_settings = NotificationSettings(
        context.store.webhook_settings, egress, context.own_service_urls
    )
    deliveries_of = Deliveries(context.store.deliveries, context.store.webhook_settings)
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
        endpoints = await notification_settings.set_webhooks(employer_id, urls)
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
        endpoints = await notification_settings.endpoints(employer_id)
        return WebhooksOut(endpoints=[WebhookOut(url=e.url, secret=e.secret) for e in endpoints])

    @router.post("/secrets/rotate", response_model=RotationOut, responses={404: problem})
    async def rotate_secret(body: RotationIn, employer_id: Employer) -> RotationOut:
        rotated = await notification_settings.rotate_secret(employer_id, str(body.url))
        return RotationOut(url=rotated.url, secret=rotated.secret)

    @router.put("/emails", response_model=EmailsOut)
    async def set_emails(body: EmailsIn, employer_id: Employer) -> EmailsOut:
        addresses = await notification_settings.set_emails(employer_id, body.addresses)
        return EmailsOut(addresses=addresses)

    @router.get("/deliveries", response_model=DeliveryPage)
    async def deliveries(
        employer_id: Employer,
        status: DeliveryStatus | None = None,
        request_id: UUID | None = None,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
        before: Annotated[int | None, Query(ge=1, le=MAX_SEQ)] = None,
    ) -> Any:
        return await deliveries_of.page(
            employer_id, status=status, request_id=request_id, limit=limit, before=before
        )

    @router.post(
        "/deliveries/{delivery_id}/replay",
        status_code=202,
        response_model=Delivery,
        summary="Send a finished delivery again, with the same id",
        description="Answers the delivery as intake knows it now; the notifier sends it again "
        "shortly (one still pending is left as it is) and its new state follows in the list.",
        responses={404: problem},
    )
    async def replay(
        delivery_id: Annotated[str, Path(pattern=DELIVERY_ID_PATTERN)], employer_id: Employer
    ) -> Any:
        return await deliveries_of.replay(employer_id, delivery_id)

    return router
