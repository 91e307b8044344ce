"""Makes a development CA and the certificates of the registry and of its callers.

    uv run python -m deploy.pki.make_dev_pki [OUT_DIR]      # default .local/pki

Writes `ca.pem` (+ `ca-key.pem`), the registry's server certificate `registry.pem` /
`registry-key.pem` (SAN localhost, registry and 127.0.0.1: the names the registry is reached
by locally, in compose and in k8s), and one client certificate per identity:
`beijing`, `tianjin`, `hebei`, `operator`, `verifier` (`<name>.pem`, `<name>-key.pem`). The
certificate's common name is the identity the registry authorises. Also writes the Ed25519
keys that sign Kafka events to `events/` (`<service>.key.pem`, `<service>.pub.pem`; point
`EVENT_SIGNING_KEY_DIR` and `EVENT_TRUST_DIR` at it). Development only: keys are written
unencrypted (mode 0600).

`ensure_kafka_pki(dir, principals)` makes the local Kafka cluster's own certificates in
`dir/kafka` (deploy/local/kafka_cluster.py makes them when it starts): a cluster CA and the
brokers' certificate, a clients CA and one client certificate per Kafka principal.
"""

import fcntl
import ipaddress
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from services.runtime.event_auth import write_event_keys

CLIENT_IDENTITIES = ("beijing", "tianjin", "hebei", "operator", "verifier")
SERVER_NAME = "registry"
VALIDITY = timedelta(days=825)
RENEW_BEFORE = timedelta(days=30)
DEFAULT_DIR = Path(".local/pki")


def make_dev_pki(
    out_dir: Path,
    clients: Sequence[str] = CLIENT_IDENTITIES,
    ca_name: str = "qualverify development CA",
) -> Path:
    """Creates the CA, the server certificate and the client certificates; returns out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key, ca_name)
    _write(out_dir, "ca", ca_cert, ca_key)
    server_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.DNSName(SERVER_NAME),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    _issue(out_dir, SERVER_NAME, ca_cert, ca_key, [ExtendedKeyUsageOID.SERVER_AUTH], server_names)
    for identity in clients:
        _issue(out_dir, identity, ca_cert, ca_key, [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    return out_dir


def ensure_dev_pki(out_dir: Path) -> Path:
    """The development PKI in `out_dir`, made once: kept when complete, else made afresh.

    A lock next to the directory keeps concurrent runners from writing it at the same time.
    """
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with (out_dir.parent / f".{out_dir.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _complete(out_dir):
            make_dev_pki(out_dir)
    return out_dir


def _complete(out_dir: Path) -> bool:
    names = ("ca", SERVER_NAME, *CLIENT_IDENTITIES)
    files_there = all((out_dir / f"{name}.pem").is_file() for name in names) and all(
        (out_dir / f"{name}-key.pem").is_file() for name in (SERVER_NAME, *CLIENT_IDENTITIES)
    )
    return files_there and _server_certificate_current(out_dir / f"{SERVER_NAME}.pem")


def _server_certificate_current(path: Path) -> bool:
    """A PKI made by an older version may lack a name the registry is now reached by (compose
    reaches it as `registry`), and any PKI expires: either way it is made afresh."""
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    current = set(names.get_values_for_type(x509.DNSName)) >= {"localhost", SERVER_NAME}
    return current and cert.not_valid_after_utc - datetime.now(UTC) > RENEW_BEFORE


def _ca_certificate(key: ec.EllipticCurvePrivateKey, name: str) -> x509.Certificate:
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    return (
        _builder(subject, subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def _issue(
    out_dir: Path,
    common_name: str,
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
    usages: Sequence[x509.ObjectIdentifier],
    alt_names: list[x509.GeneralName],
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    builder = (
        _builder(subject, ca_cert.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if alt_names:
        builder = builder.add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    _write(out_dir, common_name, builder.sign(ca_key, hashes.SHA256()), key)


def _builder(
    subject: x509.Name, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.now(UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
    )


def _write(
    out_dir: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> None:
    (out_dir / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = out_dir / f"{name}-key.pem"
    key_path.touch(mode=0o600)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


# --------------------------------------------------------------------------- Kafka

KAFKA_SUBDIR = "kafka"
KAFKA_BROKER = "broker"  # the brokers' principal, User:broker (a super user)
KAFKA_ADMIN = "admin"  # the runner's and tests' principal (a super user): topics and ACLs
KAFKA_CLUSTER_CA = "cluster-ca"
KAFKA_CLIENTS_CA = "clients-ca"


def ensure_kafka_pki(pki_dir: Path, principals: Sequence[str]) -> Path:
    """The local Kafka cluster's certificates in `pki_dir/kafka`, made once; returns that dir.

    As Strimzi has them: a cluster CA signs the brokers' certificate (`broker.pem`, SANs
    127.0.0.1 and localhost, for serving and for reaching the other brokers), a clients CA signs
    one client certificate per principal (`admin`, each of `principals`; `<name>.pem`,
    `<name>-key.pem`, common name = principal). Expiring or missing CAs make everything afresh;
    a principal added later is only issued its own certificate.
    """
    out_dir = pki_dir / KAFKA_SUBDIR
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _kafka_current(out_dir):
            _make_kafka_cas(out_dir)
        clients_ca = _load_ca(out_dir, KAFKA_CLIENTS_CA)
        for principal in (KAFKA_ADMIN, *principals):
            if not (out_dir / f"{principal}-key.pem").is_file():
                _issue(out_dir, principal, *clients_ca, [ExtendedKeyUsageOID.CLIENT_AUTH], [])
    return out_dir


def _kafka_current(out_dir: Path) -> bool:
    needed = (KAFKA_CLUSTER_CA, KAFKA_CLIENTS_CA, KAFKA_BROKER)
    if not all((out_dir / f"{name}-key.pem").is_file() for name in needed):
        return False
    return all(_valid_long_enough(out_dir / f"{name}.pem") for name in needed)


def _valid_long_enough(path: Path) -> bool:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.not_valid_after_utc - datetime.now(UTC) > RENEW_BEFORE


def _make_kafka_cas(out_dir: Path) -> None:
    for stale in out_dir.glob("*.pem"):
        stale.unlink()
    for name in (KAFKA_CLUSTER_CA, KAFKA_CLIENTS_CA):
        key = ec.generate_private_key(ec.SECP256R1())
        _write(out_dir, name, _ca_certificate(key, f"qualverify development Kafka {name}"), key)
    broker_names: list[x509.GeneralName] = [
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cluster_ca = _load_ca(out_dir, KAFKA_CLUSTER_CA)
    _issue(out_dir, KAFKA_BROKER, *cluster_ca, usages, broker_names)


def _load_ca(out_dir: Path, name: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    cert = x509.load_pem_x509_certificate((out_dir / f"{name}.pem").read_bytes())
    key = serialization.load_pem_private_key((out_dir / f"{name}-key.pem").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{name}-key.pem is not an EC key")
    return cert, key


def main(argv: Sequence[str]) -> int:
    out_dir = make_dev_pki(Path(argv[0]) if argv else DEFAULT_DIR)
    events = write_event_keys(out_dir / "events")
    print(f"development CA and certificates written to {out_dir}, event keys to {events}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
