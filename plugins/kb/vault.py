"""The vault on disk: which files belong to it, paths confined to it, atomic writes, walking it.

Every path a caller gives (MCP tool, REST query) goes through ``Vault.resolve``: it must be
relative, without ``..``, without NUL, and its real path (symlinks followed) must stay inside the
vault's real path. Anything else is ``Invalid`` before a file is touched.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from argus.kernel.api import Invalid, NotFound

NOTE_SUFFIXES = (".md", ".markdown")
DEFAULT_INCLUDE = ("*.md", "*.markdown")
DEFAULT_EXCLUDE = (".obsidian/", ".trash/", "attachments/", ".git/")
MAX_PATH = 1024
MAX_NAME = 255  # bytes per file or folder name (ext4, APFS)


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A glob as a regex over a ``/`` path: ``**`` spans folders, ``*`` and ``?`` do not."""
    out = ""
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
            continue
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
            continue
        if c == "*":
            out += "[^/]*"
        elif c == "?":
            out += "[^/]"
        elif c == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out += re.escape(c)
            else:
                body = pattern[i + 1:end].replace("\\", "\\\\")
                if body.startswith("!"):
                    body = "^" + body[1:]
                out += f"[{body}]"
                i = end
        else:
            out += re.escape(c)
        i += 1
    return re.compile(out + r"\Z", re.S)


class Globs:
    """gitignore-like include/exclude patterns.

    A pattern ending in ``/`` names a folder (everything under it); a pattern without ``/`` matches
    a name at any depth; one with ``/`` is anchored at the vault root. ``**`` spans folders.
    """

    def __init__(self, include: Sequence[str], exclude: Sequence[str]) -> None:
        self.include = [p.strip() for p in include if p.strip()] or list(DEFAULT_INCLUDE)
        self.exclude = [p.strip() for p in exclude if p.strip()]
        self._dir_patterns = [p.rstrip("/") for p in self.exclude if p.endswith("/")]
        self._file_patterns = [p for p in self.exclude if not p.endswith("/")]

    @staticmethod
    def _match(pattern: str, rel: str) -> bool:
        anchored = "/" in pattern
        target = rel if anchored else rel.rsplit("/", 1)[-1]
        return bool(_glob_regex(pattern.lstrip("/")).match(target))

    def dir_excluded(self, rel_dir: str) -> bool:
        """Whether the folder ``rel_dir`` (vault-relative, no trailing ``/``) is excluded."""
        return any(self._match(p, rel_dir) for p in self._dir_patterns) or any(
            self._match(p, rel_dir + "/") for p in self._file_patterns if p.endswith("**"))

    def wanted(self, rel: str) -> bool:
        """Whether the vault-relative file ``rel`` is a note to index."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            if self.dir_excluded("/".join(parts[:depth])):
                return False
        if any(self._match(p, rel) for p in self._file_patterns):
            return False
        return any(self._match(p, rel) for p in self.include)


@dataclass(frozen=True)
class FileStat:
    """What the incremental indexer compares: a note's vault-relative path, mtime and size."""

    rel: str
    mtime_ns: int
    size: int


