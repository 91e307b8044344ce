"""Public routes to search and browse the catalogue (no credentials needed)."""

from collections import Counter
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from services.intake.api.openapi import documented_problems
from services.intake.api.schemas import (
    BenefitOut,
    BodyOut,
    BodyPage,
    ListDetailOut,
    ListMembershipOut,
    QualificationDetail,
    QualificationPage,
    QualificationSummary,
    WithdrawalOut,
)
from services.intake.catalogue import EditionCatalogue
from services.intake.domain.errors import invalid_cursor, not_found
from services.reference.catalogue.model import (
    AwardingBody,
    ListId,
    Qualification,
    QualificationList,
    UnknownQualificationError,
    Withdrawal,
    catalogue_today,
)
from services.reference.catalogue.search import (
    MAX_LIMIT,
    InvalidCursorError,
    SearchQuery,
    search,
)


def catalogue_routes(catalogue: EditionCatalogue) -> APIRouter:
    router = APIRouter(prefix="/v1/catalogue", tags=["catalogue"])
    edition = catalogue.edition  # what withdrawals never change: lists, bodies, names
    counts = Counter(b for q in edition.qualifications for b in q.body_ids)

    def body_out(body: AwardingBody) -> BodyOut:
        return BodyOut(
            id=body.id,
            name=body.name,
            aliases=list(body.aliases),
            country=body.country,
            qualification_count=counts[body.id],
        )

    def memberships(qualification: Qualification) -> list[ListMembershipOut]:
        return [
            ListMembershipOut(
                list=m.list.value,
                name_zh=edition.qualification_list(m.list).name_zh,
                name_en=edition.qualification_list(m.list).name_en,
                seq=m.seq,
            )
            for m in qualification.memberships
        ]

    def summary(qualification: Qualification, today: date) -> QualificationSummary:
        withdrawal = qualification.withdrawal
        return QualificationSummary(
            id=qualification.id,
            name=qualification.name,
            name_en=qualification.name_en,
            body_ids=list(qualification.body_ids),
            country=qualification.country,
            fields=list(qualification.fields),
            lists=memberships(qualification),
            withdrawn=withdrawal is not None and withdrawal.in_effect_on(today),
            withdrawn_on=withdrawal.date if withdrawal else None,
        )

    @router.get(
        "/qualifications",
        response_model=QualificationPage,
        summary="Search qualifications (filters combine with AND; catalogue order)",
        responses=documented_problems(400, 422),
    )
    async def qualifications(
        q: Annotated[
            str | None,
            Query(
                description="Words of the name (Chinese or English), an abbreviation such as "
                "CFA, or an awarding body's name; all words must occur, in any order",
                max_length=200,
            ),
        ] = None,
        body: Annotated[
            str | None, Query(description="Awarding body id, or part of its name", max_length=200)
        ] = None,
        field: Annotated[str | None, Query(description="A field, e.g. 金融", max_length=50)] = None,
        list: Annotated[ListId | None, Query(description="One of the four lists")] = None,
        active_only: Annotated[
            bool, Query(description="Leave out qualifications withdrawn as of today")
        ] = False,
        limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
    ) -> QualificationPage:
        today = catalogue_today()
        query = SearchQuery(
            text=q, body=body, field=field, list_id=list, active_on=today if active_only else None
        )
        try:
            page = search(catalogue.current, query, limit=limit, cursor=cursor)
        except InvalidCursorError:
            raise invalid_cursor() from None
        return QualificationPage(
            items=[summary(item, today) for item in page.items],
            total=page.total,
            next_cursor=page.next_cursor,
        )

    @router.get(
        "/qualifications/{qualification_id}",
        response_model=QualificationDetail,
        summary="One qualification: its bodies, lists and their benefits, notes, withdrawal",
        responses=documented_problems(404),
    )
    async def qualification(qualification_id: str) -> QualificationDetail:
        try:
            found = edition.qualification(qualification_id)
        except UnknownQualificationError:
            raise not_found(
                "目录中无此职业资格", "No such qualification in the catalogue"
            ) from None
        withdrawal = catalogue.withdrawal_of(found)
        return QualificationDetail(
            id=found.id,
            name=found.name,
            name_en=found.name_en,
            country=found.country,
            fields=[*found.fields],
            notes=found.notes,
            bodies=[body_out(b) for b in edition.bodies_of(found.id)],
            lists=[
                _list_detail(edition.qualification_list(m.list), m.seq) for m in found.memberships
            ],
            withdrawal=None if withdrawal is None else _withdrawal_out(withdrawal),
            edition=edition.edition.id,
        )

    @router.get("/bodies", response_model=BodyPage, summary="Every awarding body")
    async def bodies() -> BodyPage:
        return BodyPage(items=[body_out(b) for b in edition.bodies])

    return router


def _withdrawal_out(withdrawal: Withdrawal) -> WithdrawalOut:
    return WithdrawalOut(
        date=withdrawal.date,
        reason=withdrawal.reason,
        in_effect=withdrawal.in_effect_on(catalogue_today()),
    )


def _list_detail(qualification_list: QualificationList, seq: int) -> ListDetailOut:
    in_addition_to = qualification_list.in_addition_to
    return ListDetailOut(
        list=qualification_list.id.value,
        name_zh=qualification_list.name_zh,
        name_en=qualification_list.name_en,
        seq=seq,
        benefits_intro_zh=qualification_list.benefits_intro_zh,
        benefits=[
            BenefitOut(text_zh=b.text_zh, gloss_en=b.gloss_en) for b in qualification_list.benefits
        ],
        benefits_gloss_en=qualification_list.benefits_gloss_en,
        in_addition_to=in_addition_to.value if in_addition_to else None,
    )
