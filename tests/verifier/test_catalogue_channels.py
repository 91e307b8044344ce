"""Every awarding body of the catalogue is reached through a configured channel."""

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.reference.channels import (
    DEFAULT_CHANNELS_FILE,
    ChannelBook,
    ChannelConfigError,
    ChannelType,
    MissingChannelError,
    load_channel_book,
)

CATALOGUE = Path("services/reference/catalogue/data/edition-2025.json")


def catalogue_body_ids() -> list[str]:
    return [body["id"] for body in json.loads(CATALOGUE.read_text())["bodies"]]


def test_every_catalogue_body_has_an_explicit_channel() -> None:
    book = load_channel_book()
    body_ids = catalogue_body_ids()
    assert len(body_ids) == 119
    assert book.default is None  # no silent fallback: every body is named
    assert set(body_ids) <= set(book.bodies), set(body_ids) - set(book.bodies)
    types = {book.channel_of(b, "http://127.0.0.1:8090").type for b in body_ids}
    assert types == set(ChannelType)


@pytest.mark.parametrize(
    ("body_id", "kind"),
    [
        # Open Badges through Credly: a signed credential, fetched by its id if not supplied.
        ("aws", ChannelType.SIGNED_CREDENTIAL),
        ("cncf", ChannelType.SIGNED_CREDENTIAL),
        ("microsoft", ChannelType.CREDENTIAL_API),
        ("aicpa", ChannelType.PUBLIC_REGISTER),  # CPAverify
        ("ca-on-oct", ChannelType.PUBLIC_REGISTER),  # public registers of teachers
        ("nz-teaching-council", ChannelType.PUBLIC_REGISTER),
        ("ie-teaching-council", ChannelType.PUBLIC_REGISTER),
        ("au-vic-vit", ChannelType.PUBLIC_REGISTER),
        ("au-qld-qct", ChannelType.PUBLIC_REGISTER),
        ("us-ca-ctc", ChannelType.PUBLIC_REGISTER),
        ("asqa", ChannelType.ASYNC_ENQUIRY),  # a regulator: the issuing provider is asked
        ("ifrs-foundation", ChannelType.SIGNED_CREDENTIAL),  # the FSA Credential's awarder
        ("rics", ChannelType.PUBLIC_REGISTER),
        ("ahpra", ChannelType.PUBLIC_REGISTER),
        ("pmi", ChannelType.SIGNED_CREDENTIAL),
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
            # Either the employer pastes the credential, or the issuer serves it by its id.
            assert channel.required_fields == ("credential_jwt",) or channel.fetch_by_number
        if channel.type == ChannelType.ASYNC_ENQUIRY:
            assert channel.turnaround_seconds >= 86400
            assert channel.endpoint.startswith("mailto:")


def test_a_body_naming_an_unknown_profile_is_refused() -> None:
    default = {"type": "credential_api", "endpoint": "http://x"}
    with pytest.raises(ValidationError, match="unknown channel profiles"):
        ChannelBook.model_validate({"default": default, "bodies": {"aws": "telegraph"}})


def test_a_catalogue_body_without_a_channel_stops_start_up(tmp_path: Path) -> None:
    document = json.loads(DEFAULT_CHANNELS_FILE.read_text())
    del document["bodies"]["asqa"], document["bodies"]["huawei"]
    path = tmp_path / "channels.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ChannelConfigError, match="asqa, huawei"):
        load_channel_book(path, required_bodies=catalogue_body_ids())


def test_a_body_without_a_channel_has_no_silent_default() -> None:
    with pytest.raises(MissingChannelError, match="no-such-body"):
        load_channel_book().channel_of("no-such-body", "http://sim.test")


def test_fsa_credential_is_a_credential_not_a_body() -> None:
    assert "fsa-credential" not in catalogue_body_ids()
    assert "fsa-credential" not in load_channel_book().bodies
