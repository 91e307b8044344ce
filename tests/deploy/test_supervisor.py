"""Supervisor: health waits, clear failures, kill/restart, stop_all, no orphans."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from deploy.local.processes import free_port
from deploy.local.run import _stopped_or_given_up
from deploy.local.supervisor import RestartPolicy, ServiceError, ServiceSpec, Supervisor
from tests.deploy.deploy_test_support import run_parent_then_kill_it, wait_for_exit


def http_server_spec(name: str, logs: Path, *, health_port: int | None = None) -> ServiceSpec:
    """A tiny HTTP server child; health is polled on ``health_port`` (default: its own)."""
    port = free_port()
    return ServiceSpec(
        name=name,
        argv=[sys.executable, "-u", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        health_url=f"http://127.0.0.1:{health_port or port}/",
        cwd=logs,
        log_path=logs / f"{name}.log",
        startup_timeout=15,
    )


def python_spec(name: str, logs: Path, code: str, **overrides: Any) -> ServiceSpec:
    spec = ServiceSpec(
        name=name,
        argv=[sys.executable, "-u", "-c", code],
        log_path=logs / f"{name}.log",
        startup_timeout=10,
    )
    return dataclasses.replace(spec, **overrides)


async def test_start_kill_and_restart(tmp_path: Path) -> None:
    spec = http_server_spec("web", tmp_path)
    assert spec.health_url is not None
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        first_pid = supervisor.pid("web")
        assert first_pid is not None and supervisor.is_running("web")
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(spec.health_url)).status_code == 200

        assert await supervisor.kill("web") == -signal.SIGKILL
        assert not supervisor.is_running("web")
        assert supervisor.returncode("web") == -signal.SIGKILL
        async with httpx.AsyncClient(trust_env=False) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get(spec.health_url)

        await supervisor.restart("web")
        second_pid = supervisor.pid("web")
        assert second_pid is not None and second_pid != first_pid
        assert supervisor.is_running("web")
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(spec.health_url)).status_code == 200
    assert wait_for_exit(second_pid)


async def test_a_child_that_never_gets_healthy_fails_clearly_and_is_stopped(
    tmp_path: Path,
) -> None:
    spec = http_server_spec("deaf", tmp_path, health_port=free_port())
    spec = dataclasses.replace(spec, startup_timeout=1.5)
    async with Supervisor() as supervisor:
        with pytest.raises(ServiceError) as raised:
            await supervisor.start(spec)
        pid = supervisor.pid("deaf")
        assert pid is not None and wait_for_exit(pid)
    message = str(raised.value)
    assert "'deaf' was not healthy after 1.5s" in message
    assert spec.health_url is not None and spec.health_url in message
    assert "Serving HTTP on 127.0.0.1" in message  # the child's own output, from its log


async def test_a_child_that_exits_early_reports_its_code_and_output(tmp_path: Path) -> None:
    spec = python_spec(
        "crasher", tmp_path, "import sys; print('config is broken'); sys.exit(3)",
        health_url=f"http://127.0.0.1:{free_port()}/",
    )  # fmt: skip
    async with Supervisor() as supervisor:
        with pytest.raises(ServiceError) as raised:
            await supervisor.start(spec)
    message = str(raised.value)
    assert "'crasher' exited with code 3 before becoming healthy" in message
    assert "config is broken" in message


async def test_a_missing_executable_is_a_service_error(tmp_path: Path) -> None:
    spec = ServiceSpec(name="ghost", argv=[str(tmp_path / "no-such-binary")])
    async with Supervisor() as supervisor:
        with pytest.raises(ServiceError, match="could not spawn service 'ghost'"):
            await supervisor.start(spec)


async def test_stop_all_escalates_to_sigkill_and_leaves_no_orphan(tmp_path: Path) -> None:
    stubborn_code = (
        "import signal, subprocess, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)'])\n"
        "print('ignoring SIGTERM', flush=True)\n"
        "time.sleep(600)\n"
    )
    supervisor = Supervisor(grace_period=0.5)
    async with supervisor:
        await supervisor.start(python_spec("stubborn", tmp_path, stubborn_code))
        await supervisor.start(http_server_spec("web", tmp_path))
        leaders = [supervisor.pid("stubborn"), supervisor.pid("web")]
        stubborn = psutil.Process(leaders[0])
        grandchildren = wait_for_children(stubborn)
    assert all(pid is not None and wait_for_exit(pid) for pid in leaders)
    assert all(wait_for_exit(child.pid) for child in grandchildren)
    assert supervisor.returncode("stubborn") == -signal.SIGKILL
    assert supervisor.returncode("web") == -signal.SIGTERM


def wait_for_children(process: psutil.Process) -> list[psutil.Process]:
    for _ in range(100):
        children = process.children()
        if children:
            return children
        psutil.wait_procs([], timeout=0.05)
    raise AssertionError("the child never spawned its own child")


async def test_start_all_starts_concurrently_and_one_failure_stops_the_rest(
    tmp_path: Path,
) -> None:
    async with Supervisor() as supervisor:
        await supervisor.start_all(
            [http_server_spec("a", tmp_path), http_server_spec("b", tmp_path)]
        )
        assert supervisor.is_running("a") and supervisor.is_running("b")
        await supervisor.stop_all()

        good = http_server_spec("good", tmp_path)
        bad = python_spec(
            "bad", tmp_path, "raise SystemExit(2)", health_url=f"http://127.0.0.1:{free_port()}/"
        )
        with pytest.raises(ServiceError, match="'bad' exited with code 2"):
            await supervisor.start_all([good, bad])
        assert not supervisor.is_running("good")
        assert not supervisor.is_running("bad")


async def test_unknown_names_and_double_starts_are_refused(tmp_path: Path) -> None:
    async with Supervisor() as supervisor:
        with pytest.raises(ServiceError, match="unknown service 'nobody'"):
            await supervisor.kill("nobody")
        with pytest.raises(ServiceError, match="unknown service 'nobody'"):
            await supervisor.restart("nobody")
        spec = http_server_spec("web", tmp_path)
        await supervisor.start(spec)
        with pytest.raises(ServiceError, match="already running"):
            await supervisor.start(spec)


async def test_custom_health_check_and_env_reach_the_child(tmp_path: Path) -> None:
    marker = tmp_path / "ready"
    code = (
        "import os, pathlib, time\n"
        "pathlib.Path(os.environ['READY_FILE']).write_text(os.environ['GREETING'])\n"
        "time.sleep(600)\n"
    )

    async def file_written() -> bool:
        return marker.exists()

    spec = python_spec(
        "custom", tmp_path, code, health_check=file_written,
        env={"READY_FILE": str(marker), "GREETING": "你好 hello"},
    )  # fmt: skip
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        assert marker.read_text() == "你好 hello"


def test_children_die_when_the_supervising_process_is_killed(tmp_path: Path) -> None:
    script = f"""
