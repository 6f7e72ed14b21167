"""Task names and slugs. A name is display text (checked by :func:`check_name`).

Slugs: the safe, stable name a task's branch (``argus/<slug>``) and worktree directory use.

A slug is lowercase ASCII made of ``[a-z0-9._-]``: valid as one git ref component and as one path
component, and free of whitespace and shell metacharacters, so it can appear in a branch name, a
directory name or a command line without quoting.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from argus.kernel.api import Conflict, Invalid

MAX_NAME = 200  # task names, everywhere (REST, MCP, and the UIs through them)



def check_name(name: object, *, required: bool = True) -> str:
    """A task name, stripped: text of at most ``MAX_NAME`` characters without control characters
    (ESC, NUL, newlines, ...) or lone surrogates. Invalid otherwise (or when empty and ``required``)."""
    if not isinstance(name, str):
        raise Invalid("name must be a string")
    name = name.strip()
    if required and not name:
        raise Invalid("name is required")
    if len(name) > MAX_NAME:
        raise Invalid(f"name is longer than {MAX_NAME} characters")
    bad = next((ch for ch in name if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp")), None)
    if bad is not None:
        raise Invalid(f"name must not contain control characters (found U+{ord(bad):04X})")
    return name


DEFAULT_SLUG = "task"
MAX_SLUG_LEN = 48

_UNSAFE = re.compile(r"[^a-z0-9._-]+")
_DOTS = re.compile(r"\.{2,}")
_DASHES = re.compile(r"-{2,}")
# A dot next to a dash adds nothing and makes names like "a-.b" or "a.-b" that read badly.
_DOT_DASH = re.compile(r"(?:-\.|\.-)+")
_WORDS = re.compile(r"[^\W_]+(?:'[^\W_]+)?")

# Words that carry no meaning in a task prompt ("please fix the bug in the login page").
_STOPWORDS = frozenset(
    """
    a an the and or but nor so to of in on at by for from with into onto over under about as is are
    was were be been being it its this that these those there here i me my we our us you your he she
    they them their his her can could would should will shall may might must do does did done please
    pls let lets let's just also then than some any all each every very really make sure need needs
    want wants now up out via using use hey hi ok okay thanks thank
    """.split()
)


def _ascii_lower(text: str) -> str:
    """Lowercase ``text`` and fold accented letters to ASCII (``é`` → ``e``); drop what cannot fold."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return folded.lower()


def _trim(slug: str) -> str:
    """Strip characters a slug may not start or end with, and a trailing ``.lock``."""
    while True:
        before = slug
        slug = slug.strip("-._")
        if slug.endswith(".lock"):
            slug = slug[: -len(".lock")]
        if slug == before:
            return slug


def slugify(name: str, max_len: int = MAX_SLUG_LEN) -> str:
    """Turn any display name into a slug (``"Fix the Login bug!"`` → ``"fix-the-login-bug"``).

    Lowercase; every character that is not valid in a git ref component, or is whitespace or a
    shell metacharacter, becomes ``-``; runs of ``-`` collapse to one and runs of ``.`` to one (no
    ``..``); no leading or trailing ``-``/``.``/``_``; never ends in ``.lock``; at most ``max_len``
    characters (cut at a ``-`` when one is close); an empty result becomes ``"task"``.
    """
    max_len = max(1, max_len)
    slug = _UNSAFE.sub("-", _ascii_lower(name or ""))
    slug = _DOTS.sub(".", slug)
    slug = _DOT_DASH.sub("-", slug)
    slug = _DASHES.sub("-", slug)
    slug = _trim(slug)
    if len(slug) > max_len:
        cut = slug[:max_len]
        dash = cut.rfind("-")
        # Prefer ending on a word boundary unless that throws away most of the name.
        if dash >= max_len // 2:
            cut = cut[:dash]
        slug = _trim(cut)
    return slug or DEFAULT_SLUG


def unique_slug(base: str, taken: Callable[[str], bool], max_len: int = MAX_SLUG_LEN) -> str:
    """Return ``base`` or, if ``taken(base)``, the first free ``base-1``, ``base-2``, ...

    ``base`` is slugified first, and shortened when needed so that the suffixed slug still fits
    in ``max_len``. Raises Conflict if ten thousand candidates are all taken.
    """
    base = slugify(base, max_len)
    if not taken(base):
        return base
    for n in range(1, 10_000):
        suffix = f"-{n}"
        stem = _trim(base[: max(1, max_len - len(suffix))]) or DEFAULT_SLUG
        candidate = f"{stem}{suffix}"
        if not taken(candidate):
            return candidate
    raise Conflict(f"no free name left for {base!r}")


def slug_from_prompt(prompt: str, max_words: int = 5, max_len: int = 40) -> str:
    """A kebab-case name from the first few meaningful words of a prompt (the no-LLM fallback).

    ``"Please fix the login bug on the settings page"`` → ``"fix-login-bug-settings-page"``.
    Stopwords are skipped; if nothing meaningful is left the first words are used as they are;
    an empty prompt gives ``"task"``.
    """
    words = _WORDS.findall(_ascii_lower(prompt or ""))
    words = [w.replace("'", "") for w in words]
    meaningful = [w for w in words if w not in _STOPWORDS]
    chosen = (meaningful or words)[: max(1, max_words)]
    return slugify("-".join(chosen), max_len)
