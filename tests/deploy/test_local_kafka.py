"""LocalKafka: real broker round trip, restart on the same data, clean stop, failures."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from deploy.local import kafka as kafka_module
from deploy.local.kafka import (
    KAFKA_VERSION,
    POM_PATH,
    KafkaError,
    LocalKafka,
    ensure_kafka_libs,
    new_cluster_id,
    server_properties,
)
from deploy.local.processes import free_port
from tests.deploy.deploy_test_support import (
    kafka_round_trip,
    occupied_port,
    processes_mentioning,
    run_parent_then_kill_it,
    wait_for_exit,
)

pytestmark = pytest.mark.integration


def test_pom_pins_the_same_kafka_version_as_the_module() -> None:
    pom = POM_PATH.read_text()
    assert f"<kafka.version>{KAFKA_VERSION}</kafka.version>" in pom
    assert KAFKA_VERSION == "4.1.1"


def test_cluster_ids_are_22_url_safe_chars_never_starting_with_a_dash() -> None:
    ids = {new_cluster_id() for _ in range(500)}
    assert len(ids) == 500
    for cluster_id in ids:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22}", cluster_id)
        assert not cluster_id.startswith("-")


def test_server_properties_describe_a_single_combined_loopback_node(tmp_path: Path) -> None:
    lines = server_properties(tmp_path, port=19092, controller_port=19093).splitlines()
    settings = dict(line.split("=", 1) for line in lines)
    assert settings["process.roles"] == "broker,controller"
    assert settings["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert settings["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert settings["controller.quorum.bootstrap.servers"] == "127.0.0.1:19093"
    assert settings["auto.create.topics.enable"] == "false"
    assert settings["log.dirs"] == str(tmp_path / "kraft-logs")


def test_a_complete_cache_is_reused_without_calling_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / f"kafka-{KAFKA_VERSION}"
    (home / "libs").mkdir(parents=True)
    (home / "complete.marker").write_text(kafka_module._pom_digest())
    monkeypatch.setenv("PATH", "/nonexistent")  # any Maven call would now fail
    assert ensure_kafka_libs(tmp_path) == home / "libs"


def test_a_stale_cache_is_refetched_and_a_missing_maven_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / f"kafka-{KAFKA_VERSION}"
    (home / "libs").mkdir(parents=True)
    (home / "complete.marker").write_text("digest-of-an-older-pom")
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(KafkaError, match="Maven"):
        ensure_kafka_libs(tmp_path)


async def test_start_round_trip_restart_on_same_data_and_clean_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    broker = LocalKafka(data_dir, port=free_port(), controller_port=free_port())
    with broker:
        pid = broker.pid
        assert pid is not None
        consumed = await kafka_round_trip(broker.bootstrap_servers)
        assert consumed.startswith(b"hello roundtrip-")
    assert not broker.is_running()
    assert wait_for_exit(pid)
    assert processes_mentioning(str(data_dir)) == []

    # The same data dir starts again without reformatting (the local runner relies on it).
    meta = (data_dir / "kraft-logs" / "meta.properties").read_text()
    with LocalKafka(data_dir, port=free_port(), controller_port=free_port()) as again:
        assert (await kafka_round_trip(again.bootstrap_servers)).startswith(b"hello")
    assert (data_dir / "kraft-logs" / "meta.properties").read_text() == meta
    assert processes_mentioning(str(data_dir)) == []


def test_a_busy_port_gives_an_error_with_the_log_tail(tmp_path: Path) -> None:
    data_dir = tmp_path / "kafka"
    with occupied_port() as busy:
        broker = LocalKafka(data_dir, port=busy, controller_port=free_port(), startup_timeout=60)
        with pytest.raises(KafkaError) as raised:
            broker.start()
    message = str(raised.value)
    assert "last lines of" in message
    assert "bind" in message.lower() or "address already in use" in message.lower()
    assert not broker.is_running()
    assert processes_mentioning(str(data_dir)) == []


def test_wait_ready_before_spawn_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(KafkaError, match="not spawned"):
        LocalKafka(tmp_path, port=free_port(), controller_port=free_port()).wait_ready()


def test_the_jvm_dies_when_its_python_parent_is_killed(tmp_path: Path) -> None:
    script = f"""
from pathlib import Path
from deploy.local.kafka import LocalKafka
from deploy.local.processes import free_port
broker = LocalKafka(Path({str(tmp_path / "kafka")!r}), free_port(), free_port())
broker.spawn()
print(f"CHILD_PID={{broker.pid}}", flush=True)
import time; time.sleep(120)
"""
    java_pid = run_parent_then_kill_it(script)
    assert wait_for_exit(java_pid), "the broker JVM outlived its parent"


def test_storage_format_failure_is_reported(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("no java")
    bad_libs = tmp_path / "empty-libs"
    bad_libs.mkdir()
    broker = LocalKafka(tmp_path / "kafka", free_port(), free_port(), libs_dir=bad_libs)
    with pytest.raises(KafkaError, match="StorageTool format failed"):
        broker.spawn()
    assert not broker.is_running()


def test_a_missing_java_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    broker = LocalKafka(tmp_path / "kafka", free_port(), free_port(), libs_dir=tmp_path)
    with pytest.raises(KafkaError, match="no 'java' on PATH"):
        broker.spawn()
