"""Packaging: the wheel installs into a fresh virtualenv and works outside the repository; the
editable install maps ``argus.kernel`` to ``kernel/`` and ``argus.plugins`` to ``plugins/``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "kernel", "plugins", "testing")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "*.egg-info", ".*")


def clean_env(tmp: Path) -> dict[str, str]:
    """The environment without this venv's traces, with a throwaway ARGUS_HOME."""
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME"}}
    env["ARGUS_HOME"] = str(tmp / "argus-home")
    return env


def run(argv: list[str | Path], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    """Run a command, fail the test with its output if it fails; return stdout."""
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert result.returncode == 0, f"{argv} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def source_files(folder: str) -> list[Path]:
    """Files under ``folder`` (relative to the repo) that a wheel may carry, as relative paths."""
    base = ROOT / folder
    skip = {"__pycache__", "node_modules"}
    return sorted(
        p.relative_to(ROOT)
        for p in base.rglob("*")
        if p.is_file()
        and not skip.intersection(p.relative_to(ROOT).parts)
        and not any(part.startswith(".") for part in p.relative_to(ROOT).parts)
        and not p.name.endswith(".pyc")
    )


def wheel_name(path: Path) -> str:
    """Where a repo file lands in the wheel: kernel/x.py -> argus/kernel/x.py."""
    return "argus/" + path.as_posix()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch folder outside the repository for the module's build and venv."""
    return tmp_path_factory.mktemp("packaging")


@pytest.fixture(scope="module")
def wheel(workspace: Path) -> Path:
    """A wheel built from a copy of the sources (so the shared tree gets no build/ or egg-info)."""
    src = workspace / "src"
    src.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=IGNORED)
        elif path.exists():
            shutil.copy2(path, src / name)
    dist = workspace / "dist"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", dist, src], workspace, clean_env(workspace))
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, workspace: Path) -> Iterator[Path]:
    """A fresh virtualenv (no system site-packages) with the wheel and its dependencies."""
    path = workspace / "venv"
    env = clean_env(workspace)
    run([sys.executable, "-m", "venv", path], workspace, env)
    run([path / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
        workspace, env)  # fmt: skip
    yield path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory that is not the repository."""
    path = tmp_path / "elsewhere"
    path.mkdir()
    return path


def test_wheel_contains_every_module_of_every_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    folders = ("kernel", "plugins", "testing")
    expected = {wheel_name(p) for folder in folders for p in source_files(folder) if p.suffix == ".py"}
    missing = sorted(expected - names)
    # A module missing here usually sits in a sub-package absent from [tool.setuptools] packages.
    assert not missing, f"modules missing from the wheel: {missing}"


def test_wheel_ships_the_pwa_static_files(wheel: Path) -> None:
    static = ROOT / "plugins" / "pwa" / "static"
    if not static.is_dir():
        pytest.skip("plugins/pwa/static does not exist")
    files = source_files("plugins/pwa/static")
    assert files, "plugins/pwa/static is empty"
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = sorted(wheel_name(p) for p in files if wheel_name(p) not in names)
    assert not missing, f"static files missing from the wheel: {missing}"


def test_installed_wheel_imports_outside_the_repo(venv: Path, outside: Path) -> None:
    code = (
        "import json, argus.kernel, argus.plugins.tasks; "
        "print(json.dumps([argus.kernel.__file__, argus.plugins.tasks.__file__]))"
    )
    out = run([venv / "bin" / "python", "-c", code], outside, clean_env(outside))
    for path in json.loads(out):
        assert Path(path).resolve().is_relative_to(venv.resolve()), path


def test_installed_console_script_shows_help(venv: Path, outside: Path) -> None:
    out = run([venv / "bin" / "argus", "--help"], outside, clean_env(outside), timeout=60)
    assert "Usage:" in out
    assert "daemon" in out


def test_installed_entry_points_load(venv: Path, outside: Path) -> None:
    code = (
        "import json; from importlib.metadata import entry_points; "
        "print(json.dumps({ep.name: ep.value for ep in entry_points(group='argus')}))"
    )
    declared = json.loads(run([venv / "bin" / "python", "-c", code], outside, clean_env(outside)))
    assert declared, "no entry points in group 'argus'"
    load = "import sys; from importlib import import_module; [import_module(m) for m in sys.argv[1:]]"
    run([venv / "bin" / "python", "-c", load, *declared.values()], outside, clean_env(outside))


def test_installed_demo_agent_runs(venv: Path, outside: Path) -> None:
    out = run([venv / "bin" / "python", "-m", "argus.plugins.tasks.demo_agent", "--version"], outside,
              clean_env(outside), timeout=60)  # fmt: skip
    assert "Argus demo agent" in out


def test_editable_install_resolves_to_the_repo(outside: Path) -> None:
    code = (
        "import json, argus.kernel, argus.plugins.tasks; "
        "print(json.dumps([argus.kernel.__file__, argus.plugins.tasks.__file__]))"
    )
    kernel, tasks = json.loads(run([sys.executable, "-c", code], outside, clean_env(outside)))
    assert Path(kernel).resolve() == ROOT / "kernel" / "__init__.py"
    assert Path(tasks).resolve() == ROOT / "plugins" / "tasks" / "__init__.py"


@pytest.mark.parametrize("script", ["scripts/install.sh", "scripts/test.sh", ".ci/run"])
def test_scripts_are_executable_bash(script: str) -> None:
    path = ROOT / script
    assert os.access(path, os.X_OK), f"{script} is not executable"
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    subprocess.run(["bash", "-n", str(path)], check=True)
