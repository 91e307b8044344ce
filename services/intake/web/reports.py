"""The verification report of an authentic result: a bilingual PDF with a QR code and the signed
statement, for any user of the employer that applied."""

from uuid import UUID

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from services.intake.domain.errors import Refusal
from services.intake.domain.report import ReportUnavailable
from services.intake.usecases.reporting import make_report
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, user_of

AUDIT_ACTION = "report-downloaded"


def routes(deps: WebDeps) -> list[BaseRoute]:
    async def report(request: Request) -> Response:
        user = user_of(request)
        request_id = _request_id(request.path_params["request_id"])

        async def audit(outcome: str) -> None:
            await deps.accounts.audit(
                AUDIT_ACTION,
                outcome,
                employer_id=user.employer_id,
                user_id=user.user_id,
                target=str(request_id),
            )

        try:
            made = await make_report(
                deps.store,
                deps.catalogue,
                deps.reports,
                employer_id=user.employer_id,
                employer_name=user.employer_name,
                request_id=request_id,
                public_check_url=deps.settings.public_check_url,
            )
        except Refusal:  # none of this employer's requests
            await audit("not-found")
            raise HTTPException(404) from None
        except ReportUnavailable as why:
            await audit("unavailable")
            context = {"request_id": request_id, "why": why}
            return render(request, "reports_unavailable.html", context, status_code=409)
        await audit("ok")
        return Response(
            made.content,
            media_type="application/pdf",
            headers={
                "Content-Disposition": f'attachment; filename="{made.filename}"',
                "Cache-Control": "private, no-store",
            },
        )

    return [Route("/applications/{request_id}/report.pdf", report, methods=["GET"])]


def _request_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise HTTPException(404) from None
