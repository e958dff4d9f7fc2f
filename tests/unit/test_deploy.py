"""deploy/validate.py: the shipped overlays pass, and each kind of mistake it exists to catch is caught."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "deploy"))
import validate


@pytest.fixture(scope="module")
def prod() -> list[dict[str, Any]]:
    return validate.render(validate.DEPLOY / "k8s" / "overlays" / "prod")


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name)


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
    ],
    ids=["schema", "probe-port", "selector", "secret", "migration-job"],
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
