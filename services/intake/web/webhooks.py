"""Webhook and e-mail notification settings, the delivery log and replay (admins only).

The same use cases as the API's `/v1/webhooks` routes: `NotificationSettings` (endpoints,
secrets, e-mail recipients, stored by intake) and `Deliveries` (intake's projection of the
notifier's delivery log; a replay is asked of the notifier through intake's outbox).
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.intake.domain.accounts import WebUser
from services.intake.domain.errors import FieldProblem, Refusal
from services.intake.usecases.deliveries import (
    DELIVERY_ID_PATTERN,
    MAX_SEQ,
    Deliveries,
    DeliveryStatus,
)
from services.intake.usecases.notification_settings import (
    MAX_EMAILS,
    MAX_ENDPOINTS,
    ROTATION_NOTE,
    NotificationSettings,
)
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, require_admin
from services.runtime.egress import EgressPolicy

PAGE_SIZE = 20
STATUSES: dict[str, DeliveryStatus] = {
    "pending": "pending",
    "delivered": "delivered",
    "failed": "failed",
}


@dataclass
class _View:
    """What the page shows besides the stored settings: what was typed, why it was refused,
    a secret asked for, a notice."""

    urls: list[str] | None = None
    url_problems: dict[int, FieldProblem] = field(default_factory=dict)
    emails: list[str] | None = None
    email_problems: dict[int, FieldProblem] = field(default_factory=dict)
    revealed: dict[str, str] = field(default_factory=dict)
    rotated: str | None = None
    notice: tuple[str, str] | None = None  # (en, zh)


def routes(deps: WebDeps) -> list[BaseRoute]:
    settings = NotificationSettings(
        deps.store.webhook_settings, EgressPolicy.from_env(), deps.settings.own_service_urls
    )
    deliveries = Deliveries(deps.store.deliveries, deps.store.webhook_settings)

    async def page(request: Request, view: _View | None = None, status: int = 200) -> Response:
        user = require_admin(request)
        view = view or _View()
        endpoints = await settings.endpoints(user.employer_id)
        stored_urls = [e.url for e in endpoints]
        recipients = await deliveries.email_recipients(user.employer_id)
        log, filters = await _delivery_log(deliveries, user, request)
        notice = view.notice or _notice_of(request)
        context = {
            "endpoints": stored_urls,
            "url_fields": _fields(
                view.urls if view.urls is not None else stored_urls, MAX_ENDPOINTS
            ),
            "url_problems": view.url_problems,
            "email_fields": _fields(
                view.emails if view.emails is not None else recipients, MAX_EMAILS
            ),
            "email_problems": view.email_problems,
            "recipients": recipients,
            "revealed": view.revealed,
            "rotated": view.rotated,
            "rotation_note": ROTATION_NOTE,
            "notice": notice,
            "max_endpoints": MAX_ENDPOINTS,
            "max_emails": MAX_EMAILS,
            "statuses": STATUSES,
            **log,
            "filters": filters,
        }
        return render(request, "webhooks_page.html", context, status_code=status)

    async def show(request: Request) -> Response:
        return await page(request)

    async def save_endpoints(request: Request) -> Response:
        user = require_admin(request)
        urls = _filled(await request.form(), "url")
        return await _set_endpoints(request, user, urls, "saved-endpoints")

    async def remove_endpoint(request: Request) -> Response:
        user = require_admin(request)
        removed = str((await request.form()).get("url", ""))
        kept = [e.url for e in await settings.endpoints(user.employer_id) if e.url != removed]
        return await _set_endpoints(request, user, kept, "removed-endpoint")

    async def _set_endpoints(
        request: Request, user: WebUser, urls: list[str], done: str
    ) -> Response:
        try:
            await settings.set_webhooks(user.employer_id, urls)
        except Refusal as refusal:
            await _audit(deps, user, "webhooks.endpoints.set", "refused")
            view = _View(urls=urls, url_problems=_by_index(refusal.problems))
            return await page(request, view, status=422)
        await _audit(deps, user, "webhooks.endpoints.set", "ok", f"{len(urls)} endpoints")
        return _back(done)

    async def reveal_secret(request: Request) -> Response:
        user = require_admin(request)
        url = str((await request.form()).get("url", ""))
        known = {e.url: e.secret for e in await settings.endpoints(user.employer_id)}
        if url not in known:
            return await page(request, _View(notice=_NO_ENDPOINT), status=404)
        await _audit(deps, user, "webhooks.secret.revealed", "ok", url)
        return await page(request, _View(revealed={url: known[url]}))

    async def rotate_secret(request: Request) -> Response:
        user = require_admin(request)
        url = str((await request.form()).get("url", ""))
        try:
            rotated = await settings.rotate_secret(user.employer_id, url)
        except Refusal:
            await _audit(deps, user, "webhooks.secret.rotated", "refused", url)
            return await page(request, _View(notice=_NO_ENDPOINT), status=404)
        await _audit(deps, user, "webhooks.secret.rotated", "ok", url)
        view = _View(revealed={rotated.url: rotated.secret}, rotated=rotated.url)
        return await page(request, view)

    async def save_emails(request: Request) -> Response:
        user = require_admin(request)
        addresses = _filled(await request.form(), "address")
        try:
            saved = await settings.set_emails(user.employer_id, addresses)
        except Refusal as refusal:
            await _audit(deps, user, "webhooks.emails.set", "refused")
            view = _View(emails=addresses, email_problems=_by_index(refusal.problems))
            return await page(request, view, status=422)
        # The count only: an address is personal data.
        await _audit(deps, user, "webhooks.emails.set", "ok", f"{len(saved)} addresses")
        return _back("saved-emails")

    async def replay(request: Request) -> Response:
        user = require_admin(request)
        delivery_id = request.path_params["delivery_id"]
        if not re.fullmatch(DELIVERY_ID_PATTERN, delivery_id):
            return await page(request, _View(notice=_NO_DELIVERY), status=404)
        try:
            replayed = await deliveries.replay(user.employer_id, delivery_id)
        except Refusal:
            await _audit(deps, user, "webhooks.delivery.replayed", "refused", delivery_id)
            return await page(request, _View(notice=_NO_DELIVERY), status=404)
        await _audit(deps, user, "webhooks.delivery.replayed", "ok", replayed.id)
        return _back("replayed", delivery=replayed.id, anchor="deliveries")

    return [
        Route("/webhooks", show, methods=["GET"]),
        Route("/webhooks/endpoints", save_endpoints, methods=["POST"]),
        Route("/webhooks/endpoints/remove", remove_endpoint, methods=["POST"]),
        Route("/webhooks/secret", reveal_secret, methods=["POST"]),
        Route("/webhooks/secret/rotate", rotate_secret, methods=["POST"]),
        Route("/webhooks/emails", save_emails, methods=["POST"]),
        Route("/webhooks/deliveries/{delivery_id:str}/replay", replay, methods=["POST"]),
    ]


_NO_ENDPOINT = ("No such webhook endpoint.", "未找到该 Webhook 端点。")
_NO_DELIVERY = ("No such delivery.", "未找到该投递记录。")
_NOTICES: Mapping[str, tuple[str, str]] = {
    "saved-endpoints": ("Webhook endpoints saved.", "Webhook 端点已保存。"),
    "removed-endpoint": ("The endpoint was removed.", "该端点已删除。"),
    "saved-emails": (
        "E-mail recipients saved; the notification service applies them within seconds.",
        "通知邮箱已保存，通知服务将在几秒内生效。",
    ),
    "replayed": (
        "The delivery is queued to be sent again, with the same id.",
        "该投递已重新排队发送（投递编号不变）。",
    ),
}


def _notice_of(request: Request) -> tuple[str, str] | None:
    return _NOTICES.get(request.query_params.get("done", ""))


def _back(done: str, anchor: str = "", **extra: str) -> Response:
    query = urlencode({"done": done, **extra})
    return RedirectResponse(f"/webhooks?{query}" + (f"#{anchor}" if anchor else ""), 303)


def _fields(values: list[str], limit: int) -> list[str]:
    """The values, and one blank field to add another while under the limit."""
    return [*values, ""] if len(values) < limit else values


def _filled(form: FormData, name: str) -> list[str]:
    """The non-empty values of the form's fields called `name`, in order."""
    values = (value.strip() for value in form.getlist(name) if isinstance(value, str))
    return [value for value in values if value]


