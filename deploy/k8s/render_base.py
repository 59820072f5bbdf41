"""Render deploy/k8s/base/ from one description of the six services.

The six Deployments, Services, PodDisruptionBudgets and autoscalers differ only in a few
values, so they are written from this table instead of by hand: one place to change a probe
or a securityContext. Run ``python deploy/k8s/render_base.py`` after editing; a test checks
that the committed YAML matches this script's output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

IMAGE = "ghcr.io/koppel/koppel:0.1.0"
NAMESPACE_LABEL = {"app.kubernetes.io/part-of": "koppel"}
WORKERS = ("orders", "customers", "catalog", "mapper", "notifier")
RESOURCES = {
    "gateway": ({"cpu": "100m", "memory": "160Mi"}, {"cpu": "1", "memory": "384Mi"}),
    "worker": ({"cpu": "100m", "memory": "128Mi"}, {"cpu": "1", "memory": "256Mi"}),
}

Doc = dict[str, Any]


def labels(service: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": service, **NAMESPACE_LABEL}


def container(service: str) -> Doc:
    requests, limits = RESOURCES["gateway" if service == "gateway" else "worker"]
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 10}
    return {
        "name": service,
        "image": IMAGE,
        "args": ["serve", service, "--host", "0.0.0.0", "--port", "8000"],
        "ports": [{"name": "http", "containerPort": 8000}],
        "envFrom": [
            {"configMapRef": {"name": "koppel-config"}},
            {"secretRef": {"name": "koppel-secrets"}},
        ],
        "env": [{"name": "KOPPEL_SERVICE_NAME", "value": service}],
        "livenessProbe": {**probe, "failureThreshold": 3},
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": "http"},
            "periodSeconds": 5,
            "failureThreshold": 2,
        },
        "startupProbe": {**probe, "periodSeconds": 2, "failureThreshold": 30},
        "resources": {"requests": requests, "limits": limits},
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": 10001,
            "runAsGroup": 10001,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}],
    }


def deployment(service: str) -> Doc:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": f"koppel-{service}", "labels": labels(service)},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": labels(service)},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
            },
            "template": {
                "metadata": {
                    "labels": labels(service),
                    "annotations": {"prometheus.io/scrape": "true", "prometheus.io/port": "8000"},
                },
                "spec": {
                    "serviceAccountName": "koppel",
                    "automountServiceAccountToken": False,
                    # Handlers finish in-flight messages on SIGTERM before the pod goes.
                    "terminationGracePeriodSeconds": 45,
                    "securityContext": {"runAsNonRoot": True, "fsGroup": 10001},
                    "containers": [container(service)],
                    "volumes": [{"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}}],
                },
            },
        },
    }


def service_doc(service: str) -> Doc:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"koppel-{service}", "labels": labels(service)},
        "spec": {
            "selector": labels(service),
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }


def pdb(service: str) -> Doc:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": f"koppel-{service}", "labels": labels(service)},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": labels(service)}},
    }


def gateway_hpa() -> Doc:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "koppel-gateway", "labels": labels("gateway")},
        "spec": {
            "scaleTargetRef": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "name": "koppel-gateway",
            },
            "minReplicas": 2,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 70},
                    },
                }
            ],
        },
    }


def scaled_object(service: str) -> Doc:
    """KEDA scales a worker on the summed depth of its queues (``<service>.*``)."""
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": f"koppel-{service}", "labels": labels(service)},
        "spec": {
            "scaleTargetRef": {"name": f"koppel-{service}"},
            "minReplicaCount": 2,
            "maxReplicaCount": 20,
            "pollingInterval": 15,
            "cooldownPeriod": 300,
            "triggers": [
                {
                    "type": "rabbitmq",
                    "metadata": {
                        "protocol": "http",
                        "mode": "QueueLength",
                        "value": "200",
                        "useRegex": "true",
                        "operation": "sum",
                        "queueName": f"^{service}\\..*",
                        "vhostName": "/",
                    },
                    "authenticationRef": {"name": "koppel-rabbitmq"},
                }
            ],
        },
    }


def documents() -> dict[str, list[Doc]]:
    services = ("gateway", *WORKERS)
    return {
        "deployments.yaml": [deployment(s) for s in services],
        "services.yaml": [service_doc(s) for s in services],
        "pdbs.yaml": [pdb(s) for s in services],
        "autoscaling.yaml": [gateway_hpa()],
        "keda.yaml": [scaled_object(s) for s in WORKERS],
    }


def render(out_dir: Path) -> dict[Path, str]:
    header = "# Generated by deploy/k8s/render_base.py; edit the script, not this file.\n"
    rendered: dict[Path, str] = {}
    for name, docs in documents().items():
        body = "".join("---\n" + yaml.safe_dump(doc, sort_keys=False) for doc in docs)
        rendered[out_dir / name] = header + body
    return rendered


def main() -> int:
    out_dir = Path(__file__).resolve().parent / "base"
    for path, text in render(out_dir).items():
        path.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
