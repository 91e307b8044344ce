"""The Prometheus alert rules (deploy/monitoring): promtool checks them and runs their unit
tests; every alert carries a severity and bilingual annotations and is tested both firing and
quiet; the Kubernetes PrometheusRule is exactly what the generator makes of them, and the
ServiceMonitor scrapes every service that serves /metrics."""

from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml  # type: ignore[import-untyped]  # PyYAML ships no stubs; it comes with uvicorn

from deploy.local.platform import REPO_ROOT
from deploy.monitoring.prometheus_rule import render
from tests.deploy.test_compose import load_k8s, of_kind

MONITORING = REPO_ROOT / "deploy" / "monitoring"
ALERTS = MONITORING / "alerts.yaml"
ALERTS_TEST = MONITORING / "alerts_test.yaml"
K8S_MONITORING = REPO_ROOT / "deploy" / "k8s" / "monitoring"
SEVERITIES = {"warning", "critical"}
ANNOTATIONS = {"summary", "summary_zh", "description", "description_zh"}
# What the issue asks to be alerted on: each must be watched by some rule.
WATCHED_SERIES = (
    "qv_consumer_group_lag",
    "qv_consumer_group_lag_seconds",
    "qv_dead_letters",
    "verifier_breaker_open",
    "qv_verifications_stuck",
    "qv_console_kafka_sampled_at_seconds",
    "certmanager_certificate_expiration_timestamp_seconds",
    "up{",
)
# Services that serve /metrics, and the name of the Service port they serve it on.
METRICS_PORTS = {
    "intake": "http",
    "console": "http",
    "registry": "ops",
    "verifier": "ops",
    "notifier": "ops",
}

Yaml = dict[str, Any]


@pytest.fixture(scope="module")
def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail("promtool is missing: `make setup` installs Debian's prometheus package")
    return found


def run_promtool(promtool: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, check=False, timeout=120, cwd=cwd
    )


def rules_of(alerts: Yaml) -> list[Yaml]:
    return [rule for group in alerts["groups"] for rule in group["rules"]]


def load_yaml(path: Path) -> Yaml:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_promtool_checks_the_rules(promtool: str) -> None:
    result = run_promtool(promtool, "check", "rules", ALERTS.name, cwd=MONITORING)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(rules_of(load_yaml(ALERTS)))} rules found" in result.stdout


def test_promtool_rejects_a_broken_rule(promtool: str, tmp_path: Path) -> None:
    broken = load_yaml(ALERTS)
    broken["groups"][0]["rules"][0]["expr"] = "sum by (group (qv_consumer_group_lag) > 1000"
    (tmp_path / "alerts.yaml").write_text(yaml.safe_dump(broken, allow_unicode=True))

    result = run_promtool(promtool, "check", "rules", "alerts.yaml", cwd=tmp_path)

    assert result.returncode != 0
    assert "parse error" in result.stdout + result.stderr


def test_the_rules_pass_their_unit_tests(promtool: str) -> None:
    result = run_promtool(promtool, "test", "rules", ALERTS_TEST.name, cwd=MONITORING)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_unit_tests_catch_a_changed_threshold_or_wording(promtool: str, tmp_path: Path) -> None:
    drifted = ALERTS.read_text(encoding="utf-8")
    # Summing the console replicas' figures doubles the notifier's steady 600 past 1000.
    lag = "by (group, topic) (qv_consumer_group_lag) >"
    drifted = drifted.replace(f"max {lag}", f"sum {lag}")
    drifted = drifted.replace("breaker of awarding body", "breaker of body")
    (tmp_path / "alerts.yaml").write_text(drifted, encoding="utf-8")
    shutil.copy(ALERTS_TEST, tmp_path / ALERTS_TEST.name)

    result = run_promtool(promtool, "test", "rules", ALERTS_TEST.name, cwd=tmp_path)

    assert result.returncode != 0
    report = result.stdout + result.stderr
    assert "alertname: QvConsumerLagHigh" in report
    assert "alertname: QvBreakerOpen" in report


def test_every_alert_has_a_severity_and_annotations_in_english_and_chinese() -> None:
    rules = rules_of(load_yaml(ALERTS))

    assert len({rule["alert"] for rule in rules}) == len(rules), "alert names repeat"
    for rule in rules:
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert set(rule["annotations"]) == ANNOTATIONS, rule["alert"]
        assert all(str(text).strip() for text in rule["annotations"].values()), rule["alert"]
    expressions = "\n".join(rule["expr"] for rule in rules)
    for series in WATCHED_SERIES:
        assert series in expressions, series


