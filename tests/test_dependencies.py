"""Every third-party module the code imports comes from a declared distribution, and every declared
runtime dependency is imported somewhere (issue 9 item 5).

``kernel/`` and ``plugins/`` are the runtime: their imports must be in ``[project] dependencies``.
``testing/`` (the pytest plugin) and ``tests/`` may also use the ``[test]`` extra. A declared
runtime dependency that nothing in kernel/, plugins/ or testing/ imports fails, as does a test
extra nothing uses. Modules are mapped to distributions with
``importlib.metadata.packages_distributions()``.
"""

from __future__ import annotations

import ast
import functools
import importlib.metadata as md
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIRS = ("kernel", "plugins")
TEST_DIRS = ("testing", "tests")
# Test extras that are tools run from the command line, not imported: ruff, lint-imports, mypy,
# the wheel builder, and pytest plugins loaded through their entry points.
TOOLS = {"ruff", "import-linter", "mypy", "build", "pytest-trio", "pytest-timeout", "pytest-xdist"}


def normal(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(spec: str) -> str:
    """``"quart-trio>=0.11"`` → ``quart-trio``."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", spec)
    assert match, spec
    return normal(match.group(1))


def declared() -> tuple[set[str], set[str]]:
    """(runtime dependencies, the ``[test]`` extra) of pyproject.toml, normalised."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return ({requirement_name(s) for s in project["dependencies"]},
            {requirement_name(s) for s in project["optional-dependencies"]["test"]})


def local_names(folder: Path) -> set[str]:
    """Modules that live in ``folder`` itself (test helpers imported by their bare name)."""
    names = {p.stem for p in folder.rglob("*.py")}
    names |= {p.name for p in folder.rglob("*") if p.is_dir() and (p / "__init__.py").exists()}
    return names


def importorskip(node: ast.AST) -> str:
    """The module of a ``pytest.importorskip("module")`` call, else ""."""
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "importorskip"
            and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
        return node.args[0].value
    return ""


def top_level_imports(folders: Iterable[str]) -> dict[str, set[str]]:
    """Absolute imports (and ``importorskip``) under ``folders``: top-level module → files importing it."""
    found: dict[str, set[str]] = {}
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            if "node_modules" in path.parts or "static" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                elif importorskip(node):
                    names = [importorskip(node)]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(str(path.relative_to(ROOT)))
    return found


def third_party(imports: dict[str, set[str]], local: set[str]) -> dict[str, set[str]]:
    """The imports that are neither stdlib, argus, nor local helpers."""
    return {m: files for m, files in imports.items()
            if m not in sys.stdlib_module_names and m != "argus" and m not in local}


@functools.cache
def installed() -> dict[str, list[str]]:
    """Top-level module → installed distributions (slow to compute: once)."""
    return dict(md.packages_distributions())


def distributions(module: str) -> set[str]:
    """The installed distributions providing top-level ``module``, normalised."""
    return {normal(d) for d in installed().get(module, [])}


def test_runtime_imports_are_declared_dependencies() -> None:
    runtime, _ = declared()
    missing = []
    for module, files in sorted(third_party(top_level_imports(RUNTIME_DIRS), set()).items()):
        dists = distributions(module)
        if not dists & runtime:
            missing.append(f"{module} (from {sorted(dists) or 'no installed distribution'}), "
                           f"imported by {sorted(files)[:3]}")
    assert not missing, "imported but not in [project] dependencies:\n" + "\n".join(missing)


def test_test_imports_are_declared_in_dependencies_or_the_test_extra() -> None:
    runtime, test = declared()
    local = local_names(ROOT / "tests")
    missing = []
    for module, files in sorted(third_party(top_level_imports(TEST_DIRS), local).items()):
        dists = distributions(module)
        if not dists & (runtime | test):
            missing.append(f"{module} (from {sorted(dists) or 'no installed distribution'}), "
                           f"imported by {sorted(files)[:3]}")
    assert not missing, "imported by testing/ or tests/ but not declared:\n" + "\n".join(missing)


def test_every_declared_dependency_is_imported() -> None:
    runtime, test = declared()
    used_runtime = {d for m in third_party(top_level_imports(RUNTIME_DIRS + ("testing",)), set())
                    for d in distributions(m)}
    used_tests = {d for m in third_party(top_level_imports(TEST_DIRS), local_names(ROOT / "tests"))
                  for d in distributions(m)}
    assert sorted(runtime - used_runtime) == [], "declared runtime dependencies nothing imports"
    assert sorted(test - used_tests - used_runtime - TOOLS) == [], "test extras nothing imports"


def test_the_scan_sees_a_missing_and_an_unused_dependency(tmp_path: Path) -> None:
    """The checks above are not vacuous: the scan finds the known imports and their distributions."""
    imports = third_party(top_level_imports(RUNTIME_DIRS), set())
    assert {"wsproto", "werkzeug", "cryptography", "mcp_types", "trio"} <= set(imports)
    assert "os" not in imports and "argus" not in imports
    assert distributions("yaml") == {"pyyaml"} and distributions("mcp_types") == {"mcp-types"}
    runtime, test = declared()
    assert "trio-websocket" not in runtime and "http-ece" in test and "http-ece" not in runtime
