"""Reading a batch of applications from JSON (an array) or CSV (UTF-8, header row).

CSV columns (one row per application; optional columns may be absent or left empty):

    qualification_id, region, holder_name, nationality, document_type, document_number,
    certificate_number, issued_on, consent                                   -- required
    body_ids (separated by spaces or ";"), holder_name_zh, expires_on,
    channel.<field> (e.g. channel.validation_number, channel.credential_url)  -- optional

A row becomes the same JSON object a single POST takes, so the same rules and pointers apply.
"""

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

import orjson

from services.intake.domain.errors import FieldProblem, Refusal, RefusalCode

REQUIRED_COLUMNS = (
    "qualification_id",
    "region",
    "holder_name",
    "nationality",
    "document_type",
    "document_number",
    "certificate_number",
    "issued_on",
    "consent",
)
OPTIONAL_COLUMNS = ("body_ids", "holder_name_zh", "expires_on")
CHANNEL_PREFIX = "channel."

# Where each CSV column lands in the JSON application (and back, for error messages).
_POINTER_OF_COLUMN = {
    "qualification_id": "/qualification_id",
    "region": "/region",
    "holder_name": "/holder/name",
    "holder_name_zh": "/holder/name_zh",
    "nationality": "/holder/nationality",
    "document_type": "/holder/document_type",
    "document_number": "/holder/document_number",
    "certificate_number": "/certificate/number",
    "issued_on": "/certificate/issued_on",
    "expires_on": "/certificate/expires_on",
    "consent": "/consent",
    "body_ids": "/body_ids",
}
_COLUMN_OF_POINTER = {pointer: column for column, pointer in _POINTER_OF_COLUMN.items()}

EXAMPLE_CSV = (
    "qualification_id,region,holder_name,holder_name_zh,nationality,document_type,"
    "document_number,certificate_number,issued_on,expires_on,consent,channel.validation_number\n"
    "aws-e94e5145,beijing,ZHANG Wei,张伟,CHN,resident_id,11010519491231002X,AWS-68234618,"
    "2024-03-01,,true,\n"
    "baft-a281b26c,hebei,Kenji Nguyen,,JPN,passport,TK1234567,CDCS-2023-0042,2023-05-10,"
    "2030-05-10,true,VN-42\n"
)


@dataclass(frozen=True)
class BatchInput:
    rows: list[Any]  # each row: the application object as submitted, validated row by row
    from_csv: bool


def parse_batch(content_type: str, raw: bytes, max_rows: int) -> BatchInput:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/json":
        rows = _json_rows(raw)
        from_csv = False
    elif media_type == "text/csv":
        rows = _csv_rows(raw)
        from_csv = True
    else:
        raise Refusal(
            RefusalCode.UNSUPPORTED_MEDIA_TYPE,
            "仅支持 application/json 或 text/csv",
            "Send application/json (an array) or text/csv",
        )
    if not rows:
        raise malformed("批次中没有任何申请", "The batch holds no applications")
    if len(rows) > max_rows:
        raise Refusal(
            RefusalCode.BATCH_TOO_LARGE,
            f"每批最多 {max_rows} 条申请",
            f"A batch holds at most {max_rows} applications",
            [FieldProblem("", f"共 {len(rows)} 条", f"{len(rows)} rows sent")],
        )
    return BatchInput(rows, from_csv)


def column_of(pointer: str) -> str | None:
    """The CSV column a JSON pointer of a row refers to."""
    if pointer.startswith("/certificate/channel_fields/"):
        return CHANNEL_PREFIX + pointer.rsplit("/", 1)[1].replace("~1", "/").replace("~0", "~")
    return _COLUMN_OF_POINTER.get(re.sub(r"/\d+$", "", pointer))


def malformed(zh: str, en: str, pointer: str = "") -> Refusal:
    return Refusal(
        RefusalCode.MALFORMED_BATCH,
        "批次格式错误",
        "The batch is malformed",
        [FieldProblem(pointer, zh, en)],
    )


def _json_rows(raw: bytes) -> list[Any]:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise malformed("不是有效的 JSON", f"not valid JSON: {error}") from None
    if not isinstance(document, list):
        raise malformed("须为 JSON 数组", "must be a JSON array of applications")
    for index, row in enumerate(document):
        if not isinstance(row, dict):
            raise malformed(
                "每条申请须为 JSON 对象", "each application must be an object", f"/{index}"
            )
    return document


def _csv_rows(raw: bytes) -> list[Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise malformed("须为 UTF-8 编码", f"not UTF-8 (byte {error.start})") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = [name.strip() for name in next(reader, [])]
        _check_header(header)
        rows = []
        for number, cells in enumerate(reader, start=1):
            if not any(cell.strip() for cell in cells):
                continue  # blank line
            if len(cells) != len(header):
                raise malformed(
                    f"第 {number} 行有 {len(cells)} 列，表头有 {len(header)} 列",
                    f"row {number} (line {reader.line_num}) has {len(cells)} cells, "
                    f"the header {len(header)}",
                    f"/{number}",
                )
            rows.append(application_of_columns(dict(zip(header, cells, strict=True))))
    except csv.Error as error:
        raise malformed(
            f"CSV 格式错误（第 {reader.line_num} 行）",
            f"malformed CSV at line {reader.line_num}: {error}",
        ) from None
    return rows


def _check_header(header: list[str]) -> None:
    if not header:
        raise malformed("缺少表头行", "the header row is missing")
    known = set(REQUIRED_COLUMNS) | set(OPTIONAL_COLUMNS)
    unknown = [c for c in header if c not in known and not c.startswith(CHANNEL_PREFIX)]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if unknown or missing or duplicated:
        raise malformed(
            f"表头错误：未知列 {unknown}，缺少列 {missing}，重复列 {duplicated}",
            f"bad header: unknown columns {unknown}, missing {missing}, duplicated {duplicated}",
        )


def application_of_columns(cells: dict[str, str]) -> dict[str, Any]:
    """The JSON object of one CSV row (or of the employer pages' form, whose fields are named
    as the columns); empty optional cells are left out."""
    value = {column: cell.strip() for column, cell in cells.items()}
    holder = {
        "name": value["holder_name"],
        "nationality": value["nationality"],
        "document_type": value["document_type"],
        "document_number": value["document_number"],
    }
    if value.get("holder_name_zh"):
        holder["name_zh"] = value["holder_name_zh"]
    certificate: dict[str, Any] = {
        "number": value["certificate_number"],
        "issued_on": value["issued_on"],
        "channel_fields": {
            column.removeprefix(CHANNEL_PREFIX): cell
            for column, cell in value.items()
            if column.startswith(CHANNEL_PREFIX) and cell
        },
    }
    if value.get("expires_on"):
        certificate["expires_on"] = value["expires_on"]
    application: dict[str, Any] = {
        "qualification_id": value["qualification_id"],
        "region": value["region"],
        "holder": holder,
        "certificate": certificate,
        "consent": value["consent"],
    }
    if value.get("body_ids"):
        application["body_ids"] = re.split(r"[\s;]+", value["body_ids"])
    return application
