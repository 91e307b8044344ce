"""Many applications from one CSV file, with the per-row result as the API gives it."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.intake.api.batch_input import EXAMPLE_CSV
from services.intake.domain.errors import Refusal
from services.intake.usecases.submitting_batch import check_batch, submit_batch
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, require_applicant
from services.runtime.web import CSRF_FAILED_TEXT

CSV_MEDIA_TYPE = "text/csv"
# A file of the most rows a batch may hold is far smaller; anything larger is refused unread.
MAX_FILE_BYTES = 8 * 1024 * 1024
Message = tuple[str, str]  # English, Chinese

# The columns, as the README's "Many people at once" lists them: name, required, meaning.
COLUMNS: list[tuple[str, bool, Message]] = [
    ("qualification_id", True, ("Catalogue id, e.g. aws-e94e5145", "目录编号，如 aws-e94e5145")),
    ("region", True, ("beijing, tianjin or hebei", "beijing、tianjin 或 hebei")),
    ("holder_name", True, ("Name exactly as on the certificate", "与证书一致的姓名")),
    ("nationality", True, ("ISO 3166-1 alpha-3, e.g. CHN", "ISO 3166-1 三位字母代码，如 CHN")),
    ("document_type", True, ("resident_id, passport or other", "resident_id、passport 或 other")),
    ("document_number", True, ("The identity document's number", "身份证件号码")),
    ("certificate_number", True, ("As printed on the certificate", "证书编号")),
    ("issued_on", True, ("Date of issue, YYYY-MM-DD", "发证日期，格式 YYYY-MM-DD")),
    ("consent", True, ("true: the holder consents", "true：持证人同意核验")),
    (
        "body_ids",
        False,
        ("Bodies to ask, separated by spaces or ;", "要核实的颁发机构，以空格或 ; 分隔"),
    ),
    ("holder_name_zh", False, ("Chinese name", "中文姓名")),
    ("expires_on", False, ("Expiry date, YYYY-MM-DD", "有效期至，格式 YYYY-MM-DD")),
    (
        "channel.<field>",
        False,
        (
            "A field a body's channel needs, e.g. channel.credential_jwt",
            "颁发机构核验渠道需要的字段，如 channel.credential_jwt",
        ),
    ),
]


@dataclass(frozen=True)
class RowResult:
    """One row's outcome for the page: the API's result, with times as times."""

    row: int
    result: str  # accepted / already_in_flight / refused / ok (dry run)
    request_id: str | None
    expected_completion_at: datetime | None
    body_ids: list[str]
    problem: dict[str, Any] | None


def routes(deps: WebDeps) -> list[BaseRoute]:
    upload = _UploadPages(deps)
    return [
        Route("/upload", upload.page, methods=["GET"]),
        Route("/upload", upload.post, methods=["POST"]),
        Route("/upload/template.csv", upload.template),
    ]


class _UploadPages:
    def __init__(self, deps: WebDeps) -> None:
        self._deps = deps

    async def page(self, request: Request) -> Response:
        require_applicant(request)
        return self._page(request)

    async def template(self, request: Request) -> Response:
        require_applicant(request)
        return Response(
            EXAMPLE_CSV.encode(),
            media_type=f"{CSV_MEDIA_TYPE}; charset=utf-8",
            headers={"content-disposition": 'attachment; filename="applications-template.csv"'},
        )

    async def post(self, request: Request) -> Response:
        user = require_applicant(request)
        async with request.form(max_files=1, max_fields=10) as form:
            if not _same_csrf_token(request, form.get("csrftoken")):
                return Response(CSRF_FAILED_TEXT, status_code=403, media_type="text/plain")
            action = form.get("action")
            key = str(form.get("idempotency_key") or "")[:200] or None
            upload = form.get("file")
            raw = await _content(upload)
        if raw is None:
            refusal = (
                "Choose a CSV file (UTF-8, a header row, at most 8 MB)",
                "请选择 CSV 文件（UTF-8 编码、含表头行、不超过 8 MB）",
            )
            return self._page(request, choose=refusal, status_code=422)
        max_rows = self._deps.settings.max_batch_rows
        try:
            if action == "submit":
                answer = await submit_batch(
                    self._deps.store,
                    self._deps.applying,
                    user.employer_id,
                    CSV_MEDIA_TYPE,
                    raw,
                    max_rows,
                    request.url.path,
                    key,
                    request.headers.get("traceparent"),
                )
            else:
                checked = await check_batch(
                    self._deps.applying,
                    user.employer_id,
                    CSV_MEDIA_TYPE,
                    raw,
                    max_rows,
                    request.url.path,
                )
                answer = checked.model_dump(mode="json")
        except Refusal as refusal:
            return self._page(request, refusal=refusal, status_code=422)
        return self._page(
            request,
            submitted=action == "submit",
            answer=answer,
            rows=[_row(r) for r in answer["results"]],
        )

    def _page(self, request: Request, status_code: int = 200, **outcome: Any) -> Response:
        context = {
            "columns": COLUMNS,
            "max_rows": self._deps.settings.max_batch_rows,
            # Each showing of the form submits under a key of its own: sent twice, one batch.
            "idempotency_key": "web-batch-" + secrets.token_urlsafe(18),
            "refusal": None,
            "choose": None,
            "answer": None,
            **outcome,
        }
        return render(request, "batches_upload.html", context, status_code=status_code)


def _same_csrf_token(request: Request, submitted: object) -> bool:
    """asgi-csrf's check, made here for a multipart form (services/intake/web/app.py says why):
    the form's token must be the one in the signed CSRF cookie."""
    expected = request.scope.get("csrftoken")
    if not callable(expected) or not isinstance(submitted, str) or not submitted:
        return False
    return secrets.compare_digest(submitted.encode(), str(expected()).encode())


async def _content(upload: object) -> bytes | None:
    """The uploaded file's bytes; None when no file was chosen, it is empty or too large."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    raw = await upload.read(MAX_FILE_BYTES + 1)
    return raw if 0 < len(raw) <= MAX_FILE_BYTES else None


def _row(result: dict[str, Any]) -> RowResult:
    verification = result.get("verification") or {}
    expected = verification.get("expected_completion_at") or result.get("expected_completion_at")
    kind = result.get("result") or ("ok" if result.get("ok") else "refused")
    return RowResult(
        row=result["row"],
        result=kind,
        request_id=verification.get("id"),
        expected_completion_at=datetime.fromisoformat(expected) if expected else None,
        body_ids=verification.get("body_ids") or result.get("body_ids") or [],
        problem=result.get("problem"),
    )