import asyncio, sys
from pathlib import Path
from deploy.local.supervisor import ServiceSpec, Supervisor
from deploy.local.processes import free_port

async def main() -> None:
    port = free_port()
    supervisor = Supervisor()
    await supervisor.start(ServiceSpec(
        "web", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        health_url=f"http://127.0.0.1:{{port}}/", log_path=Path({str(tmp_path / "web.log")!r})))
    print(f"CHILD_PID={{supervisor.pid('web')}}", flush=True)
    await asyncio.sleep(120)

asyncio.run(main())
"""
    child_pid = run_parent_then_kill_it(script)
    assert wait_for_exit(child_pid), "the supervised child outlived its supervisor"


QUICK_RESTARTS = RestartPolicy(max_restarts=3, window_seconds=30, initial_backoff=0.1)


async def wait_for_new_pid(supervisor: Supervisor, name: str, old_pid: int) -> int:
    async with asyncio.timeout(15):
        while (pid := supervisor.pid(name)) in (None, old_pid) or not supervisor.is_running(name):
            await asyncio.sleep(0.05)
    assert pid is not None
    return pid


async def test_a_killed_service_is_restarted_healthy_and_the_restart_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = dataclasses.replace(http_server_spec("web", tmp_path), restart=QUICK_RESTARTS)
    assert spec.health_url is not None
    caplog.set_level(logging.INFO, logger="deploy.local.supervisor")
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        first_pid = supervisor.pid("web")
        assert first_pid is not None
        os.kill(first_pid, signal.SIGKILL)  # a crash from outside, not a supervisor stop
        second_pid = await wait_for_new_pid(supervisor, "web", first_pid)
        await supervisor.wait_healthy("web")
        async with httpx.AsyncClient(trust_env=False) as client:
            assert (await client.get(spec.health_url)).status_code == 200
        assert supervisor.restarts("web") == 1
    restarts = [r for r in caplog.records if r.getMessage() == "service exited; restarting"]
    assert len(restarts) == 1
    assert restarts[0].__dict__["service"] == "web"
    assert restarts[0].__dict__["exit_code"] == -signal.SIGKILL
    assert wait_for_exit(second_pid)


async def test_a_crash_loop_is_given_up_loudly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Healthy at once, then exits with 3 a moment later: a crash loop.
    spec = python_spec(
        "crashy", tmp_path, "import time, sys; time.sleep(0.2); sys.exit(3)",
        restart=QUICK_RESTARTS,
    )  # fmt: skip
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        async with asyncio.timeout(20):
            failure = await supervisor.gave_up()
    assert isinstance(failure, ServiceError)
    assert "'crashy' is crash-looping: 4 exits within 30s" in str(failure)
    assert "exit code 3" in str(failure)
    assert supervisor.restarts("crashy") == 3
    assert not supervisor.is_running("crashy")
    assert any(r.levelno == logging.ERROR and "crash" in r.getMessage() for r in caplog.records)


async def test_a_deliberate_stop_or_kill_is_not_restarted(tmp_path: Path) -> None:
    spec = dataclasses.replace(http_server_spec("web", tmp_path), restart=QUICK_RESTARTS)
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        await supervisor.kill("web")
        await asyncio.sleep(0.5)
        assert not supervisor.is_running("web") and supervisor.restarts("web") == 0
        await supervisor.restart("web")
        assert supervisor.is_running("web")


async def test_the_runner_stops_on_ctrl_c_or_when_a_service_is_given_up(tmp_path: Path) -> None:
    crashy = python_spec("crashy", tmp_path, "import sys; sys.exit(3)", restart=QUICK_RESTARTS)
    crashy = dataclasses.replace(crashy, health_check=None)
    async with Supervisor() as supervisor:
        stop = asyncio.Event()
        stop.set()
        assert await _stopped_or_given_up(stop, supervisor) is None
        await supervisor.start(crashy)
        async with asyncio.timeout(20):
            failure = await _stopped_or_given_up(asyncio.Event(), supervisor)
    assert failure is not None and "'crashy' is crash-looping" in str(failure)


async def test_a_restarted_service_not_ready_for_long_is_left_running(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """After a crash during an outage, the new process waits for its dependencies however
    long: it is not killed for not being ready within the start-up timeout."""
    ready = True

    async def readiness() -> bool:
        return ready

    spec = python_spec(
        "patient", tmp_path, "import time; time.sleep(600)",
        health_check=readiness, startup_timeout=0.5, restart=QUICK_RESTARTS,
    )  # fmt: skip
    caplog.set_level(logging.INFO, logger="deploy.local.supervisor")
    async with Supervisor() as supervisor:
        await supervisor.start(spec)
        first_pid = supervisor.pid("patient")
        assert first_pid is not None
        ready = False  # the outage begins, and the service crashes
        os.kill(first_pid, signal.SIGKILL)
        second_pid = await wait_for_new_pid(supervisor, "patient", first_pid)
        await asyncio.sleep(4 * spec.startup_timeout + 1)  # not ready all along
        assert supervisor.pid("patient") == second_pid and supervisor.is_running("patient")
        assert supervisor.restarts("patient") == 1
        assert not any(r.getMessage() == "restarted service not healthy" for r in caplog.records)

        ready = True  # the outage is over
        async with asyncio.timeout(10):
            while not any(r.getMessage() == "service restarted" for r in caplog.records):
                await asyncio.sleep(0.05)
        assert supervisor.pid("patient") == second_pid
    exits = [r for r in caplog.records if r.getMessage() == "service exited; restarting"]
    assert len(exits) == 1
    assert wait_for_exit(second_pid)
