"""A fake ``systemctl --user`` (and ``loginctl``) for the auto-start tests: the real user's systemd
is never touched. Point a daemon at it with :func:`daemon_env`."""

from __future__ import annotations

import os
import stat
from pathlib import Path

SYSTEMCTL = """#!/bin/sh
# A fake `systemctl --user`: records its arguments; "enable" leaves a marker that is-enabled reads.
echo "$*" >> "{log}"
marker="{state}/enabled"
case "$2" in
  show-environment)
    [ -n "{down}" ] && {{ echo "Failed to connect to bus: No medium found" >&2; exit 1; }}
    echo HOME=/x ;;
  daemon-reload) ;;
  enable) touch "$marker" ;;
  disable) rm -f "$marker" ;;
  is-enabled) [ -e "$marker" ] && echo enabled && exit 0; echo disabled; exit 1 ;;
  is-active) echo inactive; exit 3 ;;
esac
exit 0
"""


class FakeSystemd:
    """``bin_dir`` holds ``systemctl`` and ``loginctl``; ``log`` records each systemctl call;
    ``units`` is the unit directory the daemon is told to use."""

    def __init__(self, root: Path, *, down: bool = False) -> None:
        self.bin_dir, state = root / "fakebin", root / "fake-systemd"
        self.bin_dir.mkdir(parents=True)
        state.mkdir()
        self.log = root / "systemctl.log"
        self.units = root / "units"
        self.systemctl = self.bin_dir / "systemctl"
        self.systemctl.write_text(SYSTEMCTL.format(log=self.log, state=state, down="1" if down else ""))
        (self.bin_dir / "loginctl").write_text("#!/bin/sh\necho yes\n")
        for f in (self.systemctl, self.bin_dir / "loginctl"):
            f.chmod(f.stat().st_mode | stat.S_IXUSR)

    @property
    def unit(self) -> Path:
        """Where the daemon writes its unit."""
        return self.units / "argus-daemon.service"

    def calls(self) -> str:
        """Every recorded systemctl command line."""
        return self.log.read_text() if self.log.exists() else ""

    def daemon_env(self, xdg: Path) -> dict[str, str]:
        """Environment for a daemon: the unit directory, the fake tools first on PATH, and a private
        XDG_CONFIG_HOME (so even a missed override could not reach the user's ~/.config)."""
        return {"ARGUS_SYSTEMD_USER_DIR": str(self.units), "XDG_CONFIG_HOME": str(xdg),
                "PATH": f"{self.bin_dir}{os.pathsep}{os.environ['PATH']}"}
