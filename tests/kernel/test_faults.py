"""``argus.kernel.faults``: ``ARGUS_FAULT=<point>[@N][:supervisor]`` SIGKILLs the process reaching the
point (the N-th time), once per ARGUS_HOME, and does nothing when unset."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

SCRIPT = """
from argus.kernel.api import fault_point
for i in range(3):
    fault_point("other")
    fault_point("here")
    print("passed", i, flush=True)
"""


def _run(home: Path, fault: str | None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "ARGUS_FAULT"}
    env["ARGUS_HOME"] = str(home)
    if fault is not None:
        env["ARGUS_FAULT"] = fault
    return subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=60)


def test_the_nth_hit_kills_once_per_home(tmp_path: Path) -> None:
    done = _run(tmp_path, "here@2")
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.split("\n")[:-1] == ["passed 0"]
    assert (tmp_path / "fault-here.fired").exists()
    again = _run(tmp_path, "here@2")  # a restarted process under the same home: no second kill
    assert again.returncode == 0 and again.stdout.count("passed") == 3


def test_unset_or_another_point_does_nothing(tmp_path: Path) -> None:
    for fault in (None, "", "elsewhere"):
        done = _run(tmp_path, fault)
        assert done.returncode == 0 and done.stdout.count("passed") == 3
    assert not list(tmp_path.glob("fault-*"))


def test_the_supervisor_target_kills_the_supervisor_and_carries_on(tmp_path: Path) -> None:
    victim = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "supervisor.pid").write_text(f"{victim.pid}\n")
        done = _run(tmp_path, "here:supervisor")
        assert done.returncode == 0 and done.stdout.count("passed") == 3
        assert victim.wait(10) == -signal.SIGKILL
    finally:
        if victim.poll() is None:
            victim.kill()
            victim.wait()
