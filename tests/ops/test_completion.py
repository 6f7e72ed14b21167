"""Shell completion for the ``argus`` command line (click's completion)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def _argus(home: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from argus.kernel.cli import main; main()", *args],
                          env={**os.environ, "ARGUS_HOME": str(home), **env}, capture_output=True, text=True,
                          timeout=60)


def test_completion_script_and_answers_include_plugin_commands(tmp_path: Path) -> None:
    home = tmp_path / "home"
    script = _argus(home, "completion", "bash")
    assert script.returncode == 0 and "_ARGUS_COMPLETE=bash_complete" in script.stdout
    assert "complete -o nosort -F _argus_completion argus" in script.stdout
    out = _argus(home, COMP_WORDS="argus do", COMP_CWORD="1", _ARGUS_COMPLETE="bash_complete")
    assert "plain,doctor" in out.stdout.splitlines()
    out = _argus(home, COMP_WORDS="argus daemon in", COMP_CWORD="2", _ARGUS_COMPLETE="bash_complete")
    assert out.stdout.splitlines() == ["plain,install"]
    assert _argus(home, "completion", "tcsh").returncode == 2
    assert not home.exists()  # completing writes nothing
