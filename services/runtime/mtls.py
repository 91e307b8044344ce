"""Client credentials for the registry's mutual-TLS port: the certificate's common name is the
identity the registry authorises (see deploy/pki/make_dev_pki.py for the files)."""

from pathlib import Path

import grpc


def client_credentials(tls_dir: Path, identity: str) -> grpc.ChannelCredentials:
    """From a directory holding ca.pem, <identity>.pem and <identity>-key.pem."""
    return grpc.ssl_channel_credentials(
        root_certificates=(tls_dir / "ca.pem").read_bytes(),
        private_key=(tls_dir / f"{identity}-key.pem").read_bytes(),
        certificate_chain=(tls_dir / f"{identity}.pem").read_bytes(),
    )
