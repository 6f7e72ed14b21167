"""``argus_started`` runs before the API serves: the first request after a (re)start sees the
recovery plugins did there (the tasks plugin adopts agents a crash left without their row in it,
``tests/tasks/test_reconcile.py``)."""

from __future__ import annotations

import json
from pathlib import Path

from argus.testing.daemon import Daemon

HERE = Path(__file__).resolve().parent


def test_argus_started_runs_before_the_unix_socket_and_tcp_api_serve(argus_home: Path) -> None:
    d = Daemon(argus_home, env={"ARGUS_PLUGINS": str(HERE / "started_probe_plugin.py")})
    try:
        d.start()
        probe = json.loads((argus_home / "started-probe.json").read_text())
        assert probe == {"unix_socket": False, "api_port": 0}
        assert d.client.get("/api/status").status_code == 200
    finally:
        d.cleanup()
