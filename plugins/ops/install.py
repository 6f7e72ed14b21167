"""How Argus was installed, and the command that reinstalls it from a source checkout.

Argus reinstalls itself into the environment it runs from: the virtualenv's own pip, or
``uv tool`` / ``pipx`` when it was installed that way (recognised by their receipts in the
environment's prefix). A plain system interpreter is not touched: set ``update.install_command``.
"""

from __future__ import annotations

import json
import shlex
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

DIST = "argus-agents"


def _editable() -> bool:
    """Whether the installed distribution is an editable install (PEP 660 ``direct_url.json``)."""
    for dist in metadata.distributions(name=DIST):
        raw = dist.read_text("direct_url.json")
        try:
            if raw and json.loads(raw).get("dir_info", {}).get("editable"):
                return True
        except ValueError:
            continue
    return False


def install_mode(prefix: str | None = None) -> dict[str, Any]:
    """``{"mode": venv|uv-tool|pipx|system, "editable": bool, "prefix": ..., "python": ...}``."""
    root = Path(prefix or sys.prefix)
    if (root / "uv-receipt.toml").exists():
        mode = "uv-tool"
    elif (root / "pipx_metadata.json").exists():
        mode = "pipx"
    elif sys.prefix != sys.base_prefix or (root / "pyvenv.cfg").exists():
        mode = "venv"
    else:
        mode = "system"
    return {"mode": mode, "editable": _editable(), "prefix": str(root), "python": sys.executable}


def install_argv(source: str, override: str = "", mode: dict[str, Any] | None = None) -> list[str]:
    """The reinstall command for ``source``. ``override`` (``update.install_command``) wins; it is
    split like a shell line and ``{source}`` / ``{python}`` are substituted. Raises ValueError when
    no command fits (a system interpreter)."""
    if override.strip():
        try:
            words = shlex.split(override)
        except ValueError as exc:
            raise ValueError(f"update.install_command cannot be parsed: {exc}") from None
        return [w.replace("{source}", source).replace("{python}", sys.executable) for w in words]
    mode = mode or install_mode()
    editable = ["--editable"] if mode["editable"] else []
    if mode["mode"] == "uv-tool":
        return ["uv", "tool", "install", "--force", "--reinstall", *editable, source]
    if mode["mode"] == "pipx":
        return ["pipx", "install", "--force", *editable, source]
    if mode["mode"] == "venv":
        return [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                *(["-e"] if mode["editable"] else []), source]
    raise ValueError("Argus runs from a system Python, which self-update will not modify; install it in a "
                     "virtualenv, with uv tool or pipx, or set update.install_command")
