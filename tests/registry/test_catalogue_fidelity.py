"""Every row of the catalogue data against an independent reading of the seed.

`transcribe.py` finds rows with a regular expression and normalises with `text.tidy`.
This reader shares none of that: it walks the notice line by line, recognises the list
headings by their Chinese names, reads cells with the `csv` module, and normalises with
its own character-by-character rules (East Asian width instead of code-point ranges).
Then it compares every normalised field of every row with the data, and proves that
the comparison catches each kind of transcription error found by hand so far.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from services.reference.catalogue.loader import DEFAULT_EDITION_PATH
from services.reference.catalogue.model import Catalogue, ListId, Qualification
from tests.registry.test_catalogue import seeds_dir

# The four list headings, by the name the notice gives each list.
LIST_BY_HEADING = {
    "国际职业资格清单": ListId.INTERNATIONAL,
    "急需紧缺国际职业资格清单": ListId.URGENT,
    "出海职业认证清单": ListId.OUTBOUND,
    "国际职业资格互认清单": ListId.MUTUAL,
}

# Typed by hand from the issuer cells: which state or province each teaching board's id
# names. A body id swapped with another's no longer matches its own issuer.
TEACHER_BOARD_REGIONS = {
    "New York": "us-ny-",
    "Michigan Department of Education": "us-mi-",
    "Alabama": "us-al-",
    "Colorado": "us-co-",
    "Connecticut": "us-ct-",
    "Delaware": "us-de-",
    "Hawaii": "us-hi-",
    "Iowa": "us-ia-",
    "Louisiana": "us-la-",
    "New Hampshire": "us-nh-",
    "South Dakota": "us-sd-",
    "Texas": "us-tx-",
    "Pennsylvania": "us-pa-",
    "Minnesota": "us-mn-",
    "California": "us-ca-",
    "Virginia": "us-va-",
    "Massachusetts": "us-ma-",
    "Alaska": "us-ak-",
    "Ontario": "ca-on-",
    "British Columbia": "ca-bc-",
    "Saskatchewan": "ca-sk-",
    "New Zealand": "nz-",
    "Tasmania": "au-tas-",
    "Western Australia": "au-wa-",
    "South Australia": "au-sa-",
    "Victorian": "au-vic-",
    "Queensland": "au-qld-",
    "Northern Territory": "au-nt-",
    "The Teaching Council": "ie-",
}


@dataclass(frozen=True)
class SeedRow:
    list_id: ListId
    seq: int
    name: str
    issuer: str
    region: str
    fields: str
    notes: str


def read_seed() -> dict[tuple[ListId, int], SeedRow]:
    notice = (seeds_dir() / "001_cba75b15e0b70216.txt").read_text(encoding="utf-8")
    rows: dict[tuple[ListId, int], SeedRow] = {}
    current: ListId | None = None
    for cells in csv.reader(notice.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE):
        if len(cells) == 1:
            current = _heading(cells[0]) or current
        elif len(cells) == 6 and cells[0].strip().isdecimal() and current is not None:
            seq, *rest = (cell.strip() for cell in cells)
            key = (current, int(seq))
            assert key not in rows, f"{key} appears twice in the seed"
            rows[key] = SeedRow(current, int(seq), *rest)
    return rows


def _heading(line: str) -> ListId | None:
    text = line.lstrip("#").strip()
    if not text.startswith("("):
        return None
    title = text[text.index(")") + 1 :].split("(")[0].strip()
    return LIST_BY_HEADING.get(title)


def _wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in ("W", "F")


def normalised(text: str) -> str:
    """Drop a run of spaces between two wide (CJK) characters, collapse any other."""
    out: list[str] = []
    pending_space = False
    for char in text.strip():
        if char.isspace():
            pending_space = True
            continue
        if pending_space and not (out and _wide(out[-1]) and _wide(char)):
            out.append(" ")
        pending_space = False
        out.append(char)
    return "".join(out)


def expected_id(name: str, body_ids: tuple[str, ...]) -> str:
    """The documented id rule, computed here from scratch."""
    key = "".join(unicodedata.normalize("NFKC", name).split()).casefold()
    ordered = sorted(body_ids)
    digest = hashlib.sha256(f"{key}|{','.join(ordered)}".encode()).hexdigest()
    return f"{ordered[0]}-{digest[:8]}"


def differences(catalogue: Catalogue, seed: dict[tuple[ListId, int], SeedRow]) -> list[str]:
    """Every disagreement between the data and the seed, one line each."""
    found = list(_membership_differences(catalogue, seed))
    for row in seed.values():
        holders = [q for q in catalogue.qualifications if _holds(q, row)]
        if len(holders) == 1:
            found += [
                f"{row.list_id.value} {row.seq}: {d}" for d in _row(catalogue, holders[0], row)
            ]
    return found


def _holds(qualification: Qualification, row: SeedRow) -> bool:
    return any((m.list, m.seq) == (row.list_id, row.seq) for m in qualification.memberships)


def _membership_differences(
    catalogue: Catalogue, seed: dict[tuple[ListId, int], SeedRow]
) -> Iterator[str]:
    held = [(m.list, m.seq) for q in catalogue.qualifications for m in q.memberships]
    if sorted(held, key=str) != sorted(seed, key=str):
        yield f"memberships differ: {sorted(set(held) ^ set(seed), key=str)}"


def _row(catalogue: Catalogue, qualification: Qualification, row: SeedRow) -> Iterator[str]:
    membership = next(
        m for m in qualification.memberships if (m.list, m.seq) == (row.list_id, row.seq)
    )
    source = membership.source
    cells = (row.name, row.issuer, row.region, row.fields, row.notes)
    if (source.name, source.issuer, source.country, source.fields, source.notes) != cells:
        yield "source cells not verbatim"
    if qualification.name != normalised(row.name):
        yield f"name {qualification.name!r} != {normalised(row.name)!r}"
    if qualification.country != row.region:
        yield f"region {qualification.country!r} != {row.region!r}"
    fields = tuple(normalised(f) for f in row.fields.split("、") if f.strip())
    if qualification.fields != fields:
        yield f"fields {qualification.fields} != {fields}"
    if membership is qualification.memberships[0] and qualification.notes != row.notes:
        yield "notes differ from the row's own notes"
    if qualification.id != expected_id(qualification.name, qualification.body_ids):
        yield f"id {qualification.id} does not follow the id rule"
    yield from _bodies(catalogue, qualification, row)


def _bodies(catalogue: Catalogue, qualification: Qualification, row: SeedRow) -> Iterator[str]:
    bodies = catalogue.bodies_of(qualification.id)
    if len(bodies) == 1 and row.issuer not in bodies[0].spellings():
        yield f"body {bodies[0].id} is not spelled {row.issuer!r}"
    for body in bodies:
        if len(bodies) > 1 and body.name.split(" ", 1)[-1] not in row.issuer:
            yield f"joint body {body.id} not named in {row.issuer!r}"
        if body.country != row.region:
            yield f"body {body.id} region {body.country!r} != {row.region!r}"
        for marker, prefix in TEACHER_BOARD_REGIONS.items():
            if marker in row.issuer and not body.id.startswith(prefix):
                yield f"body id {body.id} does not name {marker}"


@pytest.fixture(scope="module")
def seed() -> dict[tuple[ListId, int], SeedRow]:
    return read_seed()


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DEFAULT_EDITION_PATH.read_text(encoding="utf-8"))
    data.pop("schema_version")
    return data


def test_the_independent_reader_finds_every_row(seed: dict[tuple[ListId, int], SeedRow]) -> None:
    per_list = {list_id: sum(1 for k in seed if k[0] == list_id) for list_id in ListId}
    assert per_list == {
        ListId.INTERNATIONAL: 143,
        ListId.URGENT: 9,
        ListId.OUTBOUND: 11,
        ListId.MUTUAL: 7,
    }


def test_every_row_agrees_with_the_seed(
    document: dict[str, Any], seed: dict[tuple[ListId, int], SeedRow]
) -> None:
    assert differences(Catalogue.model_validate(document), seed) == []


# --- each kind of error found by hand must be caught ------------------------------


def _qualifications(document: dict[str, Any], list_id: str) -> list[dict[str, Any]]:
    return [q for q in document["qualifications"] if q["memberships"][0]["list"] == list_id]


def shift_notes_by_one_row(document: dict[str, Any]) -> None:
    rows = _qualifications(document, "international")[40:46]
    notes = [q["notes"] for q in rows]
    for q, shifted in zip(rows, notes[1:] + notes[:1], strict=True):
        q["notes"] = shifted
        q["memberships"][0]["source"]["notes"] = shifted


def drop_region_prefix(document: dict[str, Any]) -> None:
    for q in document["qualifications"]:
        if q["country"] == "中国澳门":
            q["country"] = "澳门"
            for m in q["memberships"]:
                m["source"]["country"] = "澳门"
    for body in document["bodies"]:
        if body["country"] == "中国澳门":
            body["country"] = "澳门"


def swap_two_teacher_board_ids(document: dict[str, Any]) -> None:
    first = next(q for q in document["qualifications"] if q["body_ids"] == ["us-ny-nysed"])
    second = next(q for q in document["qualifications"] if q["body_ids"] == ["us-mi-mde"])
    first["body_ids"], second["body_ids"] = second["body_ids"], first["body_ids"]
    first["id"], second["id"] = second["id"], first["id"]


def swap_two_teacher_board_records(document: dict[str, Any]) -> None:
    bodies = {b["id"]: b for b in document["bodies"]}
    bodies["au-vic-vit"]["id"], bodies["au-qld-qct"]["id"] = "au-qld-qct", "au-vic-vit"


def tidy_notes(document: dict[str, Any]) -> None:
    for q in _qualifications(document, "international")[:20]:
        tidied = q["notes"].replace(",", "，").rstrip("。")
        q["notes"] = tidied
        q["memberships"][0]["source"]["notes"] = tidied


def tidy_notes_of_the_record_only(document: dict[str, Any]) -> None:
    q = _qualifications(document, "outbound")[3]
    q["notes"] = q["notes"].replace("。", ". ")


@pytest.mark.parametrize(
    "mutate",
    [
        shift_notes_by_one_row,
        drop_region_prefix,
        swap_two_teacher_board_ids,
        swap_two_teacher_board_records,
        tidy_notes,
        tidy_notes_of_the_record_only,
    ],
)
def test_each_kind_of_transcription_error_is_caught(
    document: dict[str, Any],
    seed: dict[tuple[ListId, int], SeedRow],
    mutate: Callable[[dict[str, Any]], None],
) -> None:
    broken = copy.deepcopy(document)
    mutate(broken)
    assert broken != document, "the mutation changed nothing"
    assert differences(Catalogue.model_validate(broken), seed)
