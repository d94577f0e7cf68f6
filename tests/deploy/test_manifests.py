"""deploy/kubernetes: every manifest is valid against the Kubernetes schemas (kubernetes-validate,
strict: an unknown or misspelt field fails), and the manifests agree with each other and with
the server they run (ports, probes, the command line, grace periods, labels)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import typer
import yaml

from crucible.cli.main import app
from crucible.sandbox_service.wire import SERVICE_NAME

REPO = Path(__file__).resolve().parents[2]
MANIFESTS = sorted((REPO / "deploy" / "kubernetes").glob("*.yaml"))
# The oldest Kubernetes the manifests promise (docs/deploy.md): gRPC probes are GA from 1.27.
KUBERNETES_VERSION = "1.27"


def documents() -> list[dict[str, Any]]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in documents() if doc["kind"] == kind]
    return found


def container() -> dict[str, Any]:
    (only,) = by_kind("Deployment")["spec"]["template"]["spec"]["containers"]
    return only


def serve_options() -> dict[str, Any]:
    """The Dockerfile's entry point plus the container's args, parsed by the real
    ``crucible sandbox serve`` (an unknown flag or a bad value fails here)."""
    entrypoint = next(
        json.loads(line.removeprefix("ENTRYPOINT"))
        for line in (REPO / "Dockerfile").read_text().splitlines()
        if line.startswith("ENTRYPOINT")
    )
    assert entrypoint[:3] == ["crucible", "sandbox", "serve"]
    root: Any = typer.main.get_command(app)
    serve = root.commands["sandbox"].commands["serve"]
    context = serve.make_context("serve", [*entrypoint[3:], *container()["args"]])
    return dict(context.params)


def test_the_manifests_exist() -> None:
    kinds = sorted(doc["kind"] for doc in documents())
    assert kinds == ["Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Service"]


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_each_manifest_is_valid_against_the_kubernetes_schemas(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_validator_catches_a_misspelt_field() -> None:
    broken = by_kind("Deployment")
    broken["spec"]["template"]["spec"]["containers"][0]["readinesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


def test_the_service_is_headless_and_selects_the_pods() -> None:
    service, deployment = by_kind("Service"), by_kind("Deployment")
    assert service["spec"]["clusterIP"] == "None"  # DNS returns every pod: round_robin over all
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    names = {port["name"] for port in container()["ports"]}
    assert {port["targetPort"] for port in service["spec"]["ports"]} == names


def test_ports_probes_and_metrics_match_the_server_command_line() -> None:
    options = serve_options()
    ports = {port["name"]: port["containerPort"] for port in container()["ports"]}
    assert int(options["address"].rsplit(":", 1)[1]) == ports["grpc"]
    assert int(options["metrics_address"].rsplit(":", 1)[1]) == ports["metrics"]
    annotations = by_kind("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == ports["metrics"]
    readiness, liveness = container()["readinessProbe"], container()["livenessProbe"]
    assert readiness["grpc"] == {"port": ports["grpc"], "service": SERVICE_NAME}
    assert liveness["grpc"]["port"] == ports["grpc"]
    assert options["isolation"] == "pooled"


def test_a_pod_is_given_time_to_drain_and_one_worker_per_core() -> None:
    options = serve_options()
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > options["grace_period"]
    resources = container()["resources"]
    assert int(resources["requests"]["cpu"]) == options["workers"]
    assert resources["requests"] == resources["limits"]  # Guaranteed QoS: no CPU borrowed
    assert options["max_connection_age"] is not None  # clients find pods the HPA adds


def test_only_the_privilege_nsjail_needs_is_granted() -> None:
    assert container()["securityContext"] == {"privileged": True}
    pod = by_kind("Deployment")["spec"]["template"]["spec"]
    assert pod["automountServiceAccountToken"] is False  # programs never reach the API server
    assert not pod.get("hostNetwork") and not pod.get("hostPID")


def test_the_autoscaler_and_budget_target_the_deployment() -> None:
    deployment = by_kind("Deployment")
    hpa, pdb = by_kind("HorizontalPodAutoscaler"), by_kind("PodDisruptionBudget")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert {metric["resource"]["name"] for metric in hpa["spec"]["metrics"]} == {"cpu"}
    assert "cpu" in container()["resources"]["requests"]  # Utilization is relative to it
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
