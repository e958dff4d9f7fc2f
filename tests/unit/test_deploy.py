"""deploy/validate.py: the shipped overlays and compose pass, and each kind of mistake it exists to catch is caught
(the console's too: HTTP probes, no migration, the services' addresses)."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))
import validate


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return validate.render(validate.DEPLOY / "k8s" / "overlays" / "prod")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((validate.DEPLOY / "compose.yaml").read_text())["services"]
    return services


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


def console(objects: list[dict[str, Any]]) -> dict[str, Any]:
    container: dict[str, Any] = find(objects, "Deployment", "console")["spec"]["template"]["spec"]["containers"][0]
    return container


def console_env(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(e for e in console(objects)["env"] if e["name"] == name)


def test_shipped_manifests_are_valid(prod: list[dict[str, Any]]) -> None:
    assert validate.check_compose() == []
    for overlay in ("dev", "prod"):
        assert validate.check(validate.render(validate.DEPLOY / "k8s" / "overlays" / overlay), overlay) == []
    deployment = find(prod, "Deployment", "investors")
    assert deployment["metadata"]["namespace"] == "hub"
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "registry.hub.example.kr/hub-crm:0.1.0"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert find(prod, "HorizontalPodAutoscaler", "investors")["spec"]["minReplicas"] == 3


def test_the_console_is_deployed_beside_the_services(prod: list[dict[str, Any]]) -> None:
    container = console(prod)
    assert container["image"] == "registry.hub.example.kr/hub-crm:0.1.0"
    assert container["args"] == ["services.console"]
    assert container["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert find(prod, "Deployment", "console")["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == 10001
    assert find(prod, "Service", "console")["spec"]["ports"] == [
        {"name": "http", "port": 80, "targetPort": "http", "appProtocol": "http"}
    ]
    assert find(prod, "HorizontalPodAutoscaler", "console")["spec"]["minReplicas"] == 3
    assert not [o for o in prod if o["kind"] == "Job" and "console" in o["metadata"]["name"]]
    key = console_env(prod, "HUB_CONSOLE_SESSION_KEY")["valueFrom"]["secretKeyRef"]
    assert key == {"name": "console-session", "key": "key", "optional": True}
    dev = validate.render(validate.DEPLOY / "k8s" / "overlays" / "dev")
    assert "console-session" in {o["metadata"]["name"] for o in dev if o["kind"] == "Secret"}


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        (
            lambda o: find(o, "Deployment", "companies")["spec"]["template"]["spec"]["containers"][0].update(bogus=1),
            "'bogus' was unexpected",
        ),
        (
            lambda o: find(o, "Deployment", "companies")["spec"]["template"]["spec"]["containers"][0]["readinessProbe"][
                "grpc"
            ].update(port=9999),
            "readinessProbe on port 9999",
        ),
        (
            lambda o: find(o, "Service", "consulting")["spec"]["selector"].update({"app.kubernetes.io/name": "x"}),
            "selects no Deployment",
        ),
        (
            lambda o: find(o, "Deployment", "notifications")["spec"]["template"]["spec"]["containers"][0]["env"][0][
                "valueFrom"
            ]["secretKeyRef"].update(name="missing"),
            "unknown Secret missing",
        ),
        (lambda o: o.remove(find(o, "Job", "investors-migrate")), "no Job/investors-migrate"),
        (lambda o: o.remove(find(o, "Deployment", "console")), "no Deployment/console"),
        (lambda o: o.remove(find(o, "PodDisruptionBudget", "console")), "has no PodDisruptionBudget/console"),
        (lambda o: console(o)["livenessProbe"]["httpGet"].update(port="web"), "livenessProbe on port web"),
        (lambda o: console(o)["readinessProbe"]["httpGet"].update(path="/"), "readinessProbe must be an HTTP GET"),
        (lambda o: console(o)["ports"][0].update(containerPort=8080), "listens on 50080"),
        (lambda o: console_env(o, "HUB_CONSOLE_HOST").update(value="127.0.0.1"), "HUB_CONSOLE_HOST must be"),
        (
            lambda o: console_env(o, "HUB_INVESTORS_ADDRESS").update(value="investors:50061"),
            "Service/investors has no port 50061",
        ),
        (
            lambda o: console_env(o, "HUB_CONSULTING_ADDRESS").update(value="companies:50061"),
            "does not name Service/consulting",
        ),
        (
            lambda o: find(o, "Job", "companies-migrate")["spec"]["template"]["spec"]["containers"][0].update(
                args=["services.console", "migrate"]
            ),
            "no database to migrate",
        ),
    ],
    ids=[
        "schema",
        "probe-port",
        "selector",
        "secret",
        "migration-job",
        "console",
        "console-pdb",
        "console-probe-port",
        "console-probe-path",
        "console-port",
        "console-host",
        "console-address-port",
        "console-address-service",
        "console-migration",
    ],
)
def test_each_mistake_is_reported(prod: list[dict[str, Any]], mistake: Any, expected: str) -> None:
    objects = copy.deepcopy(prod)
    mistake(objects)
    problems = validate.check(objects, "prod")
    assert any(expected in p for p in problems), problems


def test_an_unrenderable_kustomization_is_refused(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nhelmCharts: []\n")
    with pytest.raises(SystemExit, match="helmCharts"):
        validate.render(tmp_path)


@pytest.mark.parametrize(
    ("mistake", "expected"),
    [
        (lambda c: c.pop("console"), "console is missing"),
        (lambda c: c["console"]["depends_on"].pop("notifications"), "wait for notifications"),
        (lambda c: c["console"]["environment"].update(HUB_COMPANIES_ADDRESS="127.0.0.1:50061"), "not companies:50061"),
        (lambda c: c["console"].pop("healthcheck"), "health check of http://127.0.0.1:50080/healthz"),
        (lambda c: c["console"].update(ports=["50080:50080"]), "on 127.0.0.1 only"),
        (lambda c: c["console"]["environment"].pop("HUB_CONSOLE_HOST"), "HUB_CONSOLE_HOST 0.0.0.0"),
        (lambda c: c.update({"console-migrate": {"command": ["services.console", "migrate"]}}), "no database"),
    ],
    ids=["missing", "depends-on", "address", "healthcheck", "published", "host", "migration"],
)
def test_each_console_compose_mistake_is_reported(compose: dict[str, Any], mistake: Any, expected: str) -> None:
    services = copy.deepcopy(compose)
    mistake(services)
    problems = validate.check_compose(services)
    assert any(expected in p for p in problems), problems
