"""`python -m simulator` as a separate process: settings from env, fault file, SIGTERM."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from simulator.population import find


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the simulator did not become healthy")


def test_process_serves_from_env_settings_and_stops_on_sigterm(tmp_path: Path) -> None:
    faults_file = tmp_path / "faults.json"
    faults_file.write_text(
        json.dumps(
            {
                "default": {"latency_median_ms": 0, "latency_p99_ms": 0},
                "bodies": {"huawei": {"outage": True}},
            }
        )
    )
    http_port = free_port()
    env = {
        **os.environ,
        "SIMULATOR_HTTP_PORT": str(http_port),
        "SIMULATOR_SMTP_PORT": str(free_port()),
        "SIMULATOR_SEED": "77",
        "SIMULATOR_API_KEY_BASE": "other",
        "SIMULATOR_FAULTS_FILE": str(faults_file),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "simulator"],
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{http_port}"
    try:
        wait_until_healthy(base_url, process)
        cert = find(77, "aws")
        answer = httpx.get(
            f"{base_url}/credential-api/aws/v1/credentials/{cert.credential_id}",
            headers={"Authorization": "Bearer other-aws-key"},
        )
        assert answer.json()["holder_name"] == cert.holder_name
        down = httpx.get(f"{base_url}/vc/huawei/.well-known/jwks.json")
        assert down.status_code == 503
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=15)
    assert process.returncode == 0
    lines = [json.loads(line) for line in output.decode().splitlines() if line.strip()]
    assert {"started", "stopped"} <= {line["message"] for line in lines}
    assert cert.holder_name not in output.decode()
    assert cert.certificate_number not in output.decode()
