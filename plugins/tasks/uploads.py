"""Files given with a task (multipart uploads, plugin context files): checked, then saved into the
worktree's ``.context/`` folder (auto-suffixed), their paths appended to the prompt."""

from __future__ import annotations

from pathlib import Path

from argus.kernel.api import Invalid, TooLarge

MAX_FILE = 10 * 1024 * 1024
MAX_TOTAL = 50 * 1024 * 1024
MAX_FILES = 20
MAX_UPLOAD_NAME_BYTES = 200


def safe_name(filename: str) -> str:
    """An uploaded file's name, or Invalid when it is a path, traversal or too long."""
    if not isinstance(filename, str) or not filename.strip():
        raise Invalid("uploaded file has no name")
    if "/" in filename or "\\" in filename or "\x00" in filename or filename in (".", "..") \
            or filename.startswith(".."):
        raise Invalid(f"invalid file name {filename!r}: no paths or traversal allowed")
    try:
        size = len(filename.encode("utf-8"))
    except UnicodeEncodeError:
        raise Invalid("file name is not valid Unicode text") from None
    if size > MAX_UPLOAD_NAME_BYTES:  # room for the "-N" suffix within the 255-byte file name limit
        raise Invalid(f"file name longer than {MAX_UPLOAD_NAME_BYTES} bytes")
    return filename


def check_uploads(files: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The files with checked names, or TooLarge past 20 files, 10 MB each or 50 MB in total."""
    if len(files) > MAX_FILES:
        raise TooLarge(f"at most {MAX_FILES} files per request")
    total = 0
    out = []
    for filename, data in files:
        name = safe_name(filename)
        if len(data) > MAX_FILE:
            raise TooLarge(f"{name} is larger than 10 MB")
        total += len(data)
        out.append((name, data))
    if total > MAX_TOTAL:
        raise TooLarge("uploads are larger than 50 MB in total")
    return out


def save_uploads(worktree: str, files: list[tuple[str, bytes]], extra: dict[str, bytes]) -> list[str]:
    """Write ``files`` and ``extra`` into ``<worktree>/.context/``; their worktree-relative paths."""
    if not files and not extra:
        return []
    ctx = Path(worktree) / ".context"
    ctx.mkdir(exist_ok=True)
    saved = []
    for name, data in [*files, *extra.items()]:
        target = ctx / name
        stem, suffix, n = target.stem, target.suffix, 1
        while target.exists():
            target = ctx / f"{stem}-{n}{suffix}"
            n += 1
        target.write_bytes(data)
        saved.append(str(target.relative_to(worktree)))
    return saved


def prompt_with_files(prompt: str, saved: list[str]) -> str:
    """The prompt followed by the list of attached files."""
    listing = "\n".join(f"- {p}" for p in saved)
    return f"{prompt}\n\nAttached files (in the worktree):\n{listing}".strip()
