"""Holder names sealed under the console's data key: bound to their request and their key."""

import base64
import os
import uuid

import pytest
from pydantic import SecretStr

from services.console.domain.holder_name import mask_name
from services.console.settings import ConsoleSettings
from services.console.store.sealed_names import NameBox, SealedNameError


def test_a_sealed_name_opens_for_its_request_only() -> None:
    box, request_id = NameBox(os.urandom(32)), uuid.uuid4()
    sealed = box.seal("Kenji Nguyen", request_id)
    assert "Kenji" not in sealed
    assert box.unseal(sealed, request_id) == "Kenji Nguyen"
    with pytest.raises(SealedNameError, match="does not open"):
        box.unseal(sealed, uuid.uuid4())
    with pytest.raises(SealedNameError, match="sealed under key"):
        NameBox(os.urandom(32)).unseal(sealed, request_id)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(SealedNameError):
        box.unseal(tampered, request_id)
    with pytest.raises(SealedNameError, match="not a sealed name"):
        box.unseal("Kenji Nguyen", request_id)


def test_the_key_must_be_32_bytes_in_base64() -> None:
    good = base64.b64encode(os.urandom(32)).decode()
    assert NameBox.from_setting(SecretStr(good)).key_id
    for bad in ("", "not base64!", base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError, match="CONSOLE_DATA_KEY"):
            NameBox.from_setting(SecretStr(bad))


def test_the_development_key_is_usable_and_required_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QV_ENV", "development")
    monkeypatch.delenv("CONSOLE_DATA_KEY", raising=False)
    assert NameBox.from_setting(ConsoleSettings().data_key).key_id
    monkeypatch.setenv("QV_ENV", "production")
    with pytest.raises(ValueError, match="CONSOLE_DATA_KEY"):
        ConsoleSettings()


def test_masked_names_keep_each_words_first_letter() -> None:
    assert mask_name("Kenji Nguyen") == "K**** N*****"
    assert mask_name("张三丰") == "张**"
    assert mask_name("  J.  Smith ") == "J* S****"
    assert mask_name("") == ""
