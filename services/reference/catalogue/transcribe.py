"""Transcribe the official notice (seed 001) into the checked-in edition JSON.

Run once per edition, by hand:

    uv run python -m services.reference.catalogue.transcribe [SEEDS_DIR] [OUTPUT]

The JSON it writes is the artefact the registry loads; this script is kept so the
transcription can be re-run and diffed (a test does exactly that). Body slugs are
curated here by hand because they are the stable anchor of every qualification id.

Qualification id rule: ``<first of the sorted body ids>-<8 hex>`` where the hex is
the start of SHA-256 over ``search_key(name) + "|" + ",".join(sorted(body_ids))``.
The key ignores whitespace, width and case, so a re-typeset name in a later edition
keeps its id, and a corrected body spelling (an alias) does too.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from services.reference.catalogue.model import LIST_ORDER, Catalogue, ListId
from services.reference.catalogue.text import search_key, split_fields, tidy

NOTICE_FILE = "001_cba75b15e0b70216.txt"
SUMMARY_FILE = "000_4858ad54d62fef94.txt"
DEFAULT_OUTPUT = Path(__file__).parent / "data" / "edition-2025.json"
# English names are not in the notice: curated from the awarding bodies' own usage, by id.
ENGLISH_NAMES_FILE = Path(__file__).parent / "data" / "names-en.json"
SEEDS_ENV_VAR = "QUALVERIFY_SEEDS_DIR"

EDITION_ID = "2025"
REPLACES_EDITION = "2024-1.0"

LIST_NAMES_EN: dict[ListId, str] = {
    ListId.INTERNATIONAL: "International Professional Qualification List",
    ListId.URGENT: "Urgently Needed International Professional Qualification List",
    ListId.OUTBOUND: "Outbound Certification List",
    ListId.MUTUAL: "Mutual Recognition List",
}
_NUMERALS: dict[str, ListId] = {
    "一": ListId.INTERNATIONAL,
    "二": ListId.URGENT,
    "三": ListId.OUTBOUND,
    "四": ListId.MUTUAL,
}

# Issuer cells naming one body; spellings of the same body share a slug.
SINGLE_BODY_ISSUERS: dict[str, str] = {
    "国际计算机协会 Association for Computing Machinery": "acm",
    "英国皇家化学会 Royal Society of Chemistry": "rsc",
    "美国机械工程师学会 American Society of Mechanical Engineers": "asme",
    "国际信息系统审计协会 Information Systems Audit and Control Association": "isaca",
    "微软公司 Microsoft": "microsoft",
    "美国绿色建筑委员会 绿色事业认证公司 Green Business Certification, Inc": "gbci",
    "美国绿色建筑委员会绿色事业认证公司 (Green Business Certification Inc,GBCI)": "gbci",
    "北美精算师协会 Society of Actuaries": "soa",
    "英国精算师协会 Institute and Faculty of Actuaries": "ifoa",
    "香港精算协会 Actuarial Society of Hong Kong": "ashk",
    "国际内部审计师协会 The Institute of Internal Auditors": "iia",
    "英国剑桥大学英语考评部 Cambridge Assessment English": "cambridge-english",
    "国际信息科学考试学会 Exam Institute for Information Science": "exin",
    "计算专业人士认证协会 Institute for Certification of Computing Professionals": "iccp",
    "希腊培思特国际认证中心 PeopleCert International": "peoplecert",
    "云原生计算基金会 Cloud Native Computing Foundation": "cncf",
    "亚马逊云科技 Amazon Web Services": "aws",
    # The seed names the credential in the issuer column; its awarder is the IFRS Foundation
    # (SASB's FSA Credential passed to it with the Value Reporting Foundation in 2022).
    "可持续会计核心认证 Fundamentals of sustainability Accounting Credential": "ifrs-foundation",
    "英国皇家特许管理会计师公会 The Chartered Institute of Management Accountants": "cima",
    "英国皇家特许管理会计师公会(CIMA)": "cima",
    "英国皇家特许管理会计师公会 (CIMA)": "cima",
    "美国注册会计师协会 American Institute of CPAs": "aicpa",
    "IMA 管理会计师协会 Institute of Management Accountants": "ima",
    "英格兰及威尔士特许会计师协会 The Institute of Chartered Accountants in England and Wales": (
        "icaew"
    ),
    "国际会计师公会 The Association of International Accountants": "aia",
    "香港会计师公会": "hkicpa",
    "全球风险管理专业人士协会 Global Association of Risk Professionals": "garp",
    "德国西门子机电系统认证中心 Siemens Mechatronic System Certificate Program": "siemens-smsc",
    "铁路信号工程师学会 Institution of Railway Signal Engineers": "irse",
    "香港工程师学会 The Hong Kong Institution of Engineers": "hkie",
    "香港测量师学会 The Hong Kong Institute of Surveyors": "hkis",
    "澳门特别行政区政府土地工务局": "macao-dsscu",
    "英国工程技术学会 The Institution of Engineering and Technology": "iet",
    "项目管理协会 Project Management Institute": "pmi",
    "南德意志集团 TUV SUD": "tuv-sud",
    "德国海外商会联盟 AHK Greater China/DIHK": "ahk-dihk",
    "纽约州教育部门 New York State Department of Education": "us-ny-nysed",
    "密歇根州教育部门 Michigan Department of Education": "us-mi-mde",
    "阿拉巴马州教育部门 Alabama State Department of Education": "us-al-alsde",
    "科罗拉多州教育部门 Colorado Department of Education": "us-co-cde",
    "康涅狄格州教育部门 Connecticut State Department of Education": "us-ct-csde",
    "特拉华州教育部门 Delaware Department of Education": "us-de-ddoe",
    "夏威夷州教师标准委员会 Hawaii Teacher Standards Board": "us-hi-htsb",
    "艾奥瓦州教育考试委员会 Iowa Board of Educational Examiners": "us-ia-boee",
    "路易斯安那州教育部门 Louisiana Department of Education": "us-la-ldoe",
    "新罕布什尔州教育部门 New Hampshire Department of Education": "us-nh-doe",
    "南达科他州教育部门 South Dakota Department of Education": "us-sd-doe",
    "得克萨斯州教育认证委员会 Texas State Board For Educator Certification": "us-tx-sbec",
    "美国宾夕法尼亚州联邦教育部门 Pennsylvania Department of Education": "us-pa-pde",
    "美国明尼苏达州专业指导与标准委员会 Minnesota Professional Educator Licensing and "
    "Standards Board": "us-mn-pelsb",
    "美国加利福尼亚州教师资格鉴定委员会 California Commission on Teacher Credentialing": (
        "us-ca-ctc"
    ),
    "美国维吉尼亚州教育部门 Virginia Department of Education": "us-va-vdoe",
    "安大略省教师学会 Ontario College of Teachers": "ca-on-oct",
    "不列颠哥伦比亚省教育部门 Ministry of Education, British Columbia": "ca-bc-moe",
    "萨斯喀彻温省专业教师监管委员会 Saskatchewan Professional Teachers Regulatory Board": (
        "ca-sk-sptrb"
    ),
    "新西兰教学委员会 Teaching Council of Aotearoa New Zealand": "nz-teaching-council",
    "塔斯马尼亚州教师注册委员会 Teachers Registration Board of Tasmania": "au-tas-trb",
    "西澳大利亚州教师注册委员会 Teacher Registration Board of Western Australia": "au-wa-trb",
    "南澳大利亚州教师注册委员会 Teachers Registration Board of South Australia": "au-sa-trb",
    "维多利亚教师协会 Victorian Institute of Teaching": "au-vic-vit",
    "昆士兰教师协会 Queensland College of Teachers": "au-qld-qct",
    "北领地教师注册委员会 Teacher Registration Board of the Northern Territory": "au-nt-trb",
    "教师委员会 The Teaching Council": "ie-teaching-council",
    "马萨诸塞州小学和中学教育部门 Massachusetts Department of Elementary and Secondary "
    "Education": "us-ma-dese",
    "阿拉斯加早期教育发展部门 Alaska Department of Education & Early Development": "us-ak-deed",
    "新加坡社会与家庭发展部 Ministry of Social and Family Development": "sg-msf",
    "蒙台梭利教师教育认证委员会 Montessori Accreditation Council for Teacher Education": "macte",
    "香港特别行政区政府教育局": "hk-edb",
    "亚洲足球联合会 Asian Football Confederation": "afc",
    "欧洲足球协会联盟 Union of European Football Associations": "uefa",
    "西班牙篮球联合会 Spanish Basketball Federation": "feb",
    "国际篮球联合会 International Basketball Federation": "fiba",
    "瑞士冰雪运动协会 Swiss Snowsports Association": "swiss-snowsports",
    "瑞士雪上运动专业学校协会 Schweizer Schneesport Berufs- und Schulverband": "ssbs",
    "荷兰皇家滑冰协会 Koninklijke Nederlandsche Schaatsenrijdersbond": "knsb",
    "美国焊接学会 American Welding Society": "aws-welding",
    "澳大利亚技能质量署 Australian Skills Quality Authority": "asqa",
    "英国皇家音乐学院联合委员会 The Associated Board of the Royal Schools of Music": "abrsm",
    "英国皇家舞蹈学院 Royal Academy of Dance": "rad",
    "英国皇家采购与供应学会 Chartered Institute of Procurement & Supply": "cips",
    "英国宝石协会 The Gemmological Association of Great Britain": "gem-a",
    "法国蓝带厨艺学院 Le Cordon Bleu Culinary Arts Institute": "le-cordon-bleu",
    "中小企业诊断协会": "jp-smeca",
    "美国采购协会 American Purchasing Society": "american-purchasing-society",
    "美国医师资质认证相关机构": "us-medical-licensing-authorities",
    "韩国保健医疗人员考试院 Korea Health Personnel Licensing Examination Institute": (
        "kr-kuksiwon"
    ),
    "澳大利亚医师资质认证相关机构": "au-medical-licensing-authorities",
    "德国医师资质认证相关机构 州医师协会 The State Chambers of Physicians": (
        "de-state-chambers-of-physicians"
    ),
    "澳洲卫生执业者管理局 Australian Health Practitioner Regulation Agency": "ahpra",
    # The source names a board of AHPRA here (for an occupational-therapy row); kept
    # distinct rather than guessed to be a spelling of AHPRA itself.
    "澳洲卫生执业者管理局 Australian Health Practitioner Regulation Agency—Pharmacy Board of "
    "Australia": "ahpra-pharmacy-board",
    "英国卫生保健专业委员会 Health & care professions council": "hcpc",
    "美国密歇根州许可和监管事务部 Michigan Department of Licensing and Regulatory Affairs": (
        "us-mi-lara"
    ),
    "中国台湾地区考选部": "tw-moex",
    "美国职业治疗认证委员会 American International Vocational Certification Association": "aivca",
    "物理治疗师管理委员会": "hk-physiotherapists-board",
    "澳大利亚营养师协会 Dietitians Association of Australia": "daa",
    "英国国家职业安全与健康考试委员会 The National Examination Board in Occupational Safety "
    "and Health": "nebosh",
    "新加坡工艺教育局 Institute of Technical Education Singapore": "ite-singapore",
    "英国药政总局 General Pharmaceutical Council": "gphc",
    "香港药剂业及毒药管理局": "hk-pharmacy-poisons-board",
    "英国计算机学会 (British Computer Society,BCS)": "bcs",
    "英国皇家特许测量师学会 (The Royal Institution of Chartered Surveyors,RICS)": "rics",
    "香港建筑师学会 (The Hong Kong Institute of Architects, HKIA)": "hkia",
    "美国项目管理学会 (American Academy of Project Management, AAPM)": "aapm",
    "国际技术转移联盟 (Alliance of Technology Transfer Professionals, ATTP)": "attp",
    "阿里云有限公司 Alibaba Cloud Computing Co. Ltd.": "alibaba-cloud",
    "阿里云技术有限公司 Alibaba Cloud Computing Co. Ltd.": "alibaba-cloud",
    "国际大会及会议协会 International Congress & Convention Association": "icca",
    "北京北辰实业集团有限责任公司 Beijing North Star Industrial Group Limited Liabilities "
    "Company": "beijing-north-star",
    "特许公认会计师公会 Association of Chartered Certified Accountants": "acca",
    "澳洲会计师公会 Certified Practising Accountant Australia": "cpa-australia",
    "香港网络安全协会": "hk-cybersecurity-association",
    "公共会计师协会(IPA)": "ipa",
    "电气电子工程师学会 The Institute of Electrical and Electronics Engineers": "ieee",
    "特许金融分析师协会 Chartered Financial Analyst Institute": "cfa-institute",
    "瓴羊智能科技有限公司 Lingyang Intelligent Technology Co., Ltd.": "lingyang",
    # Same company, first character mistyped (领 for 瓴) in outbound row 11.
    "领羊智能科技有限公司 Lingyang Intelligent Technology Co., Ltd.": "lingyang",
    "华为技术有限公司 Huawei TECHNOLOGIES Co., Ltd.": "huawei",
}

_LIBF = ("libf", "伦敦银行与金融学院 The London Institute of Banking & Finance")
_BAFT = ("baft", "对外贸易银行从业者协会 Bankers Association for Foreign Trade")
_ICC = ("icc", "国际 商会 The International Chamber of Commerce")

# Issuer cells naming several joint awarders: (slug, that body's words in the cell).
JOINT_ISSUERS: dict[str, tuple[tuple[str, str], ...]] = {
    "伦敦银行与金融学院 The London Institute of Banking & Finance 国际 商会 The International "
    "Chamber of Commerce 对外贸易银行从业者协会 Bankers Association for Foreign Trade": (
        _LIBF,
        _ICC,
        _BAFT,
    ),
    "伦敦银行与金融学院 The London Institute of Banking & Finance 对外贸易银行从业者协会 Bankers "
    "Association for Foreign Trade 全球供应链金融论坛 Global Supply Chain Finance Forum": (
        _LIBF,
        _BAFT,
        ("gscff", "全球供应链金融论坛 Global Supply Chain Finance Forum"),
    ),
    "伦敦银行与金融学院 The London Institute of Banking & Finance 国际银行实务与法律学院 "
    "Institute of International Banking Law & Practice 对外贸易银行从业者协会 Bankers "
    "Association for Foreign Trade": (
        _LIBF,
        ("iiblp", "国际银行实务与法律学院 Institute of International Banking Law & Practice"),
        _BAFT,
    ),
    # Chinese names first, then English names: each body's words are regrouped.
    "英国工程理事会 英国工程技术学会 Engineering Council UK The Institution of Engineering and "
    "Technology": (
        ("ecuk", "英国工程理事会 Engineering Council UK"),
        ("iet", "英国工程技术学会 The Institution of Engineering and Technology"),
    ),
}


SOURCE_CELLS = ("name", "issuer", "country", "fields", "notes")


@dataclass(frozen=True)
class SeedRow:
    list_id: ListId
    seq: int
    cells: tuple[str, str, str, str, str]


def default_seeds_dir() -> Path:
    """`$QUALVERIFY_SEEDS_DIR`, else `shared/seeds` beside the repository root."""
    configured = os.environ.get(SEEDS_ENV_VAR)
    if configured:
        return Path(configured)
    repo_root = Path(__file__).resolve().parents[3]
    return repo_root.parent / "shared" / "seeds"


# --- Attachment 1 -----------------------------------------------------------------

_LIST_HEADING = re.compile(r"\((一|二|三|四)\)\s*\S+清单\((\d+)\s*项\)")
_TOTAL_HEADING = re.compile(r"\(共计\s*(\d+)\s*项\)")
_ROW = re.compile(r"^(\d+)\t")


def attachment_lines(notice: str) -> list[str]:
    lines = notice.splitlines()
    start = next(i for i, ln in enumerate(lines) if ln.startswith("# 北京市国际职业资格认可目录"))
    end = next(i for i, ln in enumerate(lines) if i > start and "查询验证流程" in ln)
    return lines[start:end]


def parse_rows(notice: str) -> tuple[list[SeedRow], dict[ListId, int], int]:
    rows: list[SeedRow] = []
    declared: dict[ListId, int] = {}
    total = 0
    current: ListId | None = None
    for line in attachment_lines(notice):
        if total_match := _TOTAL_HEADING.search(line):
            total = int(total_match.group(1))
        if heading := _LIST_HEADING.search(line):
            current = _NUMERALS[heading.group(1)]
            declared[current] = int(heading.group(2))
        elif _ROW.match(line):
            if current is None:
                raise ValueError(f"catalogue row before any list heading: {line!r}")
            cells = [c.strip() for c in line.split("\t")]
            if len(cells) != 6:
                raise ValueError(f"expected 6 cells, got {len(cells)}: {line!r}")
            seq, name, issuer, country, fields, notes = cells
            rows.append(SeedRow(current, int(seq), (name, issuer, country, fields, notes)))
    return rows, declared, total


# --- Notice text: edition facts and benefits --------------------------------------

_BENEFIT_HEADINGS: dict[ListId, str] = {
    ListId.INTERNATIONAL: "(一)《国际职业资格清单》持证人员",
    ListId.URGENT: "(二)《急需紧缺国际职业资格清单》持证人员",
    ListId.OUTBOUND: "(三)《出海职业认证清单》持证人员",
}
_MUTUAL_HEADING = "二、多渠道实现互认"
_NUMBERED = re.compile(r"^\d+\.\s*")


def _plain(line: str) -> str:
    return line.strip().lstrip("#").strip().strip("*").strip()


def _notice_lines(notice: str) -> list[str]:
    lines = notice.splitlines()
    end = next(i for i, ln in enumerate(lines) if ln.startswith("# 北京市国际职业资格认可目录"))
    return [_plain(ln) for ln in lines[:end]]


def _section(lines: Sequence[str], heading: str) -> list[str]:
    """Non-empty lines after `heading` up to the next heading-like line."""
    start = lines.index(heading) + 1
    body: list[str] = []
    for line in lines[start:]:
        if line and (line.startswith("(") or re.match(r"^[一二三四五六七八九十]、", line)):
            break
        if line:
            body.append(line)
    return body


def parse_benefits(notice: str) -> dict[ListId, tuple[str, list[str]]]:
    """Per list: (intro sentence, one string per numbered benefit)."""
    lines = _notice_lines(notice)
    out: dict[ListId, tuple[str, list[str]]] = {}
    for list_id, heading in _BENEFIT_HEADINGS.items():
        intro, *rest = _section(lines, heading)
        items: list[str] = []
        for line in rest:
            if _NUMBERED.match(line):
                items.append(_NUMBERED.sub("", line))
            else:  # the PDF wrapped this benefit onto a second line
                items[-1] += line
        out[list_id] = (intro, items)
    mutual = _section(lines, _MUTUAL_HEADING)
    out[ListId.MUTUAL] = ("", mutual)
    return out


# Document numbers put the year in tortoise-shell brackets (U+3014/U+3015).
_DOC_YEAR = "\u3014\\d{4}\u3015"


def parse_edition_facts(notice: str) -> dict[str, Any]:
    text = "\n".join(_notice_lines(notice))
    title = _search(r"制定了《(.+?)》", text)
    doc_number = _search(rf"(京人社事业发{_DOC_YEAR}\d+号)", text)
    effective_clause = _search(r"(本通知自发布之日起实施)。", text)
    replaced = re.search(
        rf"(《关于印发.+?的通知》)\((京人社事业发{_DOC_YEAR}\s*\d+\s*号)\)同时废止", text
    )
    if replaced is None:
        raise ValueError("notice does not say which document it repeals")
    dates = re.findall(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日", text)
    notice_date = date(*(int(p) for p in dates[-1]))
    return {
        "id": EDITION_ID,
        "title_zh": title,
        "document_number": doc_number,
        "notice_date": notice_date.isoformat(),
        "effective_from": notice_date.isoformat(),
        "effective_from_basis": (
            f"{effective_clause} (no explicit date: the notice's date is used; the English "
            "summary reports public release on 12 September 2025)"
        ),
        "replaces": REPLACES_EDITION,
        "replaces_document": f"{replaced.group(1)}({tidy(replaced.group(2))}),同时废止",
    }


def _search(pattern: str, text: str) -> str:
    match = re.search(pattern, text)
    if match is None:
        raise ValueError(f"pattern {pattern!r} not found in notice")
    return match.group(1)


def parse_glosses(summary: str) -> dict[ListId, list[str]]:
    """English lines of the summary, per list: benefit glosses (or one overall gloss)."""
    lines = [ln.strip() for ln in summary.splitlines()]
    starts = {
        ListId.INTERNATIONAL: "(1) Holders",
        ListId.URGENT: "(2) Holders",
        ListId.OUTBOUND: "(3) Holders",
        ListId.MUTUAL: "2. Expanding Mutual Recognition",
    }
    out: dict[ListId, list[str]] = {}
    for list_id, prefix in starts.items():
        start = next(i for i, ln in enumerate(lines) if ln.startswith(prefix)) + 1
        english: list[str] = []
        for line in lines[start:]:
            if re.match(r"^(\(\d\)|\d\.) [A-Z]", line):
                break
            if line and not re.search(r"[\u4e00-\u9fff]", line):
                english.append(line)
        out[list_id] = english
    return out


# --- Assembly ---------------------------------------------------------------------


def bodies_in(issuer: str) -> tuple[tuple[str, str], ...]:
    if issuer in JOINT_ISSUERS:
        return JOINT_ISSUERS[issuer]
    if issuer in SINGLE_BODY_ISSUERS:
        return ((SINGLE_BODY_ISSUERS[issuer], issuer),)
    raise ValueError(f"issuer not in the curated body table: {issuer!r}")


def qualification_id(name: str, body_ids: Sequence[str]) -> str:
    ordered = sorted(body_ids)
    key = f"{search_key(name)}|{','.join(ordered)}"
    return f"{ordered[0]}-{hashlib.sha256(key.encode()).hexdigest()[:8]}"


# Bodies the seed does not name itself: their own name, the seed's spelling kept as alias.
CURATED_BODY_NAMES: dict[str, str] = {
    "ifrs-foundation": "国际财务报告准则基金会 IFRS Foundation",
}


def _build_bodies(rows: Sequence[SeedRow]) -> list[dict[str, Any]]:
    bodies: dict[str, dict[str, Any]] = {}
    for row in rows:
        country = row.cells[2]
        for slug, spelling in bodies_in(row.cells[1]):
            name = CURATED_BODY_NAMES.get(slug, spelling)
            body = bodies.setdefault(
                slug, {"id": slug, "name": name, "aliases": [], "country": country}
            )
            if spelling != body["name"] and spelling not in body["aliases"]:
                body["aliases"].append(spelling)
            if body["country"] != country:
                raise ValueError(f"body {slug} listed under {body['country']!r} and {country!r}")
    return list(bodies.values())


def _build_qualifications(
    rows: Sequence[SeedRow], english_names: dict[str, str]
) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for row in sorted(rows, key=lambda r: (LIST_ORDER.index(r.list_id), r.seq)):
        name, issuer, country, fields, notes = row.cells
        body_ids = [slug for slug, _ in bodies_in(issuer)]
        qid = qualification_id(name, body_ids)
        membership = {
            "list": row.list_id.value,
            "seq": row.seq,
            "source": dict(zip(SOURCE_CELLS, row.cells, strict=True)),
        }
        if qid not in by_id:
            if row.list_id == ListId.MUTUAL:
                raise ValueError(f"mutual row {row.seq} matches no qualification: {name!r}")
            by_id[qid] = {
                "id": qid,
                "name": tidy(name),
                "name_en": english_names.get(qid),
                "body_ids": body_ids,
                "country": country,
                "fields": list(split_fields(fields)),
                "notes": notes,
                "memberships": [membership],
                "withdrawal": None,
            }
            continue
        existing = by_id[qid]
        if row.list_id != ListId.MUTUAL:
            raise ValueError(f"{row.list_id.value} row {row.seq} duplicates {qid}: {name!r}")
        if (tidy(name), country, list(split_fields(fields))) != (
            existing["name"],
            existing["country"],
            existing["fields"],
        ):
            raise ValueError(f"mutual row {row.seq} disagrees with {qid} on name/country/fields")
        existing["memberships"].append(membership)
    unknown = sorted(set(english_names) - set(by_id))
    if unknown:
        raise ValueError(f"{ENGLISH_NAMES_FILE.name} names unknown qualifications {unknown}")
    return list(by_id.values())


def _build_lists(notice: str, summary: str, declared: dict[ListId, int]) -> list[dict[str, Any]]:
    benefits = parse_benefits(notice)
    glosses = parse_glosses(summary)
    out: list[dict[str, Any]] = []
    for list_id in LIST_ORDER:
        intro, items = benefits[list_id]
        english = glosses[list_id]
        per_item = english[1:] if list_id in (ListId.INTERNATIONAL, ListId.URGENT) else []
        if per_item and len(per_item) != len(items):
            raise ValueError(f"{list_id}: {len(items)} benefits but {len(per_item)} glosses")
        out.append(
            {
                "id": list_id.value,
                "name_zh": _list_name_zh(notice, list_id),
                "name_en": LIST_NAMES_EN[list_id],
                "declared_count": declared[list_id],
                "benefits_intro_zh": intro,
                "benefits": [
                    {"text_zh": text, "gloss_en": per_item[i] if per_item else None}
                    for i, text in enumerate(items)
                ],
                "benefits_gloss_en": None if per_item else " ".join(english),
                "in_addition_to": ListId.INTERNATIONAL.value if "还可享受" in intro else None,
            }
        )
    return out


def _list_name_zh(notice: str, list_id: ListId) -> str:
    numeral = next(k for k, v in _NUMERALS.items() if v == list_id)
    for line in attachment_lines(notice):
        match = re.search(rf"\({numeral}\)\s*(\S+清单)\(", line)
        if match:
            return match.group(1)
    raise ValueError(f"no heading for list {list_id}")


def build(seeds_dir: Path) -> dict[str, Any]:
    notice = (seeds_dir / NOTICE_FILE).read_text(encoding="utf-8")
    summary = (seeds_dir / SUMMARY_FILE).read_text(encoding="utf-8")
    rows, declared, total = parse_rows(notice)
    document = {
        "schema_version": 1,
        "edition": {**parse_edition_facts(notice), "declared_total": total},
        "lists": _build_lists(notice, summary, declared),
        "bodies": _build_bodies(rows),
        "qualifications": _build_qualifications(
            rows, json.loads(ENGLISH_NAMES_FILE.read_text(encoding="utf-8"))
        ),
    }
    Catalogue.model_validate({k: v for k, v in document.items() if k != "schema_version"})
    return document


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def main(argv: Sequence[str] = ()) -> int:
    args = list(argv)
    seeds_dir = Path(args[0]) if args else default_seeds_dir()
    output = Path(args[1]) if len(args) > 1 else DEFAULT_OUTPUT
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(build(seeds_dir)), encoding="utf-8")
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
