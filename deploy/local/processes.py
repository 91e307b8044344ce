"""Process plumbing shared by the local Kafka, PostgreSQL and service supervisor.

The key guarantee is that a child never outlives the Python process that started it:
each child asks the kernel (prctl PR_SET_PDEATHSIG) to be signalled when its parent dies.
Linux delivers that signal when the *thread* that forked the child exits, so start
long-lived children from the main thread (or the thread running the event loop),
never from a short-lived worker thread such as ``asyncio.to_thread``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pwd
import random
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

_PR_SET_PDEATHSIG = 1

# Resolved once in the parent: after fork only async-signal-safe work should happen,
# so the child must not have to load libc itself.
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_prctl = _libc.prctl
_prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_prctl.restype = ctypes.c_int


def child_setup(
    death_signal: signal.Signals = signal.SIGKILL,
    run_as: pwd.struct_passwd | None = None,
) -> Callable[[], None]:
    """Build a ``preexec_fn`` that optionally drops to ``run_as`` and arms the death signal.

    The death signal is armed after the credential change because the kernel clears it
    whenever the effective uid/gid changes.
    """
    parent_pid = os.getpid()

    def _setup() -> None:
        if run_as is not None:
            os.setgroups([])
            os.setgid(run_as.pw_gid)
            os.setuid(run_as.pw_uid)
        if _prctl(_PR_SET_PDEATHSIG, int(death_signal), 0, 0, 0) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"prctl(PR_SET_PDEATHSIG) failed: {os.strerror(errno)}")
        # The parent may have died between fork() and prctl(): the signal would never come.
        if os.getppid() != parent_pid:
            os._exit(1)

    return _setup


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_PORT = 10_000
_handed_out: set[int] = set()


def _ephemeral_low() -> int:
    """Where the kernel starts choosing source ports of outgoing connections."""
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free a moment ago, below the kernel's ephemeral range and never handed out
    before by this process: a port from that range could be taken, before the server that was
    given it binds, by any outgoing connection (to Kafka, to PostgreSQL) of the processes
    starting meanwhile."""
    high = _ephemeral_low()
    for _ in range(200):
        port = random.randrange(_LOWEST_PORT, high)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port between {_LOWEST_PORT} and {high}")


def port_accepts_connections(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def log_tail(path: Path, max_lines: int = 40) -> str:
    """Last lines of a log file, for error messages; never raises."""
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - 64 * 1024))
            text = handle.read().decode("utf-8", errors="replace")
    except OSError as error:
        return f"(log {path} unreadable: {error})"
    lines = text.splitlines()[-max_lines:]
    return "\n".join(lines) if lines else f"(log {path} is empty)"


def terminate(process: subprocess.Popen[bytes], grace_seconds: float) -> int:
    """SIGTERM, wait up to ``grace_seconds``, then SIGKILL. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait()


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.1,
) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; True if it held."""
    deadline = time.monotonic() + timeout
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)
