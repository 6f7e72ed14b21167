"""Cheap guards of the typed plugin contract: no hook or helper takes ``kernel: Any`` (they take
the ``Kernel`` protocol of ``argus.kernel.api``), every hookspec types its parameters and result,
and the real kernel object has every member the protocol promises."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from argus.kernel import api, hookspecs
from argus.kernel.kernel import Kernel
from argus.kernel.paths import Paths
from argus.plugins.tasks import hookspecs as task_hookspecs
from argus.plugins.tui import hookspecs as tui_hookspecs

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("kernel", "plugins", "testing")
# ``kernel: Any``, ``kernel: "Any"``, ``kernel: Any | None``, ``kernel: Optional[Any]``
KERNEL_ANY = re.compile(r"\bkernel\s*:\s*(?:Optional\[)?[\"']?(?:typing\.)?Any\b")


def _python_files() -> Iterator[Path]:
    for top in SOURCES:
        yield from sorted((ROOT / top).rglob("*.py"))


def test_no_kernel_parameter_or_attribute_is_typed_any() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in _python_files()
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if KERNEL_ANY.search(line)]
    assert not found, "use argus.kernel.api.Kernel instead of Any:\n" + "\n".join(found)


def test_the_guard_pattern_catches_the_usual_spellings() -> None:
    for bad in ("def f(kernel: Any) -> None:", "    kernel: Any = None", "def g(kernel: 'Any'):",
                "def h(kernel: Any | None = None):", "def i(kernel: typing.Any):"):
        assert KERNEL_ANY.search(bad), bad
    for good in ("def f(kernel: Kernel) -> None:", "kernel: Kernel | None = None", "kernel_any: Any"):
        assert not KERNEL_ANY.search(good), good


def _hookspecs(module: ModuleType) -> Iterator[tuple[str, inspect.Signature]]:
    for name, fn in vars(module).items():
        if name.startswith("argus_") and inspect.isfunction(fn) and hasattr(fn, "argus_spec"):
            yield name, inspect.signature(fn)


@pytest.mark.parametrize("module", [hookspecs, task_hookspecs, tui_hookspecs], ids=lambda m: m.__name__)
def test_every_hookspec_types_its_parameters_and_result(module: ModuleType) -> None:
    specs = list(_hookspecs(module))
    assert specs, module.__name__
    for name, sig in specs:
        assert sig.return_annotation is not inspect.Signature.empty, f"{name} has no return type"
        for param in sig.parameters.values():
            assert param.annotation is not inspect.Signature.empty, f"{name}({param.name}) has no type"
            assert param.annotation not in ("Any", "typing.Any"), f"{name}({param.name}) is typed Any"
            if param.name == "kernel":
                assert param.annotation == "Kernel", f"{name}(kernel) must take the Kernel protocol"


def _members(protocol: type) -> set[str]:
    names = {n for n in vars(protocol) if not n.startswith("_")}
    return names | set(getattr(protocol, "__annotations__", {}))


def test_the_real_kernel_has_every_member_of_the_protocol(tmp_path: Path) -> None:
    kernel = Kernel(Paths(tmp_path))
    try:
        kernel.prepare()
        missing = sorted(m for m in _members(api.Kernel) if not hasattr(kernel, m))
        assert not missing, f"argus.kernel.api.Kernel promises {missing}"
        assert {"api_port", "supervisor_status", "request_stop", "sessions", "tokens"} <= _members(api.Kernel)
        for member in _members(api.TokenService):
            assert callable(getattr(kernel.tokens, member)), f"kernel.tokens.{member}"
        assert set(kernel.supervisor_status()) == set(api.SupervisorStatus.__annotations__)
    finally:
        kernel.db.close()


def test_the_session_protocols_match_the_kernel_sessions() -> None:
    from argus.kernel.sessions import Session, SessionManager

    for protocol, concrete in ((api.SessionManager, SessionManager), (api.Session, Session)):
        missing = sorted(m for m in _members(protocol)
                         if not hasattr(concrete, m) and m not in _instance_attributes(concrete))
        assert not missing, f"{protocol.__name__}: {concrete.__name__} lacks {missing}"


def _instance_attributes(cls: type) -> set[str]:
    source = inspect.getsource(cls.__init__)  # type: ignore[misc]
    return set(re.findall(r"self\.(\w+)\s*(?::[^=]+)?=", source))
