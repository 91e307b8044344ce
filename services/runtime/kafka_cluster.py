"""How a service reaches the Kafka cluster (plaintext, or TLS with its own client certificate as
its identity) and what the cluster's topics need (replication, `min.insync.replicas`, and
whether the service may create them at all).

On one development broker the defaults hold: plaintext, replication 1, topics created by the
services. On a cluster (Strimzi, or `make run KAFKA_BROKERS=3`) every service connects with
mutual TLS as its own principal, and the topics are the cluster's: declared once (KafkaTopic
resources, or the local runner as the cluster's administrator), only waited for here."""

import ssl
from pathlib import Path
from typing import Any, Literal

from faststream.security import BaseSecurity
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class KafkaCluster(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="KAFKA_", extra="ignore", frozen=True)

    security_protocol: Literal["PLAINTEXT", "SSL"] = "PLAINTEXT"
    # PEM files: the CA that signed the brokers' certificates, and this service's client
    # certificate and key (its principal: Strimzi's KafkaUser secret holds user.crt/user.key).
    ssl_ca_file: Path | None = None
    ssl_cert_file: Path | None = None
    ssl_key_file: Path | None = None
    replication_factor: int = Field(default=1, ge=1)
    min_insync_replicas: int = Field(default=1, ge=1)
    # False: topics are created by the cluster's administrator; a service only waits for them
    # (and needs no right to create or reconfigure topics).
    manage_topics: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> "KafkaCluster":
        if self.min_insync_replicas > self.replication_factor:
            raise ValueError("KAFKA_MIN_INSYNC_REPLICAS cannot exceed KAFKA_REPLICATION_FACTOR")
        if self.security_protocol == "SSL" and self.ssl_ca_file is None:
            raise ValueError("KAFKA_SECURITY_PROTOCOL=SSL needs KAFKA_SSL_CA_FILE")
        if (self.ssl_cert_file is None) != (self.ssl_key_file is None):
            raise ValueError("KAFKA_SSL_CERT_FILE and KAFKA_SSL_KEY_FILE go together")
        return self

    def ssl_context(self) -> ssl.SSLContext | None:
        if self.security_protocol != "SSL":
            return None
        context = ssl.create_default_context(cafile=str(self.ssl_ca_file))
        if self.ssl_cert_file is not None and self.ssl_key_file is not None:
            context.load_cert_chain(self.ssl_cert_file, self.ssl_key_file)
        return context

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments of aiokafka's clients (producer, consumer, admin)."""
        context = self.ssl_context()
        if context is None:
            return {}
        return {"security_protocol": "SSL", "ssl_context": context}

    def security(self) -> BaseSecurity | None:
        """FastStream's form of the same (`KafkaBroker(security=...)`)."""
        context = self.ssl_context()
        return None if context is None else BaseSecurity(ssl_context=context, use_ssl=True)

    def topic_configs(self, configs: dict[str, str]) -> dict[str, str]:
        """A topic's own configs, with the cluster's durability rule added."""
        return {**configs, "min.insync.replicas": str(self.min_insync_replicas)}


# One plaintext development broker, whatever the environment says (tests, tools).
DEVELOPMENT = KafkaCluster.model_construct()
