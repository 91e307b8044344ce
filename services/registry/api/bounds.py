"""The bounds of every request field, checked in one place before any RPC runs.

Every string has a maximum length (MAX_TEXT unless the table says otherwise), every repeated
field a maximum count, every enum a known value and every integer a range. A request outside
them is refused with INVALID_ARGUMENT naming the field, so no RPC ever works on a megabyte of
text. Rules about meaning (a UUID, a code's check character, a date) stay with the domain.
"""

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from services.registry.domain.errors import InvalidField
from services.registry.domain.verifications import HOLDER_PAGE_MAX, MAX_TEXT

MAX_ITEMS = 20  # most entries of any repeated field (body_ids of a joint award: 2-4)
MAX_PAGE = 100
INT64_MAX = 2**63 - 1

# "<Message>.<field>": longest string, where it differs from MAX_TEXT.
TEXT_LIMITS: dict[str, int] = {
    "LookupCodeRequest.code": 40,
    "GetVerificationRequest.code": 40,
    "GetVerificationRequest.request_id": 64,
    "RevokeCodeRequest.code": 40,
    "ListHolderVerificationsRequest.cursor": 120,
    "ListCodeAccessRequest.code": 40,
    "ListCodeAccessRequest.cursor": 40,
}
# "<Message>.<field>": (lowest, highest) of an integer.
INT_RANGES: dict[str, tuple[int, int]] = {
    "SearchCatalogueRequest.limit": (0, MAX_PAGE),
    "ListHolderVerificationsRequest.limit": (0, HOLDER_PAGE_MAX),
    "ListCodeAccessRequest.limit": (0, MAX_PAGE),
    "ListOutcomeSubscribersRequest.limit": (0, MAX_PAGE),
    "StreamOutcomesRequest.after_cursor": (0, INT64_MAX),
    "Date.year": (0, 9999),
    "Date.month": (0, 12),
    "Date.day": (0, 31),
}


def check_bounds(message: Message, path: str = "") -> None:
    """Raises InvalidField for the first field of `message` (or of a nested message) out of
    bounds; the field is named by its path, e.g. `withdrawn_on.month`."""
    for field, value in message.ListFields():
        name = f"{path}{field.name}"
        key = f"{message.DESCRIPTOR.name}.{field.name}"
        values = list(value) if field.is_repeated else [value]
        if len(values) > MAX_ITEMS:
            raise InvalidField(
                name, f"has more than {MAX_ITEMS} entries", f"条目超过 {MAX_ITEMS} 个"
            )
        for item in values:
            _check_value(field, key, name, item)


def _check_value(field: FieldDescriptor, key: str, name: str, value: object) -> None:
    if isinstance(value, Message):
        check_bounds(value, f"{name}.")
    elif field.type == FieldDescriptor.TYPE_STRING:
        _check_text(key, name, str(value))
    elif field.enum_type is not None and isinstance(value, int):
        if value not in field.enum_type.values_by_number:
            raise InvalidField(name, f"has no value {value}", f"没有取值 {value}")
    elif isinstance(value, int) and not isinstance(value, bool) and key in INT_RANGES:
        low, high = INT_RANGES[key]
        if not low <= value <= high:
            raise InvalidField(
                name, f"must be between {low} and {high}", f"必须在 {low} 到 {high} 之间"
            )


def _check_text(key: str, name: str, text: str) -> None:
    limit = TEXT_LIMITS.get(key, MAX_TEXT)
    if len(text) > limit:
        raise InvalidField(name, f"is longer than {limit} characters", f"超过 {limit} 个字符")
