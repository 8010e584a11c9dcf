"""The rules that keep this a system of services: checked on the source, so a violation fails CI."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if (p / "__init__.py").exists())
DEPLOYABLES = [f"services.{name}" for name in SERVICES] + ["gateway"]
FRAMEWORKS = (
    "fastapi",
    "starlette",
    "sqlalchemy",
    "aiokafka",
    "faust",
    "redis",
    "prometheus_client",
    "httpx",
)


def imports_of(package_dir: Path) -> list[tuple[Path, str]]:
    found = []
    for path in package_dir.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                found += [(path, alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((path, node.module))
    return found


@pytest.mark.parametrize("deployable", DEPLOYABLES)
def test_a_service_imports_no_other_service(deployable: str) -> None:
    others = [d for d in DEPLOYABLES if d != deployable]
    wrong = [
        f"{path.relative_to(REPO)} imports {module}"
        for path, module in imports_of(REPO / deployable.replace(".", "/"))
        if any(module == other or module.startswith(other + ".") for other in others)
    ]
    assert wrong == []


def test_contracts_and_kit_depend_on_no_service() -> None:
    for shared in ("schemas", "cdpkit"):
        wrong = [
            f"{path.relative_to(REPO)} imports {module}"
            for path, module in imports_of(REPO / shared)
            if module.startswith(("services", "gateway"))
        ]
        assert wrong == []


def test_domain_code_is_pure() -> None:
    for domain in [*REPO.glob("services/*/domain"), REPO / "gateway" / "domain"]:
        wrong = [
            f"{path.relative_to(REPO)} imports {module}"
            for path, module in imports_of(domain)
            if module.split(".")[0] in FRAMEWORKS
        ]
        assert wrong == []
