"""Helpers shared by the tests of deploy/local (not a test module itself).

Imported as ``tests.deploy.deploy_test_support`` (the repository root is on sys.path).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

REPO_ROOT = Path(__file__).resolve().parents[2]


async def kafka_round_trip(bootstrap_servers: str) -> bytes:
    """Create a topic, produce one message and consume it back; returns what was read."""
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    payload = f"hello {topic}".encode()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, payload)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap_servers, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=10_000, max_records=1)
    finally:
        await consumer.stop()
    records = [record for batch in batches.values() for record in batch]
    assert records, f"nothing consumed back from {topic}"
    value = records[0].value
    assert isinstance(value, bytes)
    return value


def wait_for_exit(pid: int, timeout: float = 15.0) -> bool:
    """True once ``pid`` is gone (or a zombie nobody reaps yet)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.05)
    return False


def processes_mentioning(text: str) -> list[psutil.Process]:
    """Live processes whose command line contains ``text`` (e.g. a unique data dir)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = process.info["cmdline"] or []
        if process.info["status"] != psutil.STATUS_ZOMBIE and any(text in arg for arg in cmdline):
            found.append(process)
    return found


@contextmanager
def occupied_port() -> Iterator[int]:
    """A port on 127.0.0.1 that is bound and listening for the duration."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def run_parent_then_kill_it(script: str, marker: str = "CHILD_PID=") -> int:
    """Run ``script`` in a fresh Python that prints ``CHILD_PID=<pid>`` once its child is up,
    SIGKILL that Python (no cleanup can run) and return the child's pid."""
    parent = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        env=os.environ | {"PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None
        for line in parent.stdout:
            if line.startswith(marker):
                child_pid = int(line.removeprefix(marker))
                break
        else:
            raise AssertionError(f"parent exited ({parent.wait()}) without printing {marker}")
        assert psutil.pid_exists(child_pid)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        return child_pid
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
