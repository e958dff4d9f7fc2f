"""The shape every service keeps (docs/architecture.md), checked on the source so that it cannot drift:
short files, thin servicers without SQL, handlers without the gRPC layer, a runtime that never imports a
service, services that never import each other, and domain modules without I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"
MAX_FILE_LINES = 500
MAX_SERVICER_METHOD_LINES = 40


def sources(*folders: Path) -> list[Path]:
    return sorted(p for folder in folders for p in folder.rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def is_servicer(path: Path) -> bool:
    return path.name in {"api.py", "servicer.py"} or path.name.endswith("_servicer.py")


def service_of(path: Path) -> str:
    return path.relative_to(SERVICES).parts[0]


def relative(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_no_file_of_the_services_or_the_runtime_is_over_500_lines() -> None:
    long = {
        relative(p): n
        for p in sources(SERVICES, ROOT / "hubcore")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_FILE_LINES
    }
    assert long == {}


def test_servicer_methods_are_thin_and_speak_no_sql() -> None:
    servicers = [p for p in sources(SERVICES) if is_servicer(p)]
    assert len(servicers) >= 6, "the servicer modules were not found: the check would pass on nothing"
    long, sql = {}, []
    for path in servicers:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef) or not node.end_lineno:
                continue
            if (n := node.end_lineno - node.lineno + 1) > MAX_SERVICER_METHOD_LINES:
                long[f"{relative(path)}:{node.name}"] = n
        if any(name == "sqlalchemy" or name.startswith("sqlalchemy.") for name in imported(path)):
            sql.append(relative(path))
    assert long == {}
    assert sql == []


def test_handlers_never_import_a_servicer() -> None:
    handlers = [p for p in sources(SERVICES) if p.name == "handlers.py"]
    assert handlers, "no handlers found"
    wrong = {
        relative(p): sorted(n for n in imported(p) if n.endswith((".api", ".servicer")) or "_servicer" in n)
        for p in handlers
    }
    assert {k: v for k, v in wrong.items() if v} == {}


def test_the_runtime_never_imports_a_service_and_services_never_import_each_other() -> None:
    upward = {relative(p) for p in sources(ROOT / "hubcore") if any(n.startswith("services") for n in imported(p))}
    assert upward == set()
    across = {}
    for path in sources(SERVICES):
        own = service_of(path)
        others = {n.split(".")[1] for n in imported(path) if n.startswith("services.") and n.count(".") >= 1}
        if others - {own}:
            across[relative(path)] = sorted(others - {own})
    assert across == {}


def test_stores_use_a_connection_for_execute_and_its_dialect_alone() -> None:
    """On SQLite a read transaction's connection is hubcore.sqlite.LoopConnection, which has these two (and
    run_sync): a store calling conn.stream or conn.scalar would work on PostgreSQL and fail on SQLite reads."""
    used: dict[str, set[str]] = {}
    makers = {ROOT / "hubcore" / "db.py", ROOT / "hubcore" / "sqlite.py"}  # where the connections are made
    for path in set(sources(SERVICES, ROOT / "hubcore")) - makers:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "conn":
                used.setdefault(node.attr, set()).add(relative(path))
    assert "execute" in used, "no conn.execute found: the check would pass on nothing"
    assert {attr: files for attr, files in used.items() if attr not in {"execute", "dialect"}} == {}


@pytest.mark.parametrize("module", ["sqlalchemy", "grpc", "nats", "aiosqlite", "asyncpg", "httpx", "aiosmtplib"])
def test_domain_modules_do_no_io(module: str) -> None:
    domains = [p for p in sources(SERVICES) if p.name in {"domain.py", "rules.py"} or "domain" in p.parent.parts]
    assert len(domains) >= 8
    doing_io = [relative(p) for p in domains if any(n == module or n.startswith(module + ".") for n in imported(p))]
    assert doing_io == []
