"""Mutual TLS: each caller's certificate is its identity, and what it may call is authorised
from that identity (the registry with certificates made by deploy/pki/make_dev_pki.py)."""

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from grpc_health.v1 import health_pb2, health_pb2_grpc

from deploy.pki.make_dev_pki import make_dev_pki
from qualverify.registry.v1 import registry_pb2, registry_pb2_grpc
from services.registry.api.app import RunningRegistry, running_registry
from tests.infra import Infra
from tests.registry.support import issue_request, refusal, registry_settings, seed_code

pytestmark = pytest.mark.integration

StubFor = Callable[..., Any]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dev_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
async def registry(infra: Infra, module_database: str, pki: Path) -> AsyncIterator[RunningRegistry]:
    async with running_registry(registry_settings(infra, module_database, tls_dir=pki)) as running:
        yield running


@pytest.fixture
async def stub_for(registry: RunningRegistry, pki: Path) -> AsyncIterator[StubFor]:
    """A stub whose channel presents `<identity>.pem` (from `directory`, default the dev PKI)."""
    channels: list[Any] = []

    def open_stub(identity: str | None, directory: Path = pki, ca: Path | None = None) -> Any:
        credentials = grpc.ssl_channel_credentials(
            root_certificates=(ca or pki / "ca.pem").read_bytes(),
            private_key=(directory / f"{identity}-key.pem").read_bytes() if identity else None,
            certificate_chain=(directory / f"{identity}.pem").read_bytes() if identity else None,
        )
        channel = grpc.aio.secure_channel(registry.grpc_address, credentials)
        channels.append(channel)
        return registry_pb2_grpc.RegistryServiceStub(channel)

    yield open_stub
    for channel in channels:
        await channel.close()


async def test_a_region_reads_in_full_and_anyone_masked(
    registry: RunningRegistry, stub_for: StubFor
) -> None:
    issued = await seed_code(registry, issue_request())
    for region in ("beijing", "tianjin", "hebei"):
        full = await stub_for(region).GetVerification(
            registry_pb2.GetVerificationRequest(code=issued.code), timeout=10
        )
        assert full.verification.holder_name == "ZHANG Wei"
        looked_up = await stub_for(region).LookupCode(
            registry_pb2.LookupCodeRequest(code=issued.code), timeout=10
        )
        assert looked_up.holder_name_masked == "Z**** W**"


