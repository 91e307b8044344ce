"""Catalogue transcription, model invariants, search and loader.

The seed is parsed here independently of `transcribe.py` (a few lines of plain
tab-splitting), so a bug in the transcription cannot hide behind itself.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from services.reference.catalogue import transcribe
from services.reference.catalogue.loader import (
    DEFAULT_EDITION_PATH,
    CatalogueLoadError,
    load_edition,
)
from services.reference.catalogue.model import (
    Catalogue,
    ListId,
    Qualification,
    UnknownBodyError,
    UnknownQualificationError,
)
from services.reference.catalogue.search import (
    InvalidCursorError,
    SearchQuery,
    field_facets,
    search,
)
from services.reference.catalogue.text import search_key, split_fields, tidy

REPO_ROOT = Path(__file__).resolve().parents[2]
NUMERALS = {"一": ListId.INTERNATIONAL, "二": ListId.URGENT, "三": ListId.OUTBOUND}
NUMERALS["四"] = ListId.MUTUAL


def seeds_dir() -> Path:
    configured = os.environ.get("QUALVERIFY_SEEDS_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "seeds"


@dataclass(frozen=True)
class RawRow:
    name: str
    issuer: str
    country: str
    fields: str
    notes: str


def raw_rows() -> dict[tuple[ListId, int], RawRow]:
    """Every catalogue row of the seed, keyed by (list, 序号)."""
    text = (seeds_dir() / "001_cba75b15e0b70216.txt").read_text(encoding="utf-8")
    rows: dict[tuple[ListId, int], RawRow] = {}
    current: ListId | None = None
    for line in text.splitlines():
        if line.startswith("#") and "清单" in line and "项)" in line:
            current = NUMERALS[line[line.index("(") + 1]]
            continue
        cells = line.split("\t")
        if len(cells) == 6 and cells[0].strip().isdigit():
            assert current is not None
            key = (current, int(cells[0]))
            assert key not in rows, f"row {key} twice in the seed"
            rows[key] = RawRow(*(c.strip() for c in cells[1:]))
    return rows


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_edition()


@pytest.fixture(scope="module")
def seed() -> dict[tuple[ListId, int], RawRow]:
    return raw_rows()


def at(catalogue: Catalogue, list_id: ListId, seq: int) -> Qualification:
    (match,) = [
        q
        for q in catalogue.qualifications
        if any(m.list == list_id and m.seq == seq for m in q.memberships)
    ]
    return match


# --- counts and links -----------------------------------------------------------


@pytest.mark.parametrize(
    ("list_id", "count"),
    [(ListId.INTERNATIONAL, 143), (ListId.URGENT, 9), (ListId.OUTBOUND, 11), (ListId.MUTUAL, 7)],
)
def test_each_list_holds_its_declared_number_of_items(
    catalogue: Catalogue, list_id: ListId, count: int
) -> None:
    members = catalogue.members_of(list_id)
    assert len(members) == count
    assert catalogue.qualification_list(list_id).declared_count == count
    seqs = [m.seq for q in members for m in q.memberships if m.list == list_id]
    assert seqs == list(range(1, count + 1))


def test_seed_itself_has_170_rows_for_163_distinct_qualifications(
    catalogue: Catalogue, seed: dict[tuple[ListId, int], RawRow]
) -> None:
    assert len(seed) == 143 + 9 + 11 + 7
    assert len(catalogue.qualifications) == 163
    assert len({q.id for q in catalogue.qualifications}) == 163
    assert catalogue.edition.declared_total == 163


def test_every_mutual_entry_is_a_membership_of_a_qualification_on_another_list(
    catalogue: Catalogue,
) -> None:
    # Read off the seed by hand: mutual 序号 -> international 序号 of the same certificate.
    expected = {1: 135, 2: 138, 3: 139, 4: 140, 5: 142, 6: 143, 7: 141}
    for mutual_seq, international_seq in expected.items():
        qualification = at(catalogue, ListId.MUTUAL, mutual_seq)
        assert qualification is at(catalogue, ListId.INTERNATIONAL, international_seq)
        assert qualification.list_ids() == (ListId.INTERNATIONAL, ListId.MUTUAL)


def test_only_mutual_entries_belong_to_two_lists(catalogue: Catalogue) -> None:
    multi = [q for q in catalogue.qualifications if len(q.memberships) > 1]
    assert len(multi) == 7
    assert all(q.list_ids()[-1] == ListId.MUTUAL for q in multi)


def test_every_qualification_has_a_known_awarding_body(catalogue: Catalogue) -> None:
    for qualification in catalogue.qualifications:
        bodies = catalogue.bodies_of(qualification.id)
        assert bodies
        assert [b.id for b in bodies] == list(qualification.body_ids)


@pytest.mark.parametrize(
    ("seq", "name", "body_ids"),
    [
        (29, "跟单信用证专家证书 (CDCS)", ("libf", "icc", "baft")),
        (30, "保函与备用证专家证书 (CSDG)", ("libf", "icc", "baft")),
        (31, "供应链金融专家证书 (CSCF)", ("libf", "baft", "gscff")),
        (32, "贸易金融合规专家证书 (CTFC)", ("libf", "iiblp", "baft")),
        (46, "国际注册工程师 (特许工程师、主任工程师)", ("ecuk", "iet")),
    ],
)
def test_jointly_awarded_qualifications_keep_every_body(
    catalogue: Catalogue, seq: int, name: str, body_ids: tuple[str, ...]
) -> None:
    qualification = at(catalogue, ListId.INTERNATIONAL, seq)
    assert qualification.name == name
    assert qualification.body_ids == body_ids
    issuer = qualification.memberships[0].source.issuer
    for body in catalogue.bodies_of(qualification.id):
        english = body.name.split(" ", 1)[1]
        assert english in issuer  # each body's English name is in the joint cell


# --- the two spellings ----------------------------------------------------------


def test_lingyang_spelled_two_ways_is_one_body(
    catalogue: Catalogue, seed: dict[tuple[ListId, int], RawRow]
) -> None:
    usual = seed[(ListId.OUTBOUND, 1)].issuer
    variant = seed[(ListId.OUTBOUND, 11)].issuer
    assert usual.startswith("瓴羊") and variant.startswith("领羊")
    body = catalogue.body("lingyang")
    assert body.name == usual
    assert body.aliases == (variant,)
    for seq in (1, 2, 3, 4, 11):
        assert at(catalogue, ListId.OUTBOUND, seq).body_ids == ("lingyang",)
    by_usual = search(catalogue, SearchQuery(body="瓴羊智能")).items
    by_variant = search(catalogue, SearchQuery(body="领羊智能")).items
    assert by_usual == by_variant
    assert len(by_usual) == 5


@pytest.mark.parametrize(
    ("body_id", "rows"),
    [
        ("alibaba-cloud", [(ListId.INTERNATIONAL, 135), (ListId.MUTUAL, 1)]),
        ("cima", [(ListId.INTERNATIONAL, 28), (ListId.INTERNATIONAL, 143), (ListId.MUTUAL, 6)]),
        ("gbci", [(ListId.INTERNATIONAL, 6), (ListId.INTERNATIONAL, 126), (ListId.URGENT, 7)]),
    ],
)
def test_other_variant_issuer_spellings_map_to_one_body(
    catalogue: Catalogue,
    seed: dict[tuple[ListId, int], RawRow],
    body_id: str,
    rows: list[tuple[ListId, int]],
) -> None:
    body = catalogue.body(body_id)
    spellings = {seed[row].issuer for row in rows}
    assert len(spellings) > 1
    assert spellings <= set(body.spellings())
    for list_id, seq in rows:
        assert at(catalogue, list_id, seq).body_ids == (body_id,)


def test_body_slugs_are_ascii_and_unique(catalogue: Catalogue) -> None:
    ids = [b.id for b in catalogue.bodies]
    assert len(ids) == len(set(ids))
    assert all(i.isascii() for i in ids)
    with pytest.raises(UnknownBodyError):
        catalogue.body("no-such-body")


def test_international_bodies_keep_the_empty_country_cell(catalogue: Catalogue) -> None:
    assert catalogue.body("acca").country == ""
    assert catalogue.body("ieee").country == ""
    assert catalogue.body("pmi").country == "美国"


# --- fidelity to the seed -------------------------------------------------------


def test_every_row_is_kept_verbatim_in_its_membership(
    catalogue: Catalogue, seed: dict[tuple[ListId, int], RawRow]
) -> None:
    for (list_id, seq), raw in seed.items():
        source = next(
            m.source
            for m in at(catalogue, list_id, seq).memberships
            if (m.list, m.seq) == (list_id, seq)
        )
        assert (source.name, source.issuer, source.country, source.fields, source.notes) == (
            raw.name,
            raw.issuer,
            raw.country,
            raw.fields,
            raw.notes,
        )


SAMPLE: list[tuple[ListId, int, str, tuple[str, ...], str, tuple[str, ...]]] = [
    # list, 序号, normalised name, body ids, country, fields  (typed from reading the seed)
    (
        ListId.INTERNATIONAL,
        1,
        "ACM 高级会员",
        ("acm",),
        "",
        ("科技", "信息技术"),
    ),
    (
        ListId.INTERNATIONAL,
        4,
        "CISA 注册信息系统审计师认证",
        ("isaca",),
        "",
        ("信息技术",),
    ),
    (
        ListId.INTERNATIONAL,
        6,
        "LEED 认证专家证书 (LEED AP)",
        ("gbci",),
        "美国",
        ("建筑", "工程", "环保"),
    ),
    (
        ListId.INTERNATIONAL,
        25,
        "解决方案架构师认证 (专业级)",
        ("aws",),
        "美国",
        ("云计算",),
    ),
    (
        ListId.INTERNATIONAL,
        47,
        "PMP 项目管理证书",
        ("pmi",),
        "美国",
        ("建筑与工程服务",),
    ),
    (
        ListId.INTERNATIONAL,
        93,
        "注册焊接检验师",
        ("aws-welding",),
        "美国",
        ("文化旅游及娱乐服务",),
    ),
    (
        ListId.INTERNATIONAL,
        109,
        "咨商心理师",
        ("tw-moex",),
        "中国台湾",
        ("医疗健康服务",),
    ),
    (
        ListId.INTERNATIONAL,
        133,
        "国际注册技术转移经理人 (RTTP)",
        ("attp",),
        "苏格兰",
        ("技术转移",),
    ),
    (
        ListId.INTERNATIONAL,
        139,
        "ACCA 会计师证书",
        ("acca",),
        "",
        ("金融", "会计"),
    ),
    (
        ListId.URGENT,
        1,
        "IEEE 会士证书 (Fellow)",
        ("ieee",),
        "",
        ("科技", "工程", "信息技术"),
    ),
    (
        ListId.URGENT,
        9,
        "CFA 特许金融分析师证书",
        ("cfa-institute",),
        "美国",
        ("金融",),
    ),
    (
        ListId.OUTBOUND,
        6,
        "华为数通网络专家认证 HCIE—Datacom",
        ("huawei",),
        "中国",
        ("信息技术",),
    ),
    (
        ListId.MUTUAL,
        7,
        "网络安全工程师认证证书",
        ("hk-cybersecurity-association",),
        "中国香港",
        ("信息技术",),
    ),
]


@pytest.mark.parametrize(("list_id", "seq", "name", "body_ids", "country", "fields"), SAMPLE)
def test_sample_rows_field_by_field(
    catalogue: Catalogue,
    seed: dict[tuple[ListId, int], RawRow],
    list_id: ListId,
    seq: int,
    name: str,
    body_ids: tuple[str, ...],
    country: str,
    fields: tuple[str, ...],
) -> None:
    raw = seed[(list_id, seq)]
    qualification = at(catalogue, list_id, seq)
    assert qualification.name == name
    assert search_key(qualification.name) == search_key(raw.name)
    assert qualification.body_ids == body_ids
    for body in catalogue.bodies_of(qualification.id):
        assert raw.issuer in body.spellings()
    assert qualification.country == country == raw.country
    assert qualification.fields == fields
    primary = qualification.memberships[0]
    assert qualification.notes == seed[(primary.list, primary.seq)].notes
    if list_id != ListId.MUTUAL:
        assert qualification.notes == raw.notes


def test_mutual_rows_keep_their_own_differing_notes(
    catalogue: Catalogue, seed: dict[tuple[ListId, int], RawRow]
) -> None:
    cpa = at(catalogue, ListId.MUTUAL, 4)
    mutual = next(m for m in cpa.memberships if m.list == ListId.MUTUAL)
    # The seed's mutual row 4 note is cut short ("可免考8门澳洲注册"); it stays as printed.
    assert mutual.source.notes == seed[(ListId.MUTUAL, 4)].notes
    assert mutual.source.notes.endswith("澳洲注册")
    assert cpa.notes == seed[(ListId.INTERNATIONAL, 140)].notes


def test_wrap_gap_normalisation_is_proven_by_the_catalogues_own_cross_references(
    catalogue: Catalogue, seed: dict[tuple[ListId, int], RawRow]
) -> None:
    cibep_notes = seed[(ListId.INTERNATIONAL, 138)].notes
    cice_notes = seed[(ListId.INTERNATIONAL, 136)].notes
    cgma_notes = seed[(ListId.INTERNATIONAL, 143)].notes
    # Printed with a wrap gap in their own rows, cited without it elsewhere.
    assert seed[(ListId.INTERNATIONAL, 137)].name == "CICS 注册国际会议执行 专员认证"
    assert at(catalogue, ListId.INTERNATIONAL, 137).name in cibep_notes
    assert seed[(ListId.INTERNATIONAL, 138)].name == "注册国际商务会展专业 人士认证 CIBEP"
    assert "注册国际商务会展专业人士认证" in cice_notes
    assert tidy(seed[(ListId.INTERNATIONAL, 28)].name).endswith("(战略级、管理级、数字化管理会计)")
    assert "(战略级、管理级、数字化管理会计)" in cgma_notes
    abrsm = at(catalogue, ListId.INTERNATIONAL, 95)
    assert abrsm.name.startswith(catalogue.body("abrsm").name.split(" ")[0])
    # A space beside Latin text is real: the AZ-900 row cites "阿里云云计算工程师 ACA".
    assert at(catalogue, ListId.INTERNATIONAL, 135).name == "阿里云云计算工程师 ACA"
    assert "阿里云云计算工程师 ACA 认证" in seed[(ListId.INTERNATIONAL, 134)].notes


def test_text_helpers() -> None:
    assert tidy(" CISA 注册信息系统 审计师认证 ") == "CISA 注册信息系统审计师认证"
    assert tidy("IEEE  会士证书 (Fellow)") == "IEEE 会士证书 (Fellow)"
    assert split_fields("建筑、工程、 环保") == ("建筑", "工程", "环保")
    assert split_fields("文化旅游 及娱乐服务") == ("文化旅游及娱乐服务",)
    assert search_key("ＡＣＣＡ 会计师") == search_key("acca会计师")


def test_checked_in_json_is_exactly_what_the_transcriber_produces() -> None:
    rebuilt = transcribe.render(transcribe.build(seeds_dir()))
    assert rebuilt == DEFAULT_EDITION_PATH.read_text(encoding="utf-8")


# --- edition and benefits -------------------------------------------------------


def test_edition_facts(catalogue: Catalogue) -> None:
    edition = catalogue.edition
    assert edition.id == "2025"
    assert edition.title_zh == "北京市国际职业资格认可目录(2025年版)"
    assert edition.document_number == "京人社事业发\u30142025\u301511号"
    assert edition.notice_date == edition.effective_from == date(2025, 9, 5)
    assert "本通知自发布之日起实施" in edition.effective_from_basis
    assert edition.replaces == "2024-1.0"
    assert edition.replaces_document is not None
    assert "(1.0 版)" in edition.replaces_document
    assert "同时废止" in edition.replaces_document


def test_benefits_per_list(catalogue: Catalogue) -> None:
    international = catalogue.qualification_list(ListId.INTERNATIONAL)
    urgent = catalogue.qualification_list(ListId.URGENT)
    outbound = catalogue.qualification_list(ListId.OUTBOUND)
    mutual = catalogue.qualification_list(ListId.MUTUAL)
    assert [len(x.benefits) for x in (international, urgent, outbound, mutual)] == [7, 6, 5, 1]
    assert international.benefits[0].text_zh == "中国籍人员可纳入本市工作居住证办理范围。"
    assert international.benefits[0].gloss_en == (
        "Chinese nationals may apply for a Beijing Work-Residence Permit."
    )
    assert all(b.gloss_en for b in (*international.benefits, *urgent.benefits))
    assert urgent.in_addition_to == ListId.INTERNATIONAL
    # Benefit 2 of the outbound list is wrapped over two lines in the seed.
    assert outbound.benefits[1].text_zh.startswith("部分职业认证可按要求")
    assert outbound.benefits[1].text_zh.endswith("相关政策待遇。")
    assert outbound.benefits_gloss_en and "passport" in outbound.benefits_gloss_en
    assert "互认" in mutual.benefits[0].text_zh
    assert mutual.name_zh == "国际职业资格互认清单"


# --- lookups and activity -------------------------------------------------------


def test_lookups(catalogue: Catalogue) -> None:
    acca = at(catalogue, ListId.INTERNATIONAL, 139)
    assert catalogue.qualification(acca.id) is acca
    assert [b.id for b in catalogue.bodies_of(acca.id)] == ["acca"]
    with pytest.raises(UnknownQualificationError):
        catalogue.qualification("acca-00000000")
    with pytest.raises(UnknownQualificationError):
        catalogue.bodies_of("acca-00000000")


def test_qualification_ids_follow_the_documented_rule(catalogue: Catalogue) -> None:
    for qualification in catalogue.qualifications:
        expected = transcribe.qualification_id(qualification.name, qualification.body_ids)
        assert qualification.id == expected
    acca = at(catalogue, ListId.INTERNATIONAL, 139)
    # Insensitive to wrap gaps and body order, sensitive to the bodies themselves.
    assert transcribe.qualification_id("ACCA 会计 师证书", ["acca"]) == acca.id
    cdcs = at(catalogue, ListId.INTERNATIONAL, 29)
    assert transcribe.qualification_id(cdcs.name, ["baft", "icc", "libf"]) == cdcs.id
    assert transcribe.qualification_id(cdcs.name, ["libf", "icc"]) != cdcs.id


def withdrawn_copy(catalogue: Catalogue, qualification_id: str, on: date) -> Catalogue:
    document = catalogue.model_dump(mode="json")
    for q in document["qualifications"]:
        if q["id"] == qualification_id:
            q["withdrawal"] = {"date": on.isoformat(), "reason": "未达到监测要求"}
    return Catalogue.model_validate(document)


def test_is_active_respects_edition_start_and_withdrawal(catalogue: Catalogue) -> None:
    pmp = at(catalogue, ListId.INTERNATIONAL, 47).id
    assert catalogue.is_active(pmp, date(2025, 9, 5))
    assert not catalogue.is_active(pmp, date(2025, 9, 4))
    changed = withdrawn_copy(catalogue, pmp, date(2026, 1, 1))
    withdrawal = changed.qualification(pmp).withdrawal
    assert withdrawal is not None and withdrawal.reason == "未达到监测要求"
    assert changed.is_active(pmp, date(2025, 12, 31))
    assert not changed.is_active(pmp, date(2026, 1, 1))
    page = search(changed, SearchQuery(text="PMP", active_on=date(2026, 6, 1)))
    assert page.total == 0
    with pytest.raises(UnknownQualificationError):
        catalogue.is_active("pmi-00000000", date(2025, 10, 1))


# --- search ---------------------------------------------------------------------


def seqs(page_items: tuple[Qualification, ...], list_id: ListId) -> list[int]:
    return [m.seq for q in page_items for m in q.memberships if m.list == list_id]


def test_search_chinese_partial_name(catalogue: Catalogue) -> None:
    page = search(catalogue, SearchQuery(text="精算师"))
    assert seqs(page.items, ListId.INTERNATIONAL) == [7, 8, 9, 10, 11]
    # Matches across a PDF wrap gap ("审计师 认证" in the seed).
    wrapped = search(catalogue, SearchQuery(text="信息系统审计师"))
    assert seqs(wrapped.items, ListId.INTERNATIONAL) == [4]


def test_search_english_partial_case_insensitive(catalogue: Catalogue) -> None:
    page = search(catalogue, SearchQuery(text="kuberNETES"))
    assert seqs(page.items, ListId.INTERNATIONAL) == [22, 23, 24]
    assert seqs(search(catalogue, SearchQuery(text="hcie")).items, ListId.OUTBOUND) == [
        5,
        6,
        7,
        8,
        9,
        10,
    ]
    fellows = search(catalogue, SearchQuery(text="fellow"), limit=100).items
    assert search(catalogue, SearchQuery(text="ＦＥＬＬＯＷ"), limit=100).items == fellows
    assert len(fellows) == 13  # six say "Fellow" in the seed, seven more in English


def test_search_by_body_id_and_partial_name(catalogue: Catalogue) -> None:
    by_id = search(catalogue, SearchQuery(body="microsoft"))
    assert seqs(by_id.items, ListId.INTERNATIONAL) == [5, 20, 21, 134]
    by_name = search(catalogue, SearchQuery(body="cambridge assessment"))
    assert seqs(by_name.items, ListId.INTERNATIONAL) == [13, 79]
    joint = search(catalogue, SearchQuery(body="伦敦银行"))
    assert seqs(joint.items, ListId.INTERNATIONAL) == [29, 30, 31, 32]
    # "aws" is Amazon's id; the American Welding Society is "aws-welding".
    assert search(catalogue, SearchQuery(body="aws")).total == 2


def test_search_by_field(catalogue: Catalogue) -> None:
    page = search(catalogue, SearchQuery(field="体育"))
    assert seqs(page.items, ListId.INTERNATIONAL) == list(range(85, 93))
    assert search(catalogue, SearchQuery(field="体")).total == 0  # fields match whole
    facets = dict(field_facets(catalogue))
    assert facets["体育"] == 8
    assert sum(1 for q in catalogue.qualifications if "教育" in q.fields) == facets["教育"]


def test_search_by_list_uses_that_lists_order(catalogue: Catalogue) -> None:
    mutual = search(catalogue, SearchQuery(list_id=ListId.MUTUAL))
    assert seqs(mutual.items, ListId.MUTUAL) == [1, 2, 3, 4, 5, 6, 7]
    urgent = search(catalogue, SearchQuery(list_id=ListId.URGENT))
    assert urgent.total == 9


def test_search_filters_combine(catalogue: Catalogue) -> None:
    page = search(catalogue, SearchQuery(text="会计", field="会计", list_id=ListId.MUTUAL))
    assert seqs(page.items, ListId.MUTUAL) == [3, 4, 5, 6]  # 6: CGMA, by its body's name
    assert search(catalogue, SearchQuery(text="ACCA", body="huawei")).total == 0


def test_pagination_walks_everything_once_in_order(catalogue: Catalogue) -> None:
    seen: list[str] = []
    sizes: list[int] = []
    cursor: str | None = None
    while True:
        page = search(catalogue, SearchQuery(), limit=50, cursor=cursor)
        assert page.total == 163
        seen.extend(q.id for q in page.items)
        sizes.append(len(page.items))
        cursor = page.next_cursor
        if cursor is None:
            break
    assert sizes == [50, 50, 50, 13]
    assert seen == [q.id for q in sorted(catalogue.qualifications, key=Qualification.sort_key)]
    assert len(set(seen)) == 163
    by_offset = search(catalogue, SearchQuery(), limit=50, offset=100)
    assert [q.id for q in by_offset.items] == seen[100:150]


def test_pagination_rejects_bad_input(catalogue: Catalogue) -> None:
    first = search(catalogue, SearchQuery(text="教师"), limit=5)
    assert first.next_cursor is not None
    with pytest.raises(InvalidCursorError):
        search(catalogue, SearchQuery(text="精算"), limit=5, cursor=first.next_cursor)
    with pytest.raises(InvalidCursorError):
        search(catalogue, SearchQuery(text="教师"), cursor="not-a-cursor")
    for limit in (0, 101):
        with pytest.raises(ValueError, match="limit"):
            search(catalogue, SearchQuery(), limit=limit)
    with pytest.raises(ValueError, match="offset"):
        search(catalogue, SearchQuery(), offset=-1)
    with pytest.raises(ValueError, match="not both"):
        search(catalogue, SearchQuery(), cursor=first.next_cursor, offset=5)


# --- loader failures ------------------------------------------------------------


def packaged() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(DEFAULT_EDITION_PATH.read_text(encoding="utf-8"))
    return document


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "edition.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


def test_loader_rejects_a_dangling_body_id(tmp_path: Path) -> None:
    document = packaged()
    document["qualifications"][0]["body_ids"] = ["acm", "no-such-body"]
    with pytest.raises(CatalogueLoadError, match="unknown body 'no-such-body'"):
        load_edition(write(tmp_path, document))


def test_loader_rejects_duplicate_qualification_ids(tmp_path: Path) -> None:
    document = packaged()
    document["qualifications"][1]["id"] = document["qualifications"][0]["id"]
    with pytest.raises(CatalogueLoadError, match="duplicate qualification id"):
        load_edition(write(tmp_path, document))


def test_loader_rejects_a_missing_row(tmp_path: Path) -> None:
    document = packaged()
    del document["qualifications"][5]
    with pytest.raises(CatalogueLoadError, match="'international' declares 143"):
        load_edition(write(tmp_path, document))


def test_loader_rejects_an_unlinked_mutual_entry(tmp_path: Path) -> None:
    document = packaged()
    acca = next(q for q in document["qualifications"] if len(q["memberships"]) == 2)
    acca["memberships"] = acca["memberships"][1:]
    with pytest.raises(CatalogueLoadError, match="not linked to a qualification"):
        load_edition(write(tmp_path, document))


def test_loader_rejects_unreadable_or_unversioned_files(tmp_path: Path) -> None:
    with pytest.raises(CatalogueLoadError, match="cannot read"):
        load_edition(tmp_path / "absent.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(CatalogueLoadError, match="cannot read"):
        load_edition(broken)
    document = packaged()
    document["schema_version"] = 99
    with pytest.raises(CatalogueLoadError, match="schema_version"):
        load_edition(write(tmp_path, document))


def test_loader_accepts_an_unchanged_copy(tmp_path: Path, catalogue: Catalogue) -> None:
    assert load_edition(write(tmp_path, packaged())) == catalogue
