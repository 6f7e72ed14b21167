"""Every published hook is documented: a docstring on its hookspec and a row in docs/plugins.md."""

from __future__ import annotations

import inspect
from pathlib import Path
from types import ModuleType

import pytest
from argus.kernel import hookspecs as kernel_hookspecs
from argus.plugins.tasks import hookspecs as tasks_hookspecs
from argus.plugins.tui import hookspecs as tui_hookspecs

DOC = Path(__file__).parents[2] / "docs" / "plugins.md"
MODULES = [kernel_hookspecs, tasks_hookspecs, tui_hookspecs]


def _specs(module: ModuleType) -> list[tuple[str, object]]:
    return [(name, fn) for name, fn in vars(module).items()
            if name.startswith("argus_") and callable(fn) and hasattr(fn, "argus_spec")]


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_every_hookspec_has_a_docstring_and_a_row_in_the_plugin_guide(module: ModuleType) -> None:
    doc = DOC.read_text()
    specs = _specs(module)
    assert specs, f"{module.__name__} publishes no hooks"
    for name, fn in specs:
        assert (inspect.getdoc(fn) or "").strip(), f"{name} has no docstring"
        args = ", ".join(inspect.signature(fn).parameters)  # type: ignore[arg-type]
        assert f"| `{name}({args})` |" in doc, f"{name}({args}) has no row in docs/plugins.md"
