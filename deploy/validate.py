"""`make lint` for deploy/: renders each Kubernetes overlay and validates every object against the
Kubernetes schemas (kubernetes-validate, strict), then checks what the schemas cannot: probes and
Services name ports that exist, selectors match pods, every referenced Secret or ConfigMap is made by
the overlay or listed as made out of band, and compose runs every service with a migration job.

The kustomize binary is not installable from the package registries we reach, so this renders the
subset of kustomization.yaml we use (resources, namespace, images, labels, generators, JSON 6902
patches) and refuses any other field, rather than validating something other than what kubectl applies."""

from __future__ import annotations

import copy
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

DEPLOY = Path(__file__).resolve().parent
KUBERNETES_VERSION = "1.33.0"
SUPPORTED = {
    "apiVersion",
    "kind",
    "resources",
    "namespace",
    "images",
    "labels",
    "generatorOptions",
    "secretGenerator",
    "configMapGenerator",
    "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
# Secrets made outside the manifests (the secret store in prod, cert-manager for TLS).
OUT_OF_BAND = {"hub-tokens", "partner-api-tls"} | {
    f"{s}-database" for s in ("companies", "investors", "consulting", "notifications")
}
SERVICES = ["companies", "investors", "consulting", "notifications"]


def load(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def render(folder: Path) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k folder` would send, for the fields we use."""
    spec = load(folder / "kustomization.yaml")[0]
    unknown = set(spec) - SUPPORTED
    if unknown:
        raise SystemExit(f"{folder}: kustomization fields this check cannot render: {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for resource in spec.get("resources", []):
        path = folder / resource
        objects += render(path) if path.is_dir() else load(path)
    hashless = spec.get("generatorOptions", {}).get("disableNameSuffixHash", False)
    for kind, key in (("Secret", "secretGenerator"), ("ConfigMap", "configMapGenerator")):
        for generator in spec.get(key, []):
            if not hashless:
                raise SystemExit(f"{folder}: generators must set disableNameSuffixHash (names are referenced as is)")
            data = dict(item.split("=", 1) for item in generator.get("literals", []))
            objects.append({"apiVersion": "v1", "kind": kind, "metadata": {"name": generator["name"]}, "data": data})
    for obj in objects:
        if spec.get("namespace") and obj["kind"] not in CLUSTER_SCOPED:
            obj["metadata"]["namespace"] = spec["namespace"]
        for entry in spec.get("labels", []):
            obj["metadata"].setdefault("labels", {}).update(entry["pairs"])
        for container in containers(obj):
            for image in spec.get("images", []):
                if container["image"].split(":")[0] == image["name"]:
                    container["image"] = f"{image.get('newName', image['name'])}:{image.get('newTag', 'latest')}"
    for patch in spec.get("patches", []):
        target, operations = patch["target"], yaml.safe_load(patch["patch"])
        matched = [
            o
            for o in objects
            if o["kind"] == target.get("kind", o["kind"])
            and o["metadata"]["name"] == target.get("name", o["metadata"]["name"])
        ]
        if not matched:
            raise SystemExit(f"{folder}: a patch matches nothing: {target}")
        for obj in matched:
            for operation in operations:
                apply_operation(obj, operation)
    return objects


def apply_operation(obj: dict[str, Any], operation: dict[str, Any]) -> None:
    """One JSON Patch (RFC 6902) add, replace or remove."""
    *parents, last = [p.replace("~1", "/").replace("~0", "~") for p in operation["path"].strip("/").split("/")]
    node: Any = obj
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) and last != "-" else last
    op = operation["op"]
    if op == "replace":
        node[key]
        node[key] = copy.deepcopy(operation["value"])
    elif op == "add":
        if isinstance(node, list):
            node.insert(len(node) if key == "-" else key, copy.deepcopy(operation["value"]))
        else:
            node[key] = copy.deepcopy(operation["value"])
    elif op == "remove":
        del node[key]
    else:
        raise SystemExit(f"unsupported patch op {op!r}")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    if obj["kind"] in ("Deployment", "Job", "StatefulSet", "DaemonSet"):
        return obj["spec"]["template"]["spec"]
    return None


def containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(obj)
    return [*spec.get("initContainers", []), *spec["containers"]] if spec else []


def check(objects: list[dict[str, Any]], where: str) -> list[str]:
    problems: list[str] = []
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            problems.append(f"{where}: {obj['kind']}/{obj['metadata']['name']}: {exc.message}")
    by_kind: dict[str, dict[str, dict[str, Any]]] = {}
    for obj in objects:
        by_kind.setdefault(obj["kind"], {})[obj["metadata"]["name"]] = obj
    secrets = set(by_kind.get("Secret", {})) | OUT_OF_BAND
    configs = set(by_kind.get("ConfigMap", {}))
    for obj in objects:
        spec = pod_spec(obj)
        if spec is None:
            continue
        name = f"{where}: {obj['kind']}/{obj['metadata']['name']}"
        if (
            obj["kind"] == "Deployment"
            and obj["spec"]["selector"]["matchLabels"].items() - obj["spec"]["template"]["metadata"]["labels"].items()
        ):
            problems.append(f"{name}: the selector does not match the pod labels")
        for volume in spec.get("volumes", []):
            if "secret" in volume and volume["secret"]["secretName"] not in secrets:
                problems.append(f"{name}: volume of unknown Secret {volume['secret']['secretName']}")
        for container in containers(obj):
            numbers = {p["containerPort"] for p in container.get("ports", [])}
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                port = container.get(probe, {}).get("grpc", {}).get("port")
                if port is not None and port not in numbers:
                    problems.append(f"{name}: {probe} on port {port}, which the container does not open")
            for source in container.get("envFrom", []):
                if source.get("configMapRef", {}).get("name") not in configs | {None}:
                    problems.append(f"{name}: envFrom unknown ConfigMap {source['configMapRef']['name']}")
            for env in container.get("env", []):
                ref = env.get("valueFrom", {}).get("secretKeyRef")
                if ref and ref["name"] not in secrets:
                    problems.append(f"{name}: env {env['name']} from unknown Secret {ref['name']}")
    pods = [(o, pod_spec(o)) for o in objects if o["kind"] == "Deployment"]
    for service in by_kind.get("Service", {}).values():
        selector = service["spec"]["selector"].items()
        targets = [o for o, _ in pods if selector <= o["spec"]["template"]["metadata"]["labels"].items()]
        if not targets:
            problems.append(f"{where}: Service/{service['metadata']['name']} selects no Deployment")
            continue
        named = {p.get("name") for t in targets for c in containers(t) for p in c.get("ports", [])}
        for port in service["spec"]["ports"]:
            if isinstance(port["targetPort"], str) and port["targetPort"] not in named:
                problems.append(
                    f"{where}: Service/{service['metadata']['name']} targets unknown port {port['targetPort']}"
                )
    for hpa in by_kind.get("HorizontalPodAutoscaler", {}).values():
        if hpa["spec"]["scaleTargetRef"]["name"] not in by_kind.get("Deployment", {}):
            problems.append(f"{where}: HorizontalPodAutoscaler/{hpa['metadata']['name']} scales nothing")
    for service_name in SERVICES:
        for kind, name in (("Deployment", service_name), ("Job", f"{service_name}-migrate")):
            if name not in by_kind.get(kind, {}):
                problems.append(f"{where}: no {kind}/{name}")
    return problems


def check_compose() -> list[str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    problems = []
    for name in SERVICES:
        service, migrate = compose.get(name), compose.get(f"{name}-migrate")
        if not service or not migrate:
            problems.append(f"compose: {name} or {name}-migrate is missing")
            continue
        if service["command"] != [f"services.{name}"] or migrate["command"] != [f"services.{name}", "migrate"]:
            problems.append(f"compose: {name} runs {service['command']} / {migrate['command']}")
        if f"{name}-migrate" not in service.get("depends_on", {}) or "healthcheck" not in service:
            problems.append(f"compose: {name} must wait for its migration and have a health check")
    return problems


def main() -> None:
    problems = check_compose()
    overlays = sorted((DEPLOY / "k8s" / "overlays").iterdir())
    for overlay in overlays:
        problems += check(render(overlay), f"overlays/{overlay.name}")
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        raise SystemExit(1)
    print(f"deploy: compose and {len(overlays)} Kubernetes overlays valid against Kubernetes {KUBERNETES_VERSION}")


if __name__ == "__main__":
    main()
