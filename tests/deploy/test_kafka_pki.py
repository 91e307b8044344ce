"""The local Kafka cluster's certificates: a cluster CA for the brokers, a clients CA for the
principals, made once and kept; a principal added later gets only its own certificate."""

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from deploy.pki.make_dev_pki import ensure_kafka_pki


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def common_name(cert: x509.Certificate) -> str:
    return str(cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def test_brokers_and_principals_are_signed_by_separate_cas(tmp_path: Path) -> None:
    tls = ensure_kafka_pki(tmp_path, ["verifier", "region-hebei"])
    cluster_ca, clients_ca = load(tls / "cluster-ca.pem"), load(tls / "clients-ca.pem")
    assert cluster_ca.subject != clients_ca.subject
    broker = load(tls / "broker.pem")
    broker.verify_directly_issued_by(cluster_ca)
    names = broker.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "localhost" in names.get_values_for_type(x509.DNSName)
    assert [str(ip) for ip in names.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    usages = broker.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    for principal in ("admin", "verifier", "region-hebei"):
        cert = load(tls / f"{principal}.pem")
        cert.verify_directly_issued_by(clients_ca)
        assert common_name(cert) == principal
        assert (tls / f"{principal}-key.pem").stat().st_mode & 0o077 == 0


def test_made_once_and_a_new_principal_gets_only_its_own(tmp_path: Path) -> None:
    tls = ensure_kafka_pki(tmp_path, ["verifier"])
    before = {p.name: p.read_bytes() for p in tls.glob("*.pem")}
    ensure_kafka_pki(tmp_path, ["verifier", "notifier"])
    after = {p.name: p.read_bytes() for p in tls.glob("*.pem")}
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"notifier.pem", "notifier-key.pem"}
    load(tls / "notifier.pem").verify_directly_issued_by(load(tls / "clients-ca.pem"))


def test_a_missing_ca_key_makes_everything_afresh(tmp_path: Path) -> None:
    tls = ensure_kafka_pki(tmp_path, ["verifier"])
    old_verifier = (tls / "verifier.pem").read_bytes()
    (tls / "clients-ca-key.pem").unlink()
    ensure_kafka_pki(tmp_path, ["verifier"])
    assert (tls / "verifier.pem").read_bytes() != old_verifier
    load(tls / "verifier.pem").verify_directly_issued_by(load(tls / "clients-ca.pem"))
