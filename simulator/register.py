"""Channel 2: the public member register of professional bodies (HTML form and result page).

Result pages have a stable structure (layout "v1", documented in the README); the
`markup_changed` fault serves layout "v2" so an adapter must notice it no longer understands
the page rather than guess.
"""

from html import escape
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from simulator.bodies import display_name, require_body_id
from simulator.context import SimulatorContext
from simulator.faults import FaultDecision
from simulator.population import SimulatedCertificate, normalise_name, population_for
from simulator.responses import fault_status, retry_after_headers

CHANNEL = "register"
MAX_RESULTS = 20
MEMBERSHIP_STATUS = {"active": "Current", "expired": "Lapsed", "revoked": "Removed"}
_FAULT_MESSAGE = {
    "unavailable": "The register is temporarily unavailable. Please try again later.",
    "error": "An unexpected error occurred.",
    "throttled": "Too many searches. Please wait before searching again.",
}


def search_members(
    population: list[SimulatedCertificate], surname: str, membership_number: str
) -> list[SimulatedCertificate]:
    """Members whose family name matches `surname` (case/diacritic-insensitive) and, when a
    membership number is given, whose number matches too; a wrong surname hides a member."""
    wanted_surname = normalise_name(surname)
    wanted_number = membership_number.strip().upper()
    return [
        cert
        for cert in population
        if normalise_name(cert.family_name) == wanted_surname
        and (not wanted_number or cert.certificate_number == wanted_number)
    ][:MAX_RESULTS]


def read_search_form(body: bytes) -> tuple[str, str]:
    """(surname, membership_number) from an application/x-www-form-urlencoded body."""
    fields = parse_qs(body.decode("utf-8", errors="replace"))
    return fields.get("surname", [""])[0], fields.get("membership_number", [""])[0]


def render_form(body_id: str, message: str | None = None) -> str:
    notice = f'<p class="register-error">{escape(message)}</p>' if message else ""
    return _page(
        body_id,
        "v1",
        f"""{notice}
<form class="register-search" method="post" action="/register/{escape(body_id)}/search">
<label>Surname <input name="surname" required></label>
<label>Membership number <input name="membership_number"></label>
<button type="submit">Search</button>
</form>""",
    )


def render_results(body_id: str, members: list[SimulatedCertificate]) -> str:
    if not members:
        return _page(body_id, "v1", '<p class="register-no-record">No record found.</p>')
    rows = "\n".join(
        f'<tr class="register-member"><td class="member-name">{escape(m.holder_name)}</td>'
        f'<td class="member-number">{escape(m.certificate_number)}</td>'
        f'<td class="member-status">{MEMBERSHIP_STATUS[m.status]}</td>'
        f'<td class="member-admitted">{m.issued_on.isoformat()}</td></tr>'
        for m in members
    )
    return _page(
        body_id,
        "v1",
        f"""<table class="register-results">
<thead><tr><th>Name</th><th>Membership number</th><th>Status</th><th>Admitted</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>""",
    )


def render_results_changed_layout(body_id: str, members: list[SimulatedCertificate]) -> str:
    """The same facts in a redesigned page: cards, other class names, other wording."""
    if not members:
        return _page(body_id, "v2", '<div class="search-outcome">0 members match.</div>')
    cards = "\n".join(
        f'<div class="member-card"><h3>{escape(m.holder_name)}</h3><dl>'
        f"<dt>No.</dt><dd>{escape(m.certificate_number)}</dd>"
        f"<dt>Standing</dt><dd>{'In good standing' if m.status == 'active' else 'Not current'}"
        f"</dd><dt>Member since</dt><dd>{m.issued_on.strftime('%d %B %Y')}</dd></dl></div>"
        for m in members
    )
    return _page(body_id, "v2", f'<section class="member-cards">\n{cards}\n</section>')


def render_fault(body_id: str, decision: FaultDecision) -> str:
    return _page(body_id, "v1", f'<p class="register-error">{_FAULT_MESSAGE[decision.outcome]}</p>')


def _page(body_id: str, layout: str, content: str) -> str:
    title = escape(f"{display_name(body_id)} public register")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title></head>
<body><main class="register" data-register-layout="{layout}">
<h1>{title}</h1>
{content}
</main></body></html>
"""


def build_router(ctx: SimulatorContext) -> APIRouter:
    router = APIRouter(prefix="/register/{body_id}", tags=["register"])

    async def fault_or_none(body_id: str) -> tuple[HTMLResponse | None, FaultDecision]:
        decision = await ctx.admit(CHANNEL, body_id)
        if decision.outcome == "pass":
            return None, decision
        ctx.record(CHANNEL, body_id, decision.outcome)
        page = render_fault(body_id, decision)
        headers = retry_after_headers(decision)
        return HTMLResponse(page, status_code=fault_status(decision), headers=headers), decision

    @router.get("/search", response_class=HTMLResponse)
    async def search_form(body_id: str) -> HTMLResponse:
        require_body_id(body_id)
        failed, _ = await fault_or_none(body_id)
        if failed is not None:
            return failed
        ctx.record(CHANNEL, body_id, "form")
        return HTMLResponse(render_form(body_id))

    @router.post("/search", response_class=HTMLResponse)
    async def search(body_id: str, request: Request) -> HTMLResponse:
        require_body_id(body_id)
        failed, decision = await fault_or_none(body_id)
        if failed is not None:
            return failed
        surname, membership_number = read_search_form(await request.body())
        if not surname.strip():
            ctx.record(CHANNEL, body_id, "bad_request")
            return HTMLResponse(render_form(body_id, "Enter a surname."), status_code=400)
        population = population_for(ctx.settings.seed, body_id, ctx.settings.population_size)
        members = search_members(population, surname, membership_number)
        if decision.markup_changed:
            ctx.record(CHANNEL, body_id, "markup_changed")
            return HTMLResponse(render_results_changed_layout(body_id, members))
        ctx.record(CHANNEL, body_id, "ok" if members else "not_found")
        return HTMLResponse(render_results(body_id, members))

    return router
