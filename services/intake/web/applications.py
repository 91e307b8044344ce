"""One application online (catalogue typeahead, channel fields, dry run), the list with live
status, and each one's history."""

import re
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

from starlette.datastructures import ImmutableMultiDict
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.intake.api.schemas import PRINTABLE_ASCII
from services.intake.domain.errors import Refusal, RefusalCode
from services.intake.domain.lifecycle import IN_FLIGHT, Status
from services.intake.store.repository import RequestFilter
from services.intake.usecases.following import (
    ApplicationsPage,
    Followed,
    browse_applications,
    decode_cursor,
    follow_application,
)
from services.intake.usecases.submitting import (
    check_application,
    read_application,
    submit_application,
)
from services.intake.web.application_form import (
    ApplicationForm,
    FormErrors,
    choose,
    form_errors,
    form_field_names,
)
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, require_applicant, user_of
from services.reference.catalogue.model import (
    Catalogue,
    Qualification,
    UnknownQualificationError,
    catalogue_today,
)
from services.reference.catalogue.search import SearchQuery, search

SEARCH_LIMIT = 10
PAGE_SIZE = 25
# The list and a request's page refresh themselves this often while anything is in flight.
POLL_SECONDS = 3
REGIONS = ("beijing", "tianjin", "hebei")
_TEXT_FILTER = {"qualification_id": 64, "certificate_number": 100}


def routes(deps: WebDeps) -> list[BaseRoute]:
    apply = _ApplyPages(deps)
    follow = _FollowPages(deps)
    return [
        Route("/apply", apply.page, methods=["GET"]),
        Route("/apply", apply.post, methods=["POST"]),
        Route("/apply/search", apply.matches),
        Route("/apply/chosen", apply.chosen),
        Route("/applications", follow.list_page),
        Route("/applications/rows", follow.rows),
        Route("/applications/{request_id:uuid}", follow.detail),
        Route("/applications/{request_id:uuid}/live", follow.detail_live),
    ]


# ------------------------------------------------------------------ applying


class _ApplyPages:
    def __init__(self, deps: WebDeps) -> None:
        self._deps = deps

    async def page(self, request: Request) -> Response:
        require_applicant(request)
        form = ApplicationForm.read(request.query_params)
        return self._form_page(request, form, query=request.query_params.get("q", ""))

    async def matches(self, request: Request) -> Response:
        require_applicant(request)
        query = request.query_params.get("q", "")
        return render(request, "applications_matches.html", self._matches(query))

    async def chosen(self, request: Request) -> Response:
        require_applicant(request)
        form = ApplicationForm.read(request.query_params)
        return render(request, "applications_chosen.html", self._chosen(form))

    async def post(self, request: Request) -> Response:
        user = require_applicant(request)
        posted = await request.form()
        form = ApplicationForm.read(posted)
        chosen = choose(self._deps.catalogue, self._deps.channels, form)
        action = posted.get("action")
        if action not in ("check", "submit"):  # "fields": show the chosen bodies' fields
            return self._form_page(request, form)
        try:
            body = read_application(form.application(chosen))
            if action == "check":
                dry_run = await check_application(
                    self._deps.store, self._deps.applying, user.employer_id, body
                )
                wait = _duration(dry_run.expected_completion_at - datetime.now(UTC))
                return self._form_page(request, form, dry_run=dry_run, wait=wait)
            submission = await submit_application(
                self._deps.store,
                self._deps.applying,
                user.employer_id,
                body,
                form.idempotency_key,
                request.headers.get("traceparent"),
            )
        except Refusal as refusal:
            if refusal.code is RefusalCode.IDEMPOTENCY_KEY_REUSED:
                # This form was submitted before with other details: offer it as a new one.
                fresh = replace(form, idempotency_key=ApplicationForm().idempotency_key)
                return self._form_page(request, fresh, errors=_RESUBMIT, status_code=409)
            errors = form_errors(refusal, form_field_names(chosen))
            return self._form_page(request, form, errors=errors, status_code=422)
        record = submission.record
        context = {
            "record": record,
            "created": submission.created,
            "qualification": _qualification(self._deps.catalogue.current, record.qualification_id),
            "wait": _duration(record.expected_completion_at - record.accepted_at),
        }
        return render(request, "applications_submitted.html", context)

    def _form_page(
        self,
        request: Request,
        form: ApplicationForm,
        *,
        query: str = "",
        status_code: int = 200,
        **outcome: Any,
    ) -> Response:
        context = {
            "form": form,
            "errors": None,
            "dry_run": None,
            "regions": REGIONS,
            "body_names": {b.id: b.name for b in self._deps.catalogue.edition.bodies},
            **self._matches(query),
            **self._chosen(form),
            **outcome,
        }
        return render(request, "applications_apply.html", context, status_code=status_code)

    def _matches(self, query: str) -> dict[str, Any]:
        if not query.strip():
            return {"q": query, "matches": None, "total": 0}
        page = search(
            self._deps.catalogue.current,
            SearchQuery(text=query[:200], active_on=catalogue_today()),
            limit=SEARCH_LIMIT,
        )
        return {"q": query, "matches": page.items, "total": page.total}

    def _chosen(self, form: ApplicationForm) -> dict[str, Any]:
        return {"form": form, "chosen": choose(self._deps.catalogue, self._deps.channels, form)}


