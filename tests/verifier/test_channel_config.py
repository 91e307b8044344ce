"""Operator configuration of the channel to each awarding body."""

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from services.reference.channels import (
    DEFAULT_CHANNELS_FILE,
    ChannelBook,
    ChannelType,
    load_channel_book,
)

BASE_URL = "http://127.0.0.1:8765"


def book_file(tmp_path: Path, content: dict[str, Any]) -> Path:
    path = tmp_path / "channels.json"
    path.write_text(json.dumps(content))
    return path


DEFAULT = {
    "type": "credential_api",
    "endpoint": "{bodies_base_url}/credential-api/{body_id}/v1",
    "api_key": "key-{body_id}",
}
OVERRIDE = {
    "type": "async_enquiry",
    "endpoint": "{bodies_base_url}/enquiries/{body_id}",
    "max_attempts": 1,
    "turnaround_seconds": 86400,
}


def test_the_shipped_file_loads() -> None:
    book = load_channel_book()
    assert DEFAULT_CHANNELS_FILE.exists()
    channel = book.channel_of("microsoft", BASE_URL)
    assert channel.type == ChannelType.CREDENTIAL_API
    assert channel.endpoint == f"{BASE_URL}/credential-api/microsoft/v1"
    assert "{" not in channel.api_key and "microsoft" in channel.api_key


def test_placeholders_are_filled_and_a_trailing_slash_is_dropped(tmp_path: Path) -> None:
    book = load_channel_book(book_file(tmp_path, {"default": DEFAULT}))
    channel = book.channel_of("body-042", BASE_URL + "/")
    assert channel.endpoint == f"{BASE_URL}/credential-api/body-042/v1"
    assert channel.api_key == "key-body-042"


def test_defaults_of_the_limits(tmp_path: Path) -> None:
    channel = load_channel_book(book_file(tmp_path, {"default": DEFAULT})).channel_of("b", BASE_URL)
    assert channel.timeout_seconds == 5.0
    assert channel.max_attempts == 4
    assert channel.concurrency == 20


def test_a_per_body_override_beats_the_default(tmp_path: Path) -> None:
    path = book_file(tmp_path, {"default": DEFAULT, "bodies": {"body-007": OVERRIDE}})
    book = load_channel_book(path)
    special = book.channel_of("body-007", BASE_URL)
    assert special.type == ChannelType.ASYNC_ENQUIRY
    assert special.endpoint == f"{BASE_URL}/enquiries/body-007"
    assert special.max_attempts == 1
    assert special.turnaround_seconds == 86400
    ordinary = book.channel_of("body-008", BASE_URL)
    assert ordinary.type == ChannelType.CREDENTIAL_API


def test_binding_does_not_change_the_book(tmp_path: Path) -> None:
    book = load_channel_book(book_file(tmp_path, {"default": DEFAULT}))
    book.channel_of("body-1", BASE_URL)
    assert book.default is not None and book.default.endpoint == DEFAULT["endpoint"]


@pytest.mark.parametrize(
    "content",
    [
        {"default": {**DEFAULT, "type": "carrier_pigeon"}},
        {"default": {**DEFAULT, "colour": "blue"}},
        {"default": DEFAULT, "extra": {}},
        {"default": DEFAULT, "bodies": {"b": {**OVERRIDE, "type": "fax"}}},
        {"default": {**DEFAULT, "timeout_seconds": 0}},
        {"default": {**DEFAULT, "max_attempts": 0}},
        {"default": {"type": "credential_api"}},
        {"bodies": {"b": {"type": "credential_api"}}},
    ],
)
def test_an_invalid_file_is_refused(tmp_path: Path, content: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        load_channel_book(book_file(tmp_path, content))


def test_malformed_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "channels.json"
    path.write_text("{not json")
    with pytest.raises(ValidationError):
        load_channel_book(path)


def test_the_book_is_immutable() -> None:
    book = ChannelBook.model_validate({"default": DEFAULT})
    with pytest.raises(ValidationError):
        book.default = book.default  # type: ignore[misc]


def test_required_channel_fields_default_to_none_and_can_be_overridden(tmp_path: Path) -> None:
    override = {**OVERRIDE, "required_fields": ["register_no"]}
    path = book_file(tmp_path, {"default": DEFAULT, "bodies": {"body-007": override}})
    book = load_channel_book(path)
    assert book.channel_of("body-001", BASE_URL).required_fields == ()
    assert book.channel_of("body-007", BASE_URL).required_fields == ("register_no",)