def test_every_alert_is_tested_firing_and_quiet() -> None:
    alerts = {rule["alert"] for rule in rules_of(load_yaml(ALERTS))}
    cases = [case for test in load_yaml(ALERTS_TEST)["tests"] for case in test["alert_rule_test"]]

    firing = {case["alertname"] for case in cases if case.get("exp_alerts")}
    quiet = {case["alertname"] for case in cases if not case.get("exp_alerts")}

    assert firing == alerts
    assert quiet == alerts


# --------------------------------------------------------------------------- kubernetes


def load_monitoring() -> list[Yaml]:
    return load_k8s(K8S_MONITORING)


def test_the_prometheus_rule_is_generated_from_the_alert_rules() -> None:
    manifest = K8S_MONITORING / "prometheus-rule.yaml"

    assert manifest.read_text(encoding="utf-8") == render(), (
        "deploy/k8s/monitoring/prometheus-rule.yaml is stale: run "
        "`uv run python -m deploy.monitoring.prometheus_rule > "
        "deploy/k8s/monitoring/prometheus-rule.yaml`"
    )
    (rule,) = of_kind(load_monitoring(), "PrometheusRule")
    assert rule["spec"]["groups"] == load_yaml(ALERTS)["groups"]


def test_the_generator_carries_an_edit_of_the_rules(tmp_path: Path) -> None:
    edited = ALERTS.read_text(encoding="utf-8").replace("for: 15m", "for: 45m")
    (tmp_path / "alerts.yaml").write_text(edited, encoding="utf-8")

    rule = yaml.safe_load(render(tmp_path / "alerts.yaml"))

    assert rule["spec"]["groups"] == yaml.safe_load(edited)["groups"]
    assert rule["spec"]["groups"] != load_yaml(ALERTS)["groups"]


def service_monitor_targets(monitor: Yaml, services: list[Yaml]) -> dict[str, set[str]]:
    """The Services a ServiceMonitor selects (by `In` expressions and labels), each with the
    port names of its endpoints that the Service has."""
    selector = monitor["spec"]["selector"]
    wanted_ports = {endpoint["port"] for endpoint in monitor["spec"]["endpoints"]}
    targets: dict[str, set[str]] = {}
    for service in services:
        labels = service["metadata"].get("labels", {})
        if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
            continue
        expressions = selector.get("matchExpressions", [])
        if any(labels.get(e["key"]) not in e["values"] for e in expressions):
            continue
        ports = {port["name"] for port in service["spec"]["ports"]} & wanted_ports
        targets[service["metadata"]["name"]] = ports
    return targets


def test_the_service_monitor_scrapes_every_service_on_its_metrics_port() -> None:
    (monitor,) = of_kind(load_monitoring(), "ServiceMonitor")
    services = list(of_kind(load_k8s(), "Service"))

    assert {e["path"] for e in monitor["spec"]["endpoints"]} == {"/metrics"}
    assert service_monitor_targets(monitor, services) == {
        name: {port} for name, port in METRICS_PORTS.items()
    }


def test_the_service_monitor_check_sees_a_service_left_out() -> None:
    (monitor,) = of_kind(load_monitoring(), "ServiceMonitor")
    narrowed = copy.deepcopy(monitor)
    narrowed["spec"]["selector"]["matchExpressions"][0]["values"].remove("console")
    services = list(of_kind(load_k8s(), "Service"))

    assert "console" not in service_monitor_targets(narrowed, services)


@pytest.mark.skipif(shutil.which("kubectl") is None, reason="kubectl is not installed")
def test_kustomize_builds_the_monitoring_manifests() -> None:
    kubectl = shutil.which("kubectl")
    assert kubectl is not None
    result = subprocess.run(
        [kubectl, "kustomize", str(K8S_MONITORING)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    built = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {d["kind"] for d in built} == {"PrometheusRule", "ServiceMonitor"}
    assert {d["metadata"]["namespace"] for d in built} == {"qualverify"}
    (rule,) = of_kind(built, "PrometheusRule")
    assert rule["spec"]["groups"] == load_yaml(ALERTS)["groups"]