def _by_index(problems: list[FieldProblem]) -> dict[int, FieldProblem]:
    """Problems keyed by the index their pointer names (`/urls/2` -> 2)."""
    found = {}
    for problem in problems:
        last = problem.pointer.rsplit("/", 1)[-1]
        found[int(last) if last.isdigit() else 0] = problem
    return found


async def _delivery_log(
    deliveries: Deliveries, user: WebUser, request: Request
) -> tuple[dict[str, Any], dict[str, str]]:
    """The page of the log the filters ask for, or why there is none."""
    params = request.query_params
    status = params.get("status", "")
    request_text = params.get("request", "").strip()
    before_text = params.get("before", "")
    filters = {"status": status if status in STATUSES else "", "request": request_text}
    status_filter = STATUSES.get(status)
    request_id = _uuid(request_text)
    if request_text and request_id is None:
        return {"log": None, "log_problem": "request"}, filters
    before = int(before_text) if before_text.isdigit() else None
    if before is not None and not 1 <= before <= MAX_SEQ:
        before = None
    found = await deliveries.page(
        user.employer_id,
        status=status_filter,
        request_id=request_id,
        limit=PAGE_SIZE,
        before=before,
    )
    chosen = {name: value for name, value in filters.items() if value}
    older = urlencode({**chosen, "before": found.next_before}) if found.next_before else None
    log = {
        "log": found,
        "log_problem": None,
        "older": older,
        "paged": before is not None,
        "newest": urlencode(chosen),
    }
    return log, filters


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


async def _audit(
    deps: WebDeps, user: WebUser, action: str, outcome: str, target: str | None = None
) -> None:
    await deps.accounts.audit(
        action, outcome, employer_id=user.employer_id, user_id=user.user_id, target=target
    )
