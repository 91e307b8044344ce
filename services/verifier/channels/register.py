"""Public register channel: a professional body's HTML member search, found by surname and
membership number.

The result page is read strictly (layout "v1": a results table or a no-record notice); any
other page is reported as unreadable, never guessed at.
"""

import hashlib
from dataclasses import dataclass, field
from html.parser import HTMLParser

from services.contracts.events import VerificationRequested
from services.reference.channels import BodyChannel
from services.verifier.channels.credential_api import retry_after_of
from services.verifier.channels.errors import RateLimited, TransientChannelError
from services.verifier.channels.http_clients import BodyClients
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus

CHANNEL = "public_register"
KNOWN_LAYOUT = "v1"
_MEMBER_STATUS = {
    "current": BodyStatus.CONFIRMED,
    "lapsed": BodyStatus.EXPIRED,
    "removed": BodyStatus.REVOKED,
}
_CELLS = ("member-name", "member-number", "member-status", "member-admitted")


class UnreadablePage(ValueError):
    """The register answered with a page this adapter does not understand."""


@dataclass
class RegisterPage:
    layout: str | None = None
    no_record: bool = False
    has_results: bool = False
    members: list[dict[str, str]] = field(default_factory=list)


class _RegisterParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = RegisterPage()
        self._row: dict[str, str] | None = None
        self._cell: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "main" and self.page.layout is None:
            self.page.layout = attributes.get("data-register-layout")
        elif tag == "table" and "register-results" in classes:
            self.page.has_results = True
        elif tag == "p" and "register-no-record" in classes:
            self.page.no_record = True
        elif tag == "tr" and "register-member" in classes:
            self._row = {}
        elif tag == "td" and self._row is not None:
            self._cell = next((c for c in classes if c in _CELLS), None)

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.page.members.append(self._row)
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._cell is not None:
            self._row[self._cell] = self._row.get(self._cell, "") + data


def parse_register_page(html: str) -> RegisterPage:
    """Reads a v1 result page; raises UnreadablePage for anything else."""
    parser = _RegisterParser()
    parser.feed(html)
    parser.close()
    page = parser.page
    if page.layout != KNOWN_LAYOUT:
        raise UnreadablePage(f"unknown register layout {page.layout!r}")
    if page.has_results == page.no_record:
        raise UnreadablePage("neither a result table nor a no-record notice")
    for member in page.members:
        if set(member) != set(_CELLS):
            raise UnreadablePage("a result row lacks expected cells")
    if page.has_results and not page.members:
        raise UnreadablePage("an empty result table")
    return page


def surname_candidates(request: VerificationRequested) -> list[str]:
    """Which words of the holder's name to try as the surname: the one the employer gave, then
    the last word (Western order), then the first (Chinese and pinyin order)."""
    given = request.certificate.channel_fields.get("surname", "").strip()
    words = request.holder.name.split()
    ordered = [given, words[-1] if words else "", words[0] if words else "", *words[1:-1]]
    seen: list[str] = []
    for word in ordered:
        if word and word.casefold() not in {s.casefold() for s in seen}:
            seen.append(word)
    return seen


class PublicRegisterChannel:
    def __init__(self, clients: BodyClients) -> None:
        self._clients = clients

    async def query(
        self, body_id: str, channel: BodyChannel, request: VerificationRequested
    ) -> BodyAnswer:
        number = request.certificate.channel_fields.get(
            "membership_number", request.certificate.number
        )
        digests: list[str] = []
        try:
            for surname in surname_candidates(request):
                page = await self._search(body_id, channel, surname, number, digests)
                member = _member_with(page, number)
                if member is not None:
                    return _answer_for(body_id, member, digests)
        except UnreadablePage as error:
            return _answer(
                body_id, BodyStatus.UNREACHABLE, f"register page unreadable: {error}", digests
            )
        return _answer(
            body_id, BodyStatus.NOT_FOUND, "no member with this name and number", digests
        )

    async def _search(
        self,
        body_id: str,
        channel: BodyChannel,
        surname: str,
        number: str,
        digests: list[str],
    ) -> RegisterPage:
        response = await self._clients.send(
            body_id,
            channel,
            "POST",
            f"{channel.endpoint.rstrip('/')}/search",
            data={"surname": surname, "membership_number": number},
        )
        if response.status == 429:
            raise RateLimited(retry_after_of(response))
        if response.status >= 500:
            raise TransientChannelError(f"HTTP {response.status}")
        if response.status != 200:
            raise UnreadablePage(f"HTTP {response.status}")
        if len(response.content) > channel.max_response_bytes:
            raise UnreadablePage("page too large")
        digests.append(hashlib.sha256(response.content).hexdigest())
        return parse_register_page(response.text)


def _member_with(page: RegisterPage, number: str) -> dict[str, str] | None:
    wanted = number.strip().casefold()
    return next((m for m in page.members if m["member-number"].strip().casefold() == wanted), None)


def _answer_for(body_id: str, member: dict[str, str], digests: list[str]) -> BodyAnswer:
    status = _MEMBER_STATUS.get(member["member-status"].strip().casefold())
    if status is None:
        return _answer(body_id, BodyStatus.UNREACHABLE, "unknown membership status", digests)
    return BodyAnswer(
        body_id,
        CHANNEL,
        status,
        registered_name=member["member-name"].strip(),
        detail=f"membership status {member['member-status'].strip()}",
        asked="register search by surname and membership number",
        answer_digest=digests[-1],
    )


def _answer(body_id: str, status: BodyStatus, detail: str, digests: list[str]) -> BodyAnswer:
    return BodyAnswer(
        body_id,
        CHANNEL,
        status,
        detail=detail,
        asked="register search by surname and membership number",
        answer_digest=digests[-1] if digests else None,
    )
