"""The daemon's URL rules compile their ``url_for`` builders on first use, not at start-up.

werkzeug compiles two Python functions per rule as it is added; with ~150 routes that was a good
part of a bare daemon's start-up CPU (issue 10: bounce time). ``LazyBuildRule`` defers them; these
tests check that the daemon's app uses it and that URL building still gives werkzeug's answers.
"""

from __future__ import annotations

from pathlib import Path

from argus.kernel.http import LazyBuildRule
from argus.kernel.kernel import Kernel
from argus.kernel.paths import Paths
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
