"""The PrometheusRule of deploy/k8s/monitoring, generated from deploy/monitoring/alerts.yaml.

    uv run python -m deploy.monitoring.prometheus_rule > deploy/k8s/monitoring/prometheus-rule.yaml

The rule groups are copied as text, indented under `spec:`, so the manifest carries exactly the
rules that `promtool` checks and tests; tests/deploy/test_alert_rules.py fails while the
committed manifest differs from what this prints.
"""

from __future__ import annotations

import sys
from pathlib import Path

ALERTS = Path(__file__).resolve().with_name("alerts.yaml")
MANIFEST_HEADER = """\
# Generated from deploy/monitoring/alerts.yaml: do not edit here; edit that file, then
#   uv run python -m deploy.monitoring.prometheus_rule > deploy/k8s/monitoring/prometheus-rule.yaml
# Picked up by the Prometheus Operator. If your Prometheus' ruleSelector asks for a label
# (kube-prometheus-stack: `release: <name>`), add it in deploy/k8s/monitoring/kustomization.yaml.
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: qualverify-alerts
spec:
"""


def render(alerts: Path = ALERTS) -> str:
    lines = alerts.read_text(encoding="utf-8").splitlines()
    start = lines.index("groups:")
    indented = [f"  {line}" if line else line for line in lines[start:]]
    return MANIFEST_HEADER + "\n".join(indented) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
