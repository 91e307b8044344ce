"""No service imports another service's modules: what two services share lives in a shared
package (contracts, reference data, runtime) or in the generated protos, and the shared
packages import no service at all. Checked on the source (ast), so nothing is imported."""

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
SERVICE_PACKAGES = frozenset({"intake", "verifier", "registry", "notifier", "console"})
SHARED_PACKAGES = frozenset({"contracts", "reference", "runtime"})
IMPORTERS = frozenset({"import_module", "__import__"})


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    imported: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} imports {self.imported}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SERVICES_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str:
    """The absolute module a `from ... import` names (relative imports resolved)."""
    if node.level == 0:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imported_modules(source: str, importer: str, is_package: bool) -> Iterator[tuple[int, str]]:
    """Every module a source names, with its line: imports, `from` imports (each imported name
    too, as it may be a submodule) and `import_module("...")` calls with a literal name."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node, importer, is_package)
            yield node.lineno, base
            yield from ((node.lineno, f"{base}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and _called_name(node.func) in IMPORTERS:
            first = node.args[0] if node.args else None
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, first.value


def _called_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    return func.attr if isinstance(func, ast.Attribute) else ""


def top_package(module: str) -> str | None:
    """`intake` for `services.intake.api`; None outside `services` or for `services` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "services" else None


def violations(source: str, importer: str, path: str, is_package: bool = False) -> list[Violation]:
    own = top_package(importer)
    found = set()
    for line, imported in imported_modules(source, importer, is_package):
        other = top_package(imported)
        if other in SERVICE_PACKAGES and other != own:
            found.add(Violation(path, line, ".".join(imported.split(".")[:2])))
    return sorted(found, key=lambda v: (v.line, v.imported))


def service_sources() -> Iterator[Path]:
    return (p for p in sorted(SERVICES_DIR.rglob("*.py")) if top_package(module_name(p)))


def test_no_service_or_shared_package_imports_another_service() -> None:
    found = [
        violation
        for path in service_sources()
        for violation in violations(
            path.read_text(encoding="utf-8"),
            module_name(path),
            str(path.relative_to(SERVICES_DIR.parent)),
            is_package=path.name == "__init__.py",
        )
    ]
    assert not found, "move what is shared to services/reference or services/runtime:\n" + (
        "\n".join(map(str, found))
    )


def test_every_package_under_services_is_a_service_or_shared() -> None:
    # A new package must be classified, or it would escape the rule unseen.
    packages = {p.parent.name for p in SERVICES_DIR.glob("*/__init__.py")}
    assert packages == SERVICE_PACKAGES | SHARED_PACKAGES


@pytest.mark.parametrize(
    ("importer", "source", "is_package"),
    [
        ("services.intake.catalogue", "from services.registry.catalogue import model", False),
        ("services.intake.catalogue", "import services.verifier.channels.config", False),
        ("services.intake.catalogue", "from services import notifier", False),
        ("services.intake.web.pages", "from ...console.web import pages", False),
        ("services.intake.web", "from ...console import web", True),
        ("services.runtime.web", "from services.console.web import pages", False),
        ("services.contracts.events", "import services.registry", False),
        (
            "services.intake.api.app",
            "def load():\n    importlib.import_module('services.registry.store')",
            False,
        ),
    ],
)
def test_an_import_across_services_is_found(importer: str, source: str, is_package: bool) -> None:
    assert violations(source, importer, "x.py", is_package)


@pytest.mark.parametrize(
    ("importer", "source", "is_package"),
    [
        ("services.intake.catalogue", "from services.reference.catalogue import model", False),
        ("services.intake.catalogue", "from services.runtime.db import connect", False),
        ("services.intake.catalogue", "from services.contracts import events", False),
        ("services.intake.catalogue", "from qualverify.registry.v1 import registry_pb2", False),
        ("services.intake.web.pages", "from ..api import routes", False),
        ("services.intake.web", "from .pages import render", True),
        ("services.intake.catalogue", "from services import intake, reference", False),
    ],
)
def test_imports_within_a_service_or_of_shared_packages_pass(
    importer: str, source: str, is_package: bool
) -> None:
    assert violations(source, importer, "x.py", is_package) == []
