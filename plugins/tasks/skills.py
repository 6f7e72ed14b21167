"""Slash-command skills for prompt autocomplete (``GET /api/skills``).

Three sources, as Claude Code sees them:

- ``user``: ``$HOME/.claude/skills/<name>/SKILL.md`` and ``$HOME/.claude/commands/<name>.md``;
- ``project``: the same two folders under the project's repository (``.claude/skills``, ``.claude/commands``);
- ``plugin``: installed Claude plugins, ``$HOME/.claude/plugins/**/skills/<name>/SKILL.md`` and
  ``**/commands/<name>.md``.

A skill's name and description come from its SKILL.md frontmatter (``name:``, ``description:``),
falling back to the folder name and the first line of text. ``HOME`` is read on every call.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

MAX_DEPTH = 8
MAX_FILE = 64 * 1024
MAX_SKILLS = 2000
SKIP_DIRS = {".git", "node_modules", "__pycache__", ".venv", "venv"}


def parse_frontmatter(text: str) -> tuple[dict[str, str], str]:
    """The ``key: value`` pairs of a leading ``---`` block (with ``|``/``>`` block scalars) and the rest."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "---":
        return {}, text
    out: dict[str, str] = {}
    end = None
    key: str | None = None
    block: list[str] = []
    folded = False

    def flush() -> None:
        if key is not None and block:
            out[key] = (" " if folded else "\n").join(b.strip() for b in block).strip()

    for i, line in enumerate(lines[1:], start=1):
        if line.strip() in ("---", "..."):
            end = i
            break
        if key is not None and (line.startswith((" ", "\t")) or not line.strip()):
            block.append(line)
            continue
        flush()
        key, block = None, []
        if ":" not in line or line.startswith("#"):
            continue
        k, _, v = line.partition(":")
        k, v = k.strip(), v.strip()
        if v in ("|", ">", "|-", ">-", "|+", ">+"):
            key, folded = k, v.startswith(">")
            continue
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        out[k] = v
    flush()
    if end is None:
        return {}, text
    return out, "\n".join(lines[end + 1:])


def _first_line(body: str) -> str:
    for line in body.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            return line[:300]
    return ""


def _read(path: Path) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read(MAX_FILE)
    except OSError:
        return ""


def _skill(path: Path, default_name: str, source: str, plugin: str | None = None) -> dict[str, Any]:
    meta, body = parse_frontmatter(_read(path))
    name = (meta.get("name") or default_name).strip() or default_name
    out: dict[str, Any] = {"name": name, "description": (meta.get("description") or _first_line(body)).strip(),
                           "source": source, "path": str(path)}
    if plugin:
        out["plugin"] = plugin
    return out


def _from_claude_dir(base: Path, source: str) -> list[dict[str, Any]]:
    """Skills and commands of one ``.claude`` folder."""
    out: list[dict[str, Any]] = []
    skills = base / "skills"
    if skills.is_dir():
        for entry in sorted(skills.iterdir()):
            if (entry / "SKILL.md").is_file():
                out.append(_skill(entry / "SKILL.md", entry.name, source))
    commands = base / "commands"
    if commands.is_dir():
        for md in sorted(commands.rglob("*.md")):
            rel = md.relative_to(commands).with_suffix("")
            out.append(_skill(md, ":".join(rel.parts), source))
    return out


def _plugin_name(root: Path) -> str:
    """A plugin's name: its ``.claude-plugin/plugin.json`` name, else its folder name."""
    manifest = root / ".claude-plugin" / "plugin.json"
    if manifest.is_file():
        import json

        try:
            data = json.loads(_read(manifest))
            name = data.get("name") if isinstance(data, dict) else None
            if isinstance(name, str) and name:
                return name
        except ValueError:
            pass
    return root.name


def _from_plugins(root: Path) -> list[dict[str, Any]]:
    """Every ``skills/*/SKILL.md`` and ``commands/*.md`` under ``root``, bounded in depth."""
    out: list[dict[str, Any]] = []
    if not root.is_dir():
        return out
    base_depth = len(root.parts)
    for dirpath, dirnames, _files in os.walk(root, followlinks=False):
        here = Path(dirpath)
        if len(here.parts) - base_depth >= MAX_DEPTH:
            dirnames[:] = []
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS)
        if here.name == "skills":
            plugin = _plugin_name(here.parent)
            for d in dirnames:
                if (here / d / "SKILL.md").is_file():
                    out.append(_skill(here / d / "SKILL.md", d, "plugin", plugin))
            dirnames[:] = []
        elif here.name == "commands":
            plugin = _plugin_name(here.parent)
            for md in sorted(here.glob("*.md")):
                out.append(_skill(md, md.stem, "plugin", plugin))
            dirnames[:] = []
        if len(out) >= MAX_SKILLS:
            break
    return out


def list_skills(home: str | None = None, project_path: str | None = None, text: str = "") -> list[dict[str, Any]]:
    """Skills from the user, the project and plugins whose name contains ``text`` (any case).

    Blocking (file system walk): call it through ``trio.to_thread``.
    """
    home_dir = Path(home or os.path.expanduser("~"))
    found: list[dict[str, Any]] = []
    found += _from_claude_dir(home_dir / ".claude", "user")
    if project_path:
        found += _from_claude_dir(Path(project_path) / ".claude", "project")
    found += _from_plugins(home_dir / ".claude" / "plugins")
    needle = text.strip().lstrip("/").lower()
    out, seen = [], set()
    for s in found:
        key = (s["name"], s["source"], s.get("plugin"))
        if key in seen:
            continue
        seen.add(key)
        if needle and needle not in s["name"].lower():
            continue
        out.append(s)
    return out[:MAX_SKILLS]
