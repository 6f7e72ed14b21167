"""Work the daemon used to do at start-up and now does on first use (issue 10: bounce time).

werkzeug compiled two Python functions per URL rule as it was added (``url_for`` builders: with
~150 routes a good part of a bare start's CPU), and every model tool's JSON Schema was generated at
registration. ``LazyBuildRule`` and ``Tool.input_schema`` defer them; these tests check that start-up
no longer does the work and that the results are unchanged. ``argus daemon run`` also pauses the
cyclic garbage collector until the daemon serves.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import time
from pathlib import Path

from argus.kernel.http import LazyBuildRule
from argus.kernel.kernel import Kernel, resume_gc
from argus.kernel.paths import Paths
from argus.testing.daemon import Daemon
from quart_trio import QuartTrio
from werkzeug.routing import Map, Rule


def test_the_daemon_app_uses_lazy_url_rules(argus_home: Path) -> None:
    """Every rule the kernel and its plugins mount is a ``LazyBuildRule``."""
    kernel = Kernel(Paths.default())
    kernel.prepare()
    rules = list(kernel.http.app.url_map.iter_rules())
    assert len(rules) > 50
    assert all(isinstance(rule, LazyBuildRule) for rule in rules)


def test_lazy_rules_build_the_same_urls_as_werkzeug() -> None:
    """Building URLs (with converters, defaults and unknown arguments) matches plain werkzeug rules."""
    patterns = ["/api/tasks/<tid>", "/api/tasks/<tid>/log/<int:n>", "/static/<path:name>", "/api/x"]
    app = QuartTrio("lazy-rules-test")
    app.url_rule_class = LazyBuildRule
    plain = Map([Rule(p, endpoint=str(i)) for i, p in enumerate(patterns)])
    for i, p in enumerate(patterns):
        app.add_url_rule(p, str(i), lambda: "", methods=["GET"])
    lazy = app.url_map.bind("localhost")
    ref = plain.bind("localhost")
    for endpoint, values in [("0", {"tid": "a b"}), ("1", {"tid": "t", "n": 7, "q": "x"}),
                             ("2", {"name": "a/b.js"}), ("3", {"page": "2"})]:
        assert lazy.build(endpoint, values) == ref.build(endpoint, values)
        assert lazy.build(endpoint, values, append_unknown=False) == ref.build(endpoint, values,
                                                                               append_unknown=False)
    assert lazy.match("/api/tasks/t/log/3") == ("1", {"tid": "t", "n": 3})


def test_model_tools_generate_their_schema_on_first_use(argus_home: Path) -> None:
    """Start-up registers the plugins' tools without generating their JSON Schemas; asking for one
    generates it from the model (the same schema as before)."""
    kernel = Kernel(Paths.default())
    kernel.prepare()
    model_tools = [t for t in kernel.registry.tools.values() if t.input_model is not None]
    assert len(model_tools) > 10
    assert all(t.declared_schema is None for t in model_tools)
    tool = model_tools[0]
    assert tool.input_model is not None
    schema = tool.input_model.model_json_schema()
    assert tool.input_schema == {"type": "object", "properties": {}, **schema}
    assert tool.declared_schema is tool.input_schema


def test_daemon_run_pauses_the_cyclic_gc_for_its_start_up() -> None:
    """``argus daemon run`` turns the collector off before it imports anything heavy (start-up
    builds long-lived objects only: collecting them again and again cost ~0.1 s of CPU); other
    commands (the TUI, one-shot commands) keep it."""
    probe = ("import gc, sys; sys.argv = ['argus', %r, %r]; import argus.kernel.cli; "
             "print(gc.isenabled())")
    for argv, enabled in [(("daemon", "run"), "False"), (("daemon", "status"), "True"), (("tui", "-h"), "True")]:
        out = subprocess.run([sys.executable, "-c", probe % argv], capture_output=True, text=True,
                             timeout=120, check=True)
        assert out.stdout.strip() == enabled, argv


async def test_resume_gc_freezes_start_up_objects_and_turns_the_collector_on() -> None:
    """What the daemon runs once it serves: the collector is on again, start-up objects frozen."""
    gc.disable()
    try:
        await resume_gc(0)
        assert gc.isenabled()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_a_daemon_turns_its_collector_back_on(argus_daemon: Daemon) -> None:
    """A real daemon (started by ``argus daemon run``) logs that the collector is on again."""
    deadline = time.monotonic() + 60
    while "garbage collector on" not in argus_daemon.log_tail(100_000):
        assert time.monotonic() < deadline, argus_daemon.log_tail()
        time.sleep(0.2)