_RESUBMIT = FormErrors(
    title=(
        "This form was already submitted with other details",
        "此表单已以其他内容提交过",
    ),
    by_field={},
    general=[
        (
            "Nothing was stored this time. Check the details below and submit again to apply "
            "for this one as well.",
            "本次未保存任何内容。请核对下方内容，再次提交即可另行申请。",
        )
    ],
)


def _qualification(catalogue: Catalogue, qualification_id: str) -> Qualification | None:
    try:
        return catalogue.qualification(qualification_id)
    except UnknownQualificationError:
        return None


def _duration(span: timedelta) -> tuple[str, str]:
    """About how long, in words of both languages."""
    seconds = max(0, round(span.total_seconds()))
    for unit, en, zh in ((86_400, "days", "天"), (3_600, "hours", "小时"), (60, "minutes", "分钟")):
        if seconds >= 2 * unit:
            count = round(seconds / unit)
            return f"about {count} {en}", f"约 {count} {zh}"
    return f"about {seconds} seconds", f"约 {seconds} 秒"


# ------------------------------------------------------------------ following


class _FollowPages:
    def __init__(self, deps: WebDeps) -> None:
        self._deps = deps

    async def list_page(self, request: Request) -> Response:
        return render(request, "applications_list.html", await self._listing(request))

    async def rows(self, request: Request) -> Response:
        return render(request, "applications_rows.html", await self._listing(request))

    async def detail(self, request: Request) -> Response:
        return render(request, "applications_detail.html", await self._one(request))

    async def detail_live(self, request: Request) -> Response:
        return render(request, "applications_facts.html", await self._one(request))

    async def _one(self, request: Request) -> dict[str, Any]:
        user = user_of(request)
        request_id: UUID = request.path_params["request_id"]
        try:
            followed = await follow_application(
                self._deps.store, self._deps.applying, user.employer_id, request_id
            )
        except Refusal:
            raise HTTPException(404) from None
        record = followed.record
        code = record.verification_code
        check_url = f"{self._deps.settings.public_check_url}?{urlencode({'code': code})}"
        return {
            "item": followed,
            "record": record,
            "qualification": _qualification(self._deps.catalogue.current, record.qualification_id),
            "body_names": {b.id: b.name for b in self._deps.catalogue.edition.bodies},
            "check_url": check_url if code else None,
            "checks": [_check_row(check) for check in record.checks or ()],
            "history": [_change(change) for change in record.history or ()],
            "live": record.status in IN_FLIGHT,
            "poll_seconds": POLL_SECONDS,
        }

    async def _listing(self, request: Request) -> dict[str, Any]:
        user = user_of(request)
        params = request.query_params
        where, errors = _filters(params)
        cursor = params.get("cursor") or None
        page = ApplicationsPage([], None, None)
        if not errors:
            try:
                after = decode_cursor(cursor) if cursor else None
                page = await browse_applications(
                    self._deps.store, self._deps.applying, user.employer_id, where, PAGE_SIZE, after
                )
            except Refusal:
                errors["cursor"] = ("The page link is out of date", "分页链接已失效")
        shown = {k: v for k in _FILTER_NAMES if (v := params.get(k, ""))}
        return {
            "page": page,
            "filters": shown,
            "errors": errors,
            "query": urlencode({**shown, **({"cursor": cursor} if cursor else {})}),
            "next_query": urlencode({**shown, "cursor": page.next_cursor})
            if page.next_cursor
            else None,
            "first_query": urlencode(shown) if cursor else None,
            "live": any(f.record.status in IN_FLIGHT for f in page.items),
            "poll_seconds": POLL_SECONDS,
            "qualification_names": _names(self._deps.catalogue.current, page.items),
            "statuses": list(Status),
            "qualifications": self._deps.catalogue.edition.qualifications,
            "regions": REGIONS,
        }