class Vault:
    """A folder of Markdown notes."""

    def __init__(self, root: str | os.PathLike[str], globs: Globs) -> None:
        self.root = Path(root).expanduser()
        self.globs = globs

    @property
    def real(self) -> str:
        """The vault's real path (symlinks resolved)."""
        return os.path.realpath(self.root)

    def exists(self) -> bool:
        """Whether the vault folder exists."""
        return self.root.is_dir()

    # -- confinement -----------------------------------------------------------------------

    @staticmethod
    def clean(path: str) -> str:
        """A caller's vault-relative path, normalized to ``a/b.md``; ``Invalid`` if it leaves the vault."""
        if not isinstance(path, str) or not path.strip():
            raise Invalid("path: a vault-relative path is required")
        if "\x00" in path:
            raise Invalid("path: must not contain NUL bytes")
        if len(path) > MAX_PATH:
            raise Invalid(f"path: longer than {MAX_PATH} characters")
        raw = path.strip().replace("\\", "/")
        if raw.startswith("/") or re.match(r"^[A-Za-z]:", raw) or raw.startswith("~"):
            raise Invalid(f"path: {path!r} is absolute; give a path relative to the vault")
        parts = [p for p in raw.split("/") if p not in ("", ".")]
        if any(p == ".." for p in parts):
            raise Invalid(f"path: {path!r} leaves the vault ('..' is not allowed)")
        if not parts:
            raise Invalid("path: a vault-relative path is required")
        if any(len(p.encode("utf-8")) > MAX_NAME for p in parts):
            raise Invalid(f"path: a file or folder name is longer than {MAX_NAME} bytes")
        return "/".join(parts)

    def resolve(self, rel: str, *, must_exist: bool = False) -> Path:
        """The absolute path of vault-relative ``rel``, refusing symlinks that lead out of the vault."""
        rel = self.clean(rel)
        full = self.root / rel
        real_root = self.real
        real = os.path.realpath(full)
        if os.path.commonpath([real_root, real]) != real_root:
            raise Invalid(f"path: {rel!r} resolves outside the vault (symlink)")
        if must_exist and not os.path.isfile(real):
            raise NotFound(f"no note {rel!r} in the vault")
        return full

    def rel_of(self, abs_path: str) -> str | None:
        """The vault-relative path of an absolute one, or None when it is not under the vault."""
        try:
            rel = os.path.relpath(abs_path, self.root)
        except ValueError:
            return None
        if rel == "." or rel.startswith("../") or rel == ".." or os.path.isabs(rel):
            return None
        return rel.replace(os.sep, "/")

    # -- reading and writing ---------------------------------------------------------------

    def stat(self, rel: str) -> FileStat | None:
        """A note's stat, or None when it is gone, not a regular file, or a symlink out of the vault."""
        full = self.root / rel
        try:
            st = os.stat(full)
        except (FileNotFoundError, NotADirectoryError, PermissionError, OSError):
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        if os.path.islink(full) or any(os.path.islink(p) for p in self._parents(rel)):
            real_root = self.real
            if os.path.commonpath([real_root, os.path.realpath(full)]) != real_root:
                return None
        return FileStat(rel, st.st_mtime_ns, st.st_size)

    def _parents(self, rel: str) -> Iterator[Path]:
        parts = rel.split("/")[:-1]
        for depth in range(1, len(parts) + 1):
            yield self.root.joinpath(*parts[:depth])

    def walk(self, under: str = "") -> Iterator[FileStat]:
        """Every wanted note under the vault (or under folder ``under``), without following folder symlinks."""
        start = self.root / under if under else self.root
        stack = [(start, under)]
        while stack:
            folder, rel_folder = stack.pop()
            try:
                entries = list(os.scandir(folder))
            except (FileNotFoundError, NotADirectoryError, PermissionError):
                continue
            for entry in entries:
                rel = f"{rel_folder}/{entry.name}" if rel_folder else entry.name
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if not self.globs.dir_excluded(rel):
                            stack.append((Path(entry.path), rel))
                        continue
                    if not self.globs.wanted(rel):
                        continue
                    if entry.is_symlink():
                        found = self.stat(rel)
                        if found is not None:
                            yield found
                        continue
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    st = entry.stat(follow_symlinks=False)
                except OSError:
                    continue
                yield FileStat(rel, st.st_mtime_ns, st.st_size)

    def write_atomic(self, rel: str, data: bytes) -> bool:
        """Write a note through a temporary file and a rename; return True when it was created."""
        full = self.resolve(rel)
        created = not full.exists()
        full.parent.mkdir(parents=True, exist_ok=True)
        # The parent may have been created through a symlink: check again before writing.
        self.resolve(rel)
        fd, tmp = tempfile.mkstemp(prefix=f".{full.name}.", suffix=".tmp", dir=full.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            if not created:
                try:
                    os.chmod(tmp, stat.S_IMODE(os.stat(full).st_mode))
                except OSError:
                    pass
            else:
                os.chmod(tmp, 0o644)
            os.replace(tmp, full)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise
        return created
