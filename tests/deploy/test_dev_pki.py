"""`make run` keeps the development PKI it made before only while it is still right: the
registry's certificate names every host it is reached by and is not about to expire."""

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509

from deploy.pki import make_dev_pki as pki


def server_names(out_dir: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate((out_dir / "registry.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return set(names.get_values_for_type(x509.DNSName))


def test_a_complete_pki_is_kept(tmp_path: Path) -> None:
    out_dir = pki.ensure_dev_pki(tmp_path / "pki")
    before = (out_dir / "ca.pem").read_bytes()
    pki.ensure_dev_pki(out_dir)
    assert (out_dir / "ca.pem").read_bytes() == before


def test_a_server_certificate_without_the_registry_name_is_made_afresh(tmp_path: Path) -> None:
    out_dir = pki.make_dev_pki(tmp_path / "pki")
    shutil.copy(out_dir / "beijing.pem", out_dir / "registry.pem")  # no SAN at all
    pki.ensure_dev_pki(out_dir)
    assert {"localhost", "registry"} <= server_names(out_dir)


def test_a_pki_about_to_expire_is_made_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as short:
        short.setattr(pki, "VALIDITY", timedelta(days=3))
        out_dir = pki.make_dev_pki(tmp_path / "pki")
    before = (out_dir / "ca.pem").read_bytes()
    pki.ensure_dev_pki(out_dir)
    assert (out_dir / "ca.pem").read_bytes() != before