async def test_a_region_cannot_revoke_but_the_operator_can(
    registry: RunningRegistry, stub_for: StubFor
) -> None:
    issued = await seed_code(registry, issue_request())
    revoke = registry_pb2.RevokeCodeRequest(code=issued.code, reason="revoked by the body")
    error = await refusal(stub_for("beijing").RevokeCode(revoke, timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "beijing" in (error.details() or "")
    revoked = (await stub_for("operator").RevokeCode(revoke, timeout=10)).verification
    assert revoked.status == registry_pb2.CODE_STATUS_REVOKED
    assert revoked.holder_name == "Z**** W**" and not revoked.holder_ref  # no personal data


@pytest.mark.parametrize(
    ("identity", "call"),
    [
        ("operator", "ListHolderVerifications"),
        ("beijing", "ListCodeAccess"),
        ("verifier", "ListOutcomeSubscribers"),
        ("verifier", "GetVerification"),
        ("hebei", "WithdrawQualification"),
        ("tianjin", "RotateSigningKey"),
    ],
)
async def test_each_identity_is_refused_what_the_table_does_not_allow(
    stub_for: StubFor, identity: str, call: str
) -> None:
    requests = {
        "GetVerification": registry_pb2.GetVerificationRequest(code="0000-0000-0000-0000-0"),
        "ListHolderVerifications": registry_pb2.ListHolderVerificationsRequest(holder_ref="x"),
        "ListCodeAccess": registry_pb2.ListCodeAccessRequest(code="0000-0000-0000-0000-0"),
        "ListOutcomeSubscribers": registry_pb2.ListOutcomeSubscribersRequest(),
        "WithdrawQualification": registry_pb2.WithdrawQualificationRequest(
            qualification_id="x", reason="y"
        ),
        "RotateSigningKey": registry_pb2.RotateSigningKeyRequest(),
    }
    method = getattr(stub_for(identity), call)
    error = await refusal(method(requests[call], timeout=10))
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED


@pytest.mark.parametrize("identity", ["verifier", "operator", "beijing"])
async def test_issuing_codes_over_grpc_is_retired(stub_for: StubFor, identity: str) -> None:
    """Codes are issued as verdicts are consumed; the deprecated RPC is served to nobody."""
    error = await refusal(stub_for(identity).IssueCode(registry_pb2.IssueCodeRequest(), timeout=10))
    assert error.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_a_region_may_not_stream_another_regions_outcomes(stub_for: StubFor) -> None:
    stream = stub_for("tianjin").StreamOutcomes(
        registry_pb2.StreamOutcomesRequest(region=registry_pb2.REGION_BEIJING), timeout=10
    )
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        async for _ in stream:
            pass
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_no_client_certificate_is_refused(stub_for: StubFor) -> None:
    error = await refusal(
        stub_for(None).LookupCode(registry_pb2.LookupCodeRequest(code="x"), timeout=5)
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE  # the TLS handshake fails


async def test_a_certificate_from_another_ca_is_refused(stub_for: StubFor, tmp_path: Path) -> None:
    rogue = make_dev_pki(tmp_path / "rogue", clients=["beijing"], ca_name="rogue CA")
    error = await refusal(
        stub_for("beijing", rogue).LookupCode(registry_pb2.LookupCodeRequest(code="x"), timeout=5)
    )
    assert error.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_plaintext_caller_is_refused(registry: RunningRegistry) -> None:
    async with grpc.aio.insecure_channel(registry.grpc_address) as channel:
        error = await refusal(
            registry_pb2_grpc.RegistryServiceStub(channel).LookupCode(
                registry_pb2.LookupCodeRequest(code="x"), timeout=5
            )
        )
    assert error.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_certificate_without_identity_is_unauthenticated(
    stub_for: StubFor, pki: Path, tmp_path: Path
) -> None:
    _client_certificate(pki, tmp_path, "nameless", common_name=None)
    error = await refusal(
        stub_for("nameless", tmp_path).LookupCode(
            registry_pb2.LookupCodeRequest(code="x"), timeout=5
        )
    )
    assert error.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_an_unknown_identity_is_denied_and_health_is_open(
    stub_for: StubFor, pki: Path, registry: RunningRegistry, tmp_path: Path
) -> None:
    _client_certificate(pki, tmp_path, "stranger", common_name="stranger")
    error = await refusal(
        stub_for("stranger", tmp_path).LookupCode(
            registry_pb2.LookupCodeRequest(code="x"), timeout=5
        )
    )
    assert error.code() == grpc.StatusCode.PERMISSION_DENIED
    credentials = grpc.ssl_channel_credentials(
        root_certificates=(pki / "ca.pem").read_bytes(),
        private_key=(pki / "hebei-key.pem").read_bytes(),
        certificate_chain=(pki / "hebei.pem").read_bytes(),
    )
    async with grpc.aio.secure_channel(registry.grpc_address, credentials) as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def _client_certificate(ca_dir: Path, out_dir: Path, name: str, common_name: str | None) -> None:
    """Signed by the platform's CA, for an identity the table does not know (or for nobody)."""
    ca_cert = x509.load_pem_x509_certificate((ca_dir / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((ca_dir / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    attribute = (
        x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, common_name)
        if common_name
        else x509.NameAttribute(x509.oid.NameOID.ORGANIZATION_NAME, "nobody")
    )
    subject = x509.Name([attribute])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(ca_cert.not_valid_before_utc)
        .not_valid_after(ca_cert.not_valid_after_utc)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    (out_dir / f"{name}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (out_dir / f"{name}-key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
