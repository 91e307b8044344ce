"""A single-node Apache Kafka (KRaft, combined broker+controller) run straight from its jars.

No Docker and no tarball: the broker's runtime jars come from Maven Central through the
machine's Maven (``deploy/local/kafka/pom.xml``) into a cache outside the repository
(``$QV_CACHE_DIR`` or ``~/.cache/qualverify``), fetched once and reused.

Usage::

    with LocalKafka(data_dir, port=free_port(), controller_port=free_port()) as kafka:
        connect_to(kafka.bootstrap_servers)

Run ``python -m deploy.local.kafka`` to fetch the jars ahead of time.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import logging
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from deploy.local.processes import (
    child_setup,
    log_tail,
    port_accepts_connections,
    terminate,
)

KAFKA_VERSION = "4.1.1"
POM_PATH = Path(__file__).parent / "kafka" / "pom.xml"
HOST = "127.0.0.1"
READY_MARKER = "Kafka Server started"

_logger = logging.getLogger(__name__)

_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:+ExitOnOutOfMemoryError",
    "-Djava.awt.headless=true",
)
_TOOL_JVM_FLAGS = ("-Xms64m", "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1")

_LOG4J2_PROPERTIES = """\
status = warn
shutdownHook = disable
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
"""


class KafkaError(RuntimeError):
    """The local broker, its jars or its storage could not be set up."""


# --------------------------------------------------------------------------- jar cache


def cache_root() -> Path:
    configured = os.environ.get("QV_CACHE_DIR")
    return Path(configured) if configured else Path.home() / ".cache" / "qualverify"


def _pom_digest() -> str:
    return hashlib.sha256(POM_PATH.read_bytes()).hexdigest()


@contextmanager
def _exclusive_lock(lock_path: Path) -> Iterator[None]:
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def ensure_kafka_libs(root: Path | None = None) -> Path:
    """Return the directory holding Kafka's runtime jars, fetching them with Maven if needed.

    A marker file records the digest of the pom that produced the jars, so editing the pom
    (e.g. a version bump) triggers a new fetch. A lock file serialises concurrent fetches.
    """
    home = (root or cache_root()) / f"kafka-{KAFKA_VERSION}"
    libs = home / "libs"
    marker = home / "complete.marker"
    expected = _pom_digest()
    if _is_complete(marker, expected):
        return libs
    with _exclusive_lock(home.parent / f"kafka-{KAFKA_VERSION}.lock"):
        if _is_complete(marker, expected):  # another process finished while we waited
            return libs
        _fetch_libs(home, libs)
        marker.write_text(expected)
    return libs


def _is_complete(marker: Path, expected_digest: str) -> bool:
    try:
        return marker.read_text().strip() == expected_digest
    except OSError:
        return False


def _fetch_libs(home: Path, libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaError("Maven ('mvn') is not on PATH; it is needed once to fetch Kafka's jars")
    partial = home / "libs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    command = [
        mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(POM_PATH),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={partial}", "-DincludeScope=runtime",
    ]  # fmt: skip
    _logger.info("fetching Kafka %s jars into %s", KAFKA_VERSION, libs)
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise KafkaError(
            f"Maven could not fetch Kafka {KAFKA_VERSION} jars (exit {result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    if not any(partial.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        raise KafkaError(f"Maven succeeded but kafka_2.13-{KAFKA_VERSION}.jar is not in {partial}")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)


# --------------------------------------------------------------------------- broker


def new_cluster_id() -> str:
    """A 22-character url-safe base64 UUID, as Kafka's own ``Uuid.randomUuid`` produces."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):  # a leading dash would be read as a CLI option
            return cluster_id


