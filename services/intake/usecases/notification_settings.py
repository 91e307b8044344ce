"""Notification settings of an employer: webhook endpoints (refused when they would reach the
platform itself or private, loopback or metadata addresses), their signing secrets and
rotation, and the addresses notifications are e-mailed to.

The API (`PUT /v1/webhooks`, `POST /v1/webhooks/secrets/rotate`, `PUT /v1/webhooks/emails`)
and the employer pages call the same `NotificationSettings`.
"""

from collections.abc import Sequence
from uuid import UUID

from pydantic import HttpUrl, TypeAdapter, ValidationError

from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode
from services.intake.store.webhook_settings import EndpointSecret, WebhookSettingsStore
from services.runtime.egress import EgressPolicy, EgressRefused
from services.runtime.email_address import InvalidEmailAddress, normalised_email

MAX_ENDPOINTS = 5
MAX_EMAILS = 5
ROTATION_NOTE = {
    "zh": "旧密钥在宽限期（默认 24 小时）内仍同时签名，请尽快换用新密钥。",
    "en": "The previous secret keeps signing alongside the new one for a grace period "
    "(24 hours by default); switch to the new secret.",
}
NO_ENDPOINT = Refusal(RefusalCode.NOT_FOUND, "未找到该 Webhook 端点", "No such webhook endpoint")
_HTTP_URL = TypeAdapter(HttpUrl)


class NotificationSettings:
    def __init__(
        self, store: WebhookSettingsStore, egress: EgressPolicy, own_services: Sequence[str] = ()
    ) -> None:
        self._store = store
        self._egress = egress
        # Base URLs of the platform's own services: never a webhook, whatever the allow-list.
        self._own_services = own_services

    async def endpoints(self, employer_id: UUID) -> list[EndpointSecret]:
        """The employer's endpoints with their current signing secrets, for the employer."""
        return await self._store.secrets_of(employer_id)

    async def set_webhooks(self, employer_id: UUID, urls: list[str]) -> list[EndpointSecret]:
        """Replace the endpoints; a new one gets a secret, a kept one keeps its own. Refuses
        the whole list with one problem per bad URL (`/urls/<index>`)."""
        normalised, problems = [], []
        for index, url in enumerate(urls):
            checked = await self._checked_url(index, url)
            if isinstance(checked, FieldProblem):
                problems.append(checked)
            else:
                normalised.append(checked)
        if problems:
            raise Refusal(
                RefusalCode.FORBIDDEN_WEBHOOK_URL,
                "不允许的 Webhook 地址",
                "Webhook URL not allowed",
                problems,
            )
        return await self._store.set_webhooks(employer_id, normalised)

    async def rotate_secret(self, employer_id: UUID, url: str) -> EndpointSecret:
        """A new secret for one endpoint; the previous one keeps signing for the grace period
        (the notifier keeps it)."""
        rotated = await self._store.rotate_secret(employer_id, url)
        if rotated is None:
            raise NO_ENDPOINT
        return rotated

    async def set_emails(self, employer_id: UUID, addresses: list[str]) -> list[str]:
        """Replace the addresses notifications are e-mailed to (empty: none), normalised."""
        checked, problems = [], []
        for index, address in enumerate(addresses):
            try:
                checked.append(normalised_email(address))
            except InvalidEmailAddress:
                problems.append(
                    FieldProblem(
                        f"/addresses/{index}",
                        "不是有效的电子邮件地址",
                        "This is not a valid e-mail address",
                    )
                )
        if problems:
            raise Refusal(
                RefusalCode.INVALID_FIELD, "电子邮件地址无效", "Invalid e-mail address", problems
            )
        if len(checked) > MAX_EMAILS:
            raise _too_many("/addresses", MAX_EMAILS)
        return await self._store.set_emails(employer_id, checked)

    async def _checked_url(self, index: int, url: str) -> str | FieldProblem:
        """The URL as the API's schema writes it (`https://example.com/`), or why not."""
        pointer = f"/urls/{index}"
        if index >= MAX_ENDPOINTS:
            return FieldProblem(
                pointer,
                f"最多 {MAX_ENDPOINTS} 个 Webhook 端点",
                f"At most {MAX_ENDPOINTS} webhook endpoints",
            )
        try:
            normalised = str(_HTTP_URL.validate_python(url))
        except ValidationError:
            return FieldProblem(
                pointer,
                "不是有效的网址（如 https://example.com/hook）",
                "This is not a valid URL (such as https://example.com/hook)",
            )
        try:
            await self._egress.check_url(normalised, never=self._own_services)
        except EgressRefused as refused:
            return FieldProblem(pointer, refused.message_zh, refused.message_en)
        return normalised


def _too_many(pointer: str, limit: int) -> Refusal:
    return Refusal(
        RefusalCode.INVALID_FIELD,
        f"最多 {limit} 项",
        f"At most {limit} entries",
        [FieldProblem(pointer, f"最多 {limit} 项", f"At most {limit} entries")],
    )
