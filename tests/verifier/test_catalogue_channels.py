"""Every awarding body of the catalogue is reached through a configured channel."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.verifier.channels.config import ChannelBook, ChannelType, load_channel_book

CATALOGUE = Path("services/registry/catalogue/data/edition-2025.json")


def catalogue_body_ids() -> list[str]:
    return [body["id"] for body in json.loads(CATALOGUE.read_text())["bodies"]]


def test_every_catalogue_body_has_an_explicit_channel() -> None:
    book = load_channel_book()
    body_ids = catalogue_body_ids()
    assert len(body_ids) == 119
    assert set(body_ids) <= set(book.bodies), set(body_ids) - set(book.bodies)
    types = {book.channel_of(b, "http://127.0.0.1:8090").type for b in body_ids}
    assert types == set(ChannelType)


@pytest.mark.parametrize(
    ("body_id", "kind"),
    [
        ("aws", ChannelType.CREDENTIAL_API),
        ("microsoft", ChannelType.CREDENTIAL_API),
        ("rics", ChannelType.PUBLIC_REGISTER),
        ("ahpra", ChannelType.PUBLIC_REGISTER),
        ("pmi", ChannelType.SIGNED_CREDENTIAL),
        ("us-ca-ctc", ChannelType.ASYNC_ENQUIRY),
        ("us-medical-licensing-authorities", ChannelType.ASYNC_ENQUIRY),
    ],
)
def test_bodies_use_the_channel_they_offer(body_id: str, kind: ChannelType) -> None:
    channel = load_channel_book().channel_of(body_id, "http://sim.test")
    assert channel.type == kind
    assert body_id in channel.endpoint and "{" not in channel.endpoint


def test_signed_credentials_require_the_credential_and_async_bodies_wait_days() -> None:
    book = load_channel_book()
    for body_id in catalogue_body_ids():
        channel = book.channel_of(body_id, "http://sim.test")
        if channel.type == ChannelType.SIGNED_CREDENTIAL:
            assert channel.required_fields == ("credential_jwt",)
        if channel.type == ChannelType.ASYNC_ENQUIRY:
            assert channel.turnaround_seconds >= 86400
            assert channel.endpoint.startswith("mailto:")


def test_a_body_naming_an_unknown_profile_is_refused() -> None:
    default = {"type": "credential_api", "endpoint": "http://x"}
    with pytest.raises(ValidationError, match="unknown channel profiles"):
        ChannelBook.model_validate({"default": default, "bodies": {"aws": "telegraph"}})
