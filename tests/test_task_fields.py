"""The TUI and the PWA read only Task fields the Task schema of ``/api/openapi.json`` declares
(issue 9 item 3): the core fields of the tasks plugin and the namespaced ones other plugins add
through ``argus_task_fields`` and declare with ``argus_task_field_models`` (``hera``, ``sandbox``,
``schedule``).

The reads are found by a regex scan: in the TUI (Python, the Task JSON is a dict)
``task.get("f")`` / ``task["f"]`` / ``t.get("f")`` / ``t["f"]``; in the PWA's JavaScript
``task.f`` / ``t.f`` / ``t?.f`` / ``task["f"]`` (not a method call, not inside a string such as the
event type ``'task.updated'``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TUI = ROOT / "plugins" / "tui"
PWA_JS = ROOT / "plugins" / "pwa" / "static" / "js"
PY_READ = re.compile(r"""(?<!["'\w.])(?:task|t)(?:\.get\(\s*["'](\w+)["']|\[\s*["'](\w+)["']\s*\])""")
JS_READ = re.compile(r"""(?<!["'`\w.$])(?:task|t)(?:\??\.([A-Za-z_]\w*)\b(?!\s*\()|\[\s*["'](\w+)["']\s*\])""")
# JavaScript files whose ``t`` is not a task (a token in the admin view, a toast element).
JS_T_NOT_A_TASK = {"admin.js", "dom.js"}


def task_reads() -> dict[str, set[str]]:
    """Field → ``file:line`` places the TUI and PWA read it from a task."""
    found: dict[str, set[str]] = defaultdict(set)
    for path in sorted(TUI.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in PY_READ.finditer(line):
                found[m.group(1) or m.group(2)].add(f"{path.relative_to(ROOT)}:{number}")
    for path in sorted(PWA_JS.rglob("*.js")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in JS_READ.finditer(line):
                if path.name in JS_T_NOT_A_TASK and not m.group(0).startswith("task"):
                    continue
                found[m.group(1) or m.group(2)].add(f"{path.relative_to(ROOT)}:{number}")
    return dict(found)


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` (or the first one of an ``anyOf``) to its component."""
    for option in schema.get("anyOf", [schema]):
        ref = option.get("$ref")
        if ref:
            return doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return schema


def test_the_scan_finds_known_reads() -> None:
    reads = task_reads()
    assert {"id", "name", "status", "sandbox", "worktree_path", "running"} <= set(reads)
    assert not {"updated", "created", "deleted", "classList", "revoked_at"} & set(reads)  # strings, non-tasks


def test_ui_task_reads_are_declared_in_the_openapi_task_schema(argus_daemon: Any) -> None:
    from openapi_spec_validator import validate as validate_spec

    doc = argus_daemon.client.get("/api/openapi.json").json()
    validate_spec(doc)
    props = doc["components"]["schemas"]["Task"]["properties"]
    undeclared = {field: sorted(places)[:3] for field, places in task_reads().items() if field not in props}
    assert not undeclared, f"the TUI/PWA read Task fields the Task schema does not declare: {undeclared}"
    # The plugins' namespaced fields are optional objects described by their plugin's model.
    for key, inner in (("hera", "orchestrator_id"), ("sandbox", "sandboxed"), ("schedule", "name")):
        assert {"type": "null"} in props[key]["anyOf"], key
        assert inner in resolve(doc, props[key])["properties"], key
    assert key not in doc["components"]["schemas"]["Task"].get("required", [])