_FILTER_NAMES = (
    "status",
    "qualification_id",
    "region",
    "certificate_number",
    "accepted_from",
    "accepted_to",
)


def _filters(
    params: ImmutableMultiDict[str, str],
) -> tuple[RequestFilter, dict[str, tuple[str, str]]]:
    """The API's filters from the list's form; a date "to" includes its whole day (UTC)."""
    errors: dict[str, tuple[str, str]] = {}
    status = params.get("status") or None
    if status is not None and status not in {s.value for s in Status}:
        errors["status"] = ("No such status", "无此状态")
    region = params.get("region") or None
    if region is not None and region not in REGIONS:
        errors["region"] = ("No such region", "无此地区")
    texts = {}
    for name, longest in _TEXT_FILTER.items():
        value = params.get(name, "").strip() or None
        if value is not None and (len(value) > longest or not _printable(value)):
            errors[name] = (
                f"At most {longest} characters, without spaces",
                f"最多 {longest} 个字符，不含空格",
            )
        texts[name] = value
    start = _day(params, "accepted_from", errors)
    end = _day(params, "accepted_to", errors)
    where = RequestFilter(
        status=Status(status) if status and "status" not in errors else None,
        qualification_id=texts["qualification_id"],
        region=region,
        certificate_number=texts["certificate_number"],
        accepted_from=start,
        accepted_to=end + timedelta(days=1) if end else None,
    )
    return where, errors


def _day(
    params: ImmutableMultiDict[str, str], name: str, errors: dict[str, tuple[str, str]]
) -> datetime | None:
    value = params.get(name, "").strip()
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        errors[name] = ("A date such as 2025-06-01", "日期格式如 2025-06-01")
        return None


def _printable(value: str) -> bool:
    return re.fullmatch(PRINTABLE_ASCII, value) is not None


def _names(catalogue: Catalogue, items: list[Followed]) -> dict[str, Qualification]:
    ids = {f.record.qualification_id for f in items}
    return {i: q for i in ids if (q := _qualification(catalogue, i)) is not None}


# ------------------------------------------------------------------ a verdict's checks, in words

_CHECK_NAMES = {
    "record": ("The body's record", "颁发机构记录"),
    "name": ("Holder's name", "持证人姓名"),
}
_OUTCOMES = {
    "passed": ("Passed", "通过"),
    "failed": ("Failed", "未通过"),
    "could_not_check": ("Could not be checked", "无法核查"),
}
_CHANNELS_ZH = {
    "credential_api": "证书查询接口",
    "public_register": "公开名录",
    "signed_credential": "电子证书签名",
    "async_enquiry": "书面函询",
}
# The verifier's reasons (services/verifier/domain/verdicts.py, names.py) in Chinese.
_REASONS_ZH = {
    "awaiting the body's answer": "等待颁发机构答复",
    "body returned no name": "颁发机构未返回姓名",
    "unreachable": "无法联系颁发机构",
    "same name up to case, diacritics and word order": "姓名一致（不计大小写、变音符号与词序）",
    "same letters, split into words differently": "字母相同，但分词不同",
    "one name has words the other lacks": "一方姓名比另一方多出若干词",
    "the registered name differs": "登记姓名与申请姓名不同",
    "a name is empty": "姓名为空",
    "not_found": "颁发机构未查到该证书",
    "revoked": "颁发机构已撤销该证书",
    "expired": "证书已过期",
    "signature_invalid": "电子证书签名无效",
}


def _change(change: dict[str, Any]) -> dict[str, Any]:
    return {**change, "at": datetime.fromisoformat(change["at"])}


def _check_row(check: dict[str, Any]) -> dict[str, Any]:
    """One check of a verdict (body, check, outcome, reason), each in both languages."""
    reason = str(check.get("reason", ""))
    name = str(check.get("check", ""))
    outcome = str(check.get("outcome", ""))
    return {
        "body_id": check.get("body_id", ""),
        "check": _CHECK_NAMES.get(name, (name, name)),
        "outcome": _OUTCOMES.get(outcome, (outcome, outcome)),
        "outcome_value": outcome,
        "reason": (reason, _reason_zh(reason)),
    }


def _reason_zh(reason: str) -> str:
    if reason in _REASONS_ZH:
        return _REASONS_ZH[reason]
    if reason.startswith("confirmed via "):
        channel = reason.removeprefix("confirmed via ")
        return f"经{_CHANNELS_ZH.get(channel, channel)}确认"
    status, _, detail = reason.partition(": ")
    if status in _REASONS_ZH and detail:
        return f"{_REASONS_ZH[status]}：{detail}"
    return f"（英文原文）{reason}" if reason else ""