def server_properties(data_dir: Path, port: int, controller_port: int) -> str:
    settings = {
        "node.id": "1",
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://{HOST}:{port},CONTROLLER://{HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.quorum.bootstrap.servers": f"{HOST}:{controller_port}",
        "log.dirs": str(data_dir / "kraft-logs"),
        "num.partitions": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        "auto.create.topics.enable": "false",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


class LocalKafka:
    """One local Kafka broker+controller listening on ``127.0.0.1:port``.

    ``start()`` = ``spawn()`` + ``wait_ready()``; call them separately to start other
    things while the JVM boots. A data dir already formatted is reused as is. A node of a
    cluster (deploy/local/kafka_cluster.py) overrides its properties and storage format.
    """

    jvm_heap: tuple[str, ...] = ("-Xms256m", "-Xmx512m")

    def __init__(
        self,
        data_dir: Path,
        port: int,
        controller_port: int,
        *,
        startup_timeout: float = 90.0,
        stop_timeout: float = 30.0,
        libs_dir: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.controller_port = controller_port
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._libs_dir = libs_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._log_offset = 0

    @property
    def bootstrap_servers(self) -> str:
        return f"{HOST}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "kafka.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self.spawn()
        self.wait_ready()

    def spawn(self) -> None:
        """Fetch jars if needed, write config, format storage and launch the JVM."""
        if self.is_running():
            raise KafkaError(f"Kafka on port {self.port} is already running")
        self.stop()  # forget a previous process that exited by itself
        self.prepare()
        self._log_file = self.log_path.open("ab")
        self._log_offset = self._log_file.tell()
        self._process = subprocess.Popen(
            ["java", *self.jvm_heap, *_JVM_FLAGS, *self._classpath(), "kafka.Kafka",
             str(self._config_path)],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            preexec_fn=child_setup(signal.SIGKILL),
        )  # fmt: skip

    def prepare(self) -> None:
        """Write the config and format the storage unless it is already (what ``spawn`` does
        first; a cluster formats its nodes side by side with it)."""
        if shutil.which("java") is None:
            raise KafkaError("no 'java' on PATH: Kafka 4.1 needs a Java 17+ runtime")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._config_path
        config.touch(mode=0o600)  # a cluster node's holds its private key
        config.write_text(self.properties())
        (self.data_dir / "log4j2.properties").write_text(_LOG4J2_PROPERTIES)
        if not (self.data_dir / "kraft-logs" / "meta.properties").exists():
            self._format_storage(self._classpath(), config)

    @property
    def _config_path(self) -> Path:
        return self.data_dir / "server.properties"

    def _classpath(self) -> list[str]:
        libs = self._libs_dir or ensure_kafka_libs()
        log4j_config = self.data_dir / "log4j2.properties"
        return ["-cp", f"{libs}/*", f"-Dlog4j2.configurationFile={log4j_config}"]

    def properties(self) -> str:
        """The broker's server.properties."""
        return server_properties(self.data_dir, self.port, self.controller_port)

    def format_options(self) -> list[str]:
        """StorageTool's options beside the config: the cluster's id and its quorum."""
        return ["--standalone", "-t", new_cluster_id()]

    def _format_storage(self, classpath: list[str], config: Path) -> None:
        command = [
            "java", *_TOOL_JVM_FLAGS, *classpath, "kafka.tools.StorageTool", "format",
            *self.format_options(), "-c", str(config), "-g",
        ]  # fmt: skip
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            preexec_fn=child_setup(signal.SIGKILL),
        )
        if result.returncode != 0:
            raise KafkaError(
                f"kafka StorageTool format failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    def wait_ready(self, timeout: float | None = None) -> None:
        """Block until the broker logged its start AND its port accepts connections."""
        process = self._require_process()
        deadline = time.monotonic() + (timeout or self.startup_timeout)
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self.stop()
                raise KafkaError(
                    f"Kafka exited with code {process.returncode} before becoming ready"
                    f"{self._first_error()}; last lines of {self.log_path}:\n"
                    f"{log_tail(self.log_path)}"
                )
            if self._logged_ready() and port_accepts_connections(HOST, self.port):
                return
            time.sleep(0.1)
        self.stop()
        raise KafkaError(
            f"Kafka on port {self.port} was not ready after {timeout or self.startup_timeout}s; "
            f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def _new_output(self) -> str:
        """What the broker logged since the current ``spawn()``."""
        try:
            with self.log_path.open("rb") as handle:
                handle.seek(self._log_offset)
                return handle.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def _first_error(self) -> str:
        """The first ERROR/FATAL line and the root causes of its stack trace, if any."""
        lines = self._new_output().splitlines()
        for index, line in enumerate(lines):
            if " ERROR " in line or " FATAL " in line:
                causes = [
                    cause.strip()
                    for cause in lines[index + 1 : index + 200]
                    if cause.startswith("Caused by:")
                ]
                summary = " | ".join([line.strip(), *causes[-2:]])
                return f" (first error: {summary[:1000]})"
        return ""

    def _logged_ready(self) -> bool:
        return READY_MARKER in self._new_output()

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise KafkaError("Kafka was not spawned; call start() or spawn() first")
        return self._process

    def kill(self) -> None:
        """SIGKILL: the broker dies as in a crash, without a controlled shutdown."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
        self.stop()

    def stop(self) -> None:
        """SIGTERM (controlled shutdown), then SIGKILL after ``stop_timeout``. Idempotent."""
        if self._process is not None:
            terminate(self._process, self.stop_timeout)
            self._process = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(ensure_kafka_libs())
