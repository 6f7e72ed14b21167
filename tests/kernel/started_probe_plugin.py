"""A plugin for ``test_started_before_api.py``: records, from ``argus_started``, whether the API
was already serving. Loaded with ``ARGUS_PLUGINS``."""

from __future__ import annotations

import json
import os
import socket

from argus.kernel.api import hookimpl


def _unix_answers(path: str) -> bool:
    """Whether something accepts connections on the unix socket ``path``."""
    with socket.socket(socket.AF_UNIX) as s:
        try:
            s.connect(path)
        except OSError:
            return False
    return True


@hookimpl
def argus_started(kernel: object) -> None:
    """Write ``started-probe.json`` in ``$ARGUS_HOME``: the unix socket and TCP API state now."""
    paths = kernel.paths  # type: ignore[attr-defined]
    probe = {"unix_socket": _unix_answers(str(paths.daemon_sock)),
             "api_port": kernel.api_port}  # type: ignore[attr-defined]
    (paths.home / "started-probe.json").write_text(json.dumps(probe))
    os.chmod(paths.home / "started-probe.json", 0o600)
