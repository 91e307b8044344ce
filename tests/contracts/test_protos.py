"""The gRPC contracts pass `buf lint` (STANDARD), are `buf format`ted, and break nothing against
the last release (protos/releases/registry-v1.binpb, an image made with `buf build`).

buf is pinned in package.json; `make setup` (or `make node_modules/.installed`) installs it.
"""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUF = REPO / "node_modules" / ".bin" / "buf"
RELEASE = REPO / "protos" / "releases" / "registry-v1.binpb"
CONTRACT = Path("qualverify/registry/v1/registry.proto")


def buf(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    if not BUF.exists():
        pytest.fail(f"{BUF} is missing: run `make node_modules/.installed`")
    return subprocess.run(
        [str(BUF), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def test_the_protos_pass_buf_lint() -> None:
    result = buf("lint")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_protos_are_buf_formatted() -> None:
    result = buf("format", "--diff", "--exit-code")
    assert result.returncode == 0, result.stdout + result.stderr


def test_nothing_breaks_the_last_release() -> None:
    result = buf("breaking", "--against", str(RELEASE))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of buf.yaml and protos/ to change without touching the repository."""
    shutil.copy(REPO / "buf.yaml", tmp_path / "buf.yaml")
    shutil.copytree(REPO / "protos", tmp_path / "protos")
    return tmp_path


def test_the_breaking_check_catches_a_removed_field(workspace: Path) -> None:
    contract = workspace / "protos" / CONTRACT
    text = contract.read_text()
    removed = "  string revocation_reason = 7;\n"
    assert removed in text
    contract.write_text(text.replace(removed, "", 1))
    result = buf("breaking", "--against", str(RELEASE), cwd=workspace)
    assert result.returncode != 0
    assert "revocation_reason" in result.stdout


def test_the_lint_catches_a_shared_response_type(workspace: Path) -> None:
    contract = workspace / "protos" / CONTRACT
    text = contract.read_text()
    shared = "rpc GetVerification(GetVerificationRequest) returns (GetVerificationResponse);"
    assert shared in text
    contract.write_text(
        text.replace(shared, "rpc GetVerification(GetVerificationRequest) returns (Verification);")
    )
    result = buf("lint", cwd=workspace)
    assert result.returncode != 0
    assert "GetVerificationResponse" in result.stdout
