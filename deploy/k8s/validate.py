"""Render and check the overlays as CI does: `kustomize build`, `kubeconform -strict` against the
pinned schemas (no network; the operators' are committed in deploy/k8s/schemas/), and
`kube-score` on production.

    uv run python -m deploy.k8s.validate   # exit 1 on the first overlay that fails

The tools are the pinned ones `make k8s-tools` installs into .local/bin.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; it comes with uvicorn

from deploy.k8s.schemas import CORE_DIR, CRD_DIR, REPO_ROOT, schema_locations

K8S_DIR = Path(__file__).resolve().parent
OVERLAYS = {name: K8S_DIR / "overlays" / name for name in ("dev", "prod")}
TOOLS_DIR = REPO_ROOT / ".local" / "bin"
TIMEOUT = 120
# kube-score checks that do not fit this platform, each for a reason (the rest must pass):
KUBE_SCORE_IGNORED = {
    # Images are pinned tags (`kustomize edit set image`), never `latest`; pulling on every pod
    # start would make restarts depend on the image registry for nothing.
    "container-image-pull-policy": "pinned, immutable image tags",
    # Strimzi's and CloudNativePG's pods are made by their operators, so kube-score cannot see
    # the pods that the policies of kafka-cluster and postgres-cluster select.
    "networkpolicy-targets-pod": "the selected pods are the operators' own",
}
# No CPU limit, on purpose: throttling would add latency; the request reserves the CPU.
KUBE_SCORE_FLAGS = ["--ignore-container-cpu-limit"]

Manifest = dict[str, Any]


def tool(name: str) -> str | None:
    installed = TOOLS_DIR / name
    return str(installed) if installed.is_file() else shutil.which(name)


def _run(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, check=False, timeout=TIMEOUT
    )


def build(directory: Path) -> str:
    kustomize = tool("kustomize")
    if kustomize is None:
        raise FileNotFoundError("kustomize is not installed: make k8s-tools")
    result = _run([kustomize, "build", str(directory)])
    if result.returncode != 0:
        raise RuntimeError(f"kustomize build {directory}: {result.stderr}")
    return result.stdout


def documents(rendered: str) -> list[Manifest]:
    return [d for d in yaml.safe_load_all(rendered) if d]


def kubeconform(rendered: str, crd_dir: Path = CRD_DIR) -> subprocess.CompletedProcess[str]:
    binary = tool("kubeconform")
    if binary is None:
        raise FileNotFoundError("kubeconform is not installed: make k8s-tools")
    locations = [arg for loc in schema_locations(crd_dir) for arg in ("-schema-location", loc)]
    return _run([binary, "-strict", "-summary", *locations, "-"], stdin=rendered)


def kube_score(rendered: str) -> subprocess.CompletedProcess[str]:
    binary = tool("kube-score")
    if binary is None:
        raise FileNotFoundError("kube-score is not installed: make k8s-tools")
    ignored = ",".join(sorted(KUBE_SCORE_IGNORED))
    argv = [binary, "score", "--output-format", "ci", *KUBE_SCORE_FLAGS, "--ignore-test", ignored]
    return _run([*argv, "-"], stdin=rendered)


def critical_findings(kube_score_output: str) -> list[str]:
    return [line for line in kube_score_output.splitlines() if line.startswith("[CRITICAL]")]


def main() -> int:
    if not CORE_DIR.is_dir():
        print(f"no Kubernetes schemas in {CORE_DIR}: make k8s-tools", file=sys.stderr)
        return 1
    for name, directory in OVERLAYS.items():
        rendered = build(directory)
        checked = kubeconform(rendered)
        print(f"{name}: {checked.stdout.strip()}")
        if checked.returncode != 0:
            print(checked.stdout + checked.stderr, file=sys.stderr)
            return 1
        if name == "prod" and (findings := critical_findings(kube_score(rendered).stdout)):
            print("\n".join(findings), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
