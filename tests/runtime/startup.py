"""Start a service's entry point outside development and read how it refuses to start."""

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# Whatever the test process holds of these is left out: the case sets its own.
PLATFORM_SECRETS = {"QV_ENV", "WEBHOOK_SECRETS_KEY", "QV_EGRESS_ALLOW"}


def refused_start(module: str, prefix: str, env: dict[str, str]) -> list[str]:
    """The lines `python -m <module>` writes to stderr as it exits without starting."""
    base = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(prefix) and name not in PLATFORM_SECRETS
    }
    result = subprocess.run(
        [sys.executable, "-m", module],
        cwd=REPO_ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0, result.stderr
    return result.stderr.strip().splitlines()
