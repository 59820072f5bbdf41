"""Deployment files are checked offline: Kubernetes manifests per overlay against the
Kubernetes schemas (kubernetes-validate, pinned), KEDA and Prometheus Operator resources by a
structural check of the fields their CRDs require, docker-compose.yml against the Compose
specification's schema, YAML lint, and the generated base against its generator."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from yamllint import config as yamllint_config
from yamllint import linter

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.31.0"
OVERLAYS = ("dev", "prod")
SERVICES = ("gateway", "orders", "customers", "catalog", "mapper", "notifier")
CRD_KINDS = {"ScaledObject", "TriggerAuthentication", "ServiceMonitor"}


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    assert kubectl, "kubectl (with built-in kustomize) is needed to render the overlays"
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_builtin_resources_validate_against_kubernetes_schemas(overlay: str) -> None:
    docs = render(overlay)
    checked = 0
    for doc in docs:
        if doc["kind"] in CRD_KINDS:
            continue
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        checked += 1
    assert checked >= 25


def check_scaled_object(doc: dict[str, Any]) -> None:
    spec = doc["spec"]
    assert spec["scaleTargetRef"]["name"].startswith("koppel-")
    assert 0 < spec["minReplicaCount"] <= spec["maxReplicaCount"]
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "rabbitmq"
    meta = trigger["metadata"]
    assert meta["mode"] == "QueueLength" and int(meta["value"]) > 0
    assert meta["queueName"] and meta["protocol"] == "http"
    assert trigger["authenticationRef"]["name"] == "koppel-rabbitmq"


def check_trigger_authentication(doc: dict[str, Any]) -> None:
    for ref in doc["spec"]["secretTargetRef"]:
        assert set(ref) == {"parameter", "name", "key"}


def check_service_monitor(doc: dict[str, Any]) -> None:
    assert doc["spec"]["selector"]["matchLabels"]
    assert all(e["path"] == "/metrics" and e["port"] for e in doc["spec"]["endpoints"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_crd_resources_have_the_fields_their_crds_require(overlay: str) -> None:
    checks = {
        ("keda.sh/v1alpha1", "ScaledObject"): check_scaled_object,
        ("keda.sh/v1alpha1", "TriggerAuthentication"): check_trigger_authentication,
        ("monitoring.coreos.com/v1", "ServiceMonitor"): check_service_monitor,
    }
    seen: dict[str, int] = {}
    for doc in render(overlay):
        key = (doc["apiVersion"], doc["kind"])
        if doc["kind"] in CRD_KINDS:
            checks[key](doc)
            seen[doc["kind"]] = seen.get(doc["kind"], 0) + 1
    assert seen == {"ScaledObject": 5, "TriggerAuthentication": 1, "ServiceMonitor": 1}


def test_every_service_is_deployed_hardened_and_probed() -> None:
    docs = render("prod")
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    assert set(deployments) == {f"koppel-{s}" for s in SERVICES}
    for deployment in deployments.values():
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        security = container["securityContext"]
        assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
        assert security["allowPrivilegeEscalation"] is False
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["resources"]["limits"] and container["resources"]["requests"]
    secrets = [d for d in docs if d["kind"] == "Secret"]
    assert secrets == [], "no secret values are committed"


def test_generated_base_is_up_to_date() -> None:
    spec = importlib.util.spec_from_file_location("render_base", K8S / "render_base.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for path, text in module.render(K8S / "base").items():
        assert path.read_text() == text, f"{path} is stale: run python deploy/k8s/render_base.py"


def test_compose_file_follows_the_compose_specification() -> None:
    schema_path = (
        Path(jsonschema.__file__).parents[1]
        / "check_jsonschema"
        / "builtin_schemas"
        / "vendor"
        / "compose-spec.json"
    )
    schema = json.loads(schema_path.read_text())
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    jsonschema.validate(compose, schema)
    assert set(SERVICES) <= set(compose["services"])
    for name in ("postgres", "rabbitmq", "migrate", "jaeger", "prometheus", "grafana"):
        assert name in compose["services"]


def test_yaml_files_lint_clean() -> None:
    conf = yamllint_config.YamlLintConfig(
        "extends: relaxed\nrules:\n  line-length: {max: 140}\n  document-start: disable\n"
    )
    files = [ROOT / "docker-compose.yml", *sorted((ROOT / "deploy").rglob("*.y*ml"))]
    problems = [
        f"{path.relative_to(ROOT)}:{p.line}: {p.desc}"
        for path in files
        for p in linter.run(path.read_text(), conf)
        if p.level == "error"
    ]
    assert problems == []


def test_grafana_dashboard_is_valid_json_with_panels() -> None:
    dashboard = json.loads((K8S / "base" / "grafana" / "koppel-dashboard.json").read_text())
    assert dashboard["uid"] == "koppel-overview"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert any("koppel_flow_records_total" in e for e in exprs)
