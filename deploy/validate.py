"""`make lint` for deploy/: renders each Kubernetes overlay and validates every object against the
Kubernetes schemas (kubernetes-validate, strict), then checks what the schemas cannot: probes and
Services name ports that exist, selectors match pods, every referenced Secret or ConfigMap is made by
the overlay or listed as made out of band, and compose runs every service with a migration job. The console
(HTTP, no database) is checked as what it is: probes on /healthz, no migration, its addresses of the services
naming their Services and ports, all of it in compose too.

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

from hubcore.settings import DEFAULT_PORTS
from services.console.config import DEFAULT_CONSOLE_PORT

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
OUT_OF_BAND = {"hub-tokens", "partner-api-tls", "partner-api-http-tls", "console-session"} | {
    f"{s}-database" for s in ("companies", "investors", "consulting", "notifications", "playbooks")
}
# gRPC, each with a database to migrate
SERVICES = ["companies", "investors", "consulting", "notifications", "playbooks"]
CONSOLE = "console"  # the web application: HTTP, keeps no data, calls every one of SERVICES
HEALTHZ = "/healthz"
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")
# Every Deployment also has these, of its name (the overlays patch them by kind).
COMPANIONS = ("Service", "PodDisruptionBudget", "HorizontalPodAutoscaler")


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
            opened = {p["containerPort"] for p in container.get("ports", [])} | {
                p["name"] for p in container.get("ports", []) if "name" in p
            }
            for probe in PROBES:
                handler = container.get(probe, {})
                port = (handler.get("grpc") or handler.get("httpGet") or handler.get("tcpSocket") or {}).get("port")
                if port is not None and port not in opened:
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
    for deployment in [*SERVICES, CONSOLE]:
        for kind in COMPANIONS:
            if deployment in by_kind.get("Deployment", {}) and deployment not in by_kind.get(kind, {}):
                problems.append(f"{where}: Deployment/{deployment} has no {kind}/{deployment}")
    return problems + check_console(by_kind, where)


def check_console(by_kind: dict[str, dict[str, dict[str, Any]]], where: str) -> list[str]:
    """The console as Kubernetes runs it: HTTP probes on /healthz at the port it listens on, reachable beyond
    the pod, no database to migrate, and each service's address naming that service's Service and a port of it."""
    deployment = by_kind.get("Deployment", {}).get(CONSOLE)
    if deployment is None:
        return [f"{where}: no Deployment/{CONSOLE}"]
    name = f"{where}: Deployment/{CONSOLE}"
    problems = [
        f"{where}: Job/{job} runs the console, which has no database to migrate"
        for job, obj in by_kind.get("Job", {}).items()
        if any(c.get("args", [])[:1] == [f"services.{CONSOLE}"] for c in containers(obj))
    ]
    spec = pod_spec(deployment)
    assert spec is not None  # a Deployment has a pod template
    container = spec["containers"][0]
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    if container.get("args") != [f"services.{CONSOLE}"]:
        problems.append(f"{name}: runs {container.get('args')}, not services.{CONSOLE}")
    if env.get("HUB_CONSOLE_HOST") != "0.0.0.0":
        problems.append(f"{name}: HUB_CONSOLE_HOST must be 0.0.0.0 (on loopback nothing outside the pod reaches it)")
    listens = int(env.get("HUB_CONSOLE_PORT") or DEFAULT_CONSOLE_PORT)
    named = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if listens not in named.values():
        problems.append(f"{name}: the console listens on {listens}, which the container does not open")
    for probe in ("readinessProbe", "livenessProbe"):
        http = container.get(probe, {}).get("httpGet")
        if not http or http.get("path") != HEALTHZ:
            problems.append(f"{name}: {probe} must be an HTTP GET of {HEALTHZ}")
        elif named.get(http["port"], http["port"]) != listens:
            problems.append(f"{name}: {probe} on port {http['port']}, not the console's {listens}")
    services = by_kind.get("Service", {})
    for service in SERVICES:
        variable = f"HUB_{service.upper()}_ADDRESS"
        host, _, port = (env.get(variable) or "").rpartition(":")
        target = services.get(host.split(".")[0])
        if not host or host.split(".")[0] != service or target is None:
            problems.append(f"{name}: {variable}={env.get(variable)!r} does not name Service/{service}")
        elif not port.isdigit() or int(port) not in {p["port"] for p in target["spec"]["ports"]}:
            problems.append(f"{name}: {variable}={env.get(variable)!r}: Service/{service} has no port {port}")
    return problems


def check_compose(compose: dict[str, Any] | None = None) -> list[str]:
    """compose.yaml's services (or these, as loaded from it)."""
    if compose is None:
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
    return problems + check_compose_console(compose)


def check_compose_console(compose: dict[str, Any]) -> list[str]:
    """The console in compose: after every service is healthy, each one's address by its compose name and
    port, an HTTP health check of /healthz, no database and no migration, published on loopback only (plain
    HTTP: beyond loopback the console marks its cookie Secure, and a browser would not send it back)."""
    console = compose.get(CONSOLE)
    if not console:
        return [f"compose: {CONSOLE} is missing"]
    problems = []
    env = console.get("environment", {})
    if console.get("command") != [f"services.{CONSOLE}"]:
        problems.append(f"compose: {CONSOLE} runs {console.get('command')}")
    if f"{CONSOLE}-migrate" in compose or any("DATABASE_URL" in variable for variable in env):
        problems.append(f"compose: {CONSOLE} has no database: no migration, no database URL")
    if env.get("HUB_CONSOLE_HOST") != "0.0.0.0":
        problems.append(f"compose: {CONSOLE} must listen on HUB_CONSOLE_HOST 0.0.0.0 to be reached")
    listens = int(env.get("HUB_CONSOLE_PORT") or DEFAULT_CONSOLE_PORT)
    published = [str(p) for p in console.get("ports", [])]
    if not published or any(not p.startswith("127.0.0.1:") or not p.endswith(f":{listens}") for p in published):
        problems.append(f"compose: {CONSOLE} must publish its port {listens} on 127.0.0.1 only, not {published}")
    test = console.get("healthcheck", {}).get("test", [])
    test = test if isinstance(test, str) else " ".join(test)
    if f"127.0.0.1:{listens}{HEALTHZ}" not in test:
        problems.append(f"compose: {CONSOLE} needs a health check of http://127.0.0.1:{listens}{HEALTHZ}")
    depends = console.get("depends_on", {})
    for name in SERVICES:
        variable = f"HUB_{name.upper()}_ADDRESS"
        port = (compose.get(name) or {}).get("environment", {}).get(f"HUB_{name.upper()}_PORT", DEFAULT_PORTS[name])
        if env.get(variable) != f"{name}:{port}":
            problems.append(f"compose: {CONSOLE}'s {variable} is {env.get(variable)!r}, not {name}:{port}")
        if not isinstance(depends, dict) or depends.get(name, {}).get("condition") != "service_healthy":
            problems.append(f"compose: {CONSOLE} must wait for {name} to be healthy")
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
