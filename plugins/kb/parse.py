"""Reading one Markdown note: YAML frontmatter, title, headings, tags, wiki-links and body text.

Pure functions with no I/O, so the indexer, ``kb_ingest`` and the tests share one reading of a note.
Frontmatter is parsed with PyYAML's safe loader (the C one when available); a header that does
not parse is reported as the note's ``error`` and the rest of the file is still indexed as body.
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from dataclasses import dataclass, field
from typing import Any


@functools.cache
def _yaml() -> tuple[Any, Any, Any]:
    """PyYAML with its loader and dumper, imported on the first note (not at daemon start-up)."""
    import yaml

    try:  # the libyaml loader is ~10x faster; fall back to the pure-Python one
        return yaml, yaml.CSafeLoader, yaml.CSafeDumper
    except AttributeError:  # pragma: no cover - PyYAML built without libyaml
        return yaml, yaml.SafeLoader, yaml.SafeDumper


FRONTMATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)(?:\r?\n)?^(?:---|\.\.\.)[ \t]*(?:\r?\n|\Z)", re.S | re.M)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.M)
FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"`[^`\n]*`")
WIKI_LINK = re.compile(r"\[\[([^\[\]\n|#^]*)(?:#\^?([^\[\]\n|]*))?(?:\|([^\[\]\n]*))?\]\]")
INLINE_TAG = re.compile(r"#([^\W\d][\w/-]*|\d+[^\W\d][\w/-]*)")


@dataclass
class Link:
    """One ``[[wiki-link]]``: its normalized target key, the heading it points at, its display text."""

    target: str
    raw: str
    heading: str | None = None
    display: str | None = None
    embed: bool = False


@dataclass
class Note:
    """What the index stores about one note."""

    title: str
    body: str
    frontmatter: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    aliases: list[str] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    error: str | None = None


def link_key(target: str) -> str:
    """The lookup key of a link target or note path: forward slashes, no ``.md``, case-folded."""
    key = target.strip().replace("\\", "/").strip("/")
    if key.lower().endswith(".md"):
        key = key[:-3]
    return key.casefold()


def split_frontmatter(text: str) -> tuple[str | None, str]:
    """``(yaml_text, body)``; ``yaml_text`` is None when the note has no ``---`` header."""
    text = text.removeprefix("\ufeff")
    m = FRONTMATTER.match(text)
    if not m:
        return None, text
    return m.group(1), text[m.end():]


def _jsonable(value: object) -> Any:
    """YAML values made JSON-safe (dates become ISO strings, odd keys become strings)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, _dt.date | _dt.datetime | _dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def parse_frontmatter(yaml_text: str) -> dict[str, Any]:
    """The header as a JSON-safe dict; raises ``ValueError`` with a short reason when it is not one."""
    yaml, loader, _ = _yaml()
    try:
        data = yaml.load(yaml_text, Loader=loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 2})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ValueError(f"invalid YAML frontmatter{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError("invalid YAML frontmatter: not a mapping")
    return {str(k): _jsonable(v) for k, v in data.items()}


def dump_frontmatter(data: dict[str, Any]) -> str:
    """``---\\n<yaml>---\\n`` for a note header (keys in the given order, unicode kept)."""
    yaml, _, dumper = _yaml()
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, default_flow_style=False)
    return f"---\n{text}---\n"


def _str_list(value: object) -> list[str]:
    """Tags/aliases as a list: YAML lists, or comma/space separated strings."""
    if value is None:
        return []
    if isinstance(value, str):
        parts = re.split(r"[,\s]+", value) if "," in value or " " in value else [value]
        return [p for p in parts if p]
    if isinstance(value, list):
        return [str(v) for v in value if v is not None and str(v).strip()]
    return [str(value)]


def _aliases(value: object) -> list[str]:
    if isinstance(value, str):
        return [a.strip() for a in value.split(",") if a.strip()]
    return [a.strip() for a in _str_list(value)]


def normalize_tag(tag: str) -> str:
    """A tag without its ``#``, trimmed, case-folded (``#Project/Argus`` → ``project/argus``)."""
    return tag.strip().lstrip("#").strip().casefold()


def _strip_code(body: str) -> str:
    """The body without fenced blocks and inline code (no tags or links are read from code)."""
    return INLINE_CODE.sub(" ", FENCE.sub(" ", body))


def parse_links(body: str, *, code_free: str | None = None) -> list[Link]:
    """Every wiki-link outside code, in order (``[[Note]]``, ``[[Note|alias]]``, ``[[Note#Heading]]``)."""
    text = _strip_code(body) if code_free is None else code_free
    if "[[" not in text:
        return []
    out: list[Link] = []
    for m in WIKI_LINK.finditer(text):
        target, heading, display = m.group(1), m.group(2), m.group(3)
        if not target.strip():  # ``[[#Heading]]``: a link inside the same note
            continue
        embed = m.start() > 0 and text[m.start() - 1] == "!"
        out.append(Link(link_key(target), target.strip(), (heading or "").strip() or None,
                        (display or "").strip() or None, embed))
    return out


def inline_tags(code_free: str) -> list[str]:
    """``#tags`` in the text (a ``#`` at a line start or after a space, not only digits)."""
    out = []
    for m in INLINE_TAG.finditer(code_free):
        start = m.start()
        if start == 0 or code_free[start - 1].isspace():
            out.append(m.group(1))
    return out


def parse_note(text: str, stem: str) -> Note:
    """Read a note's text; ``stem`` (the file name without ``.md``) is the title of last resort."""
    yaml_text, body = split_frontmatter(text)
    frontmatter: dict[str, Any] = {}
    error = None
    if yaml_text is not None:
        try:
            frontmatter = parse_frontmatter(yaml_text)
        except ValueError as exc:
            error = str(exc)
            body = text  # index the whole file, header included, so nothing is lost
    code_free = _strip_code(body) if "`" in body else body
    found = [(len(m.group(1)), m.group(2).strip()) for m in HEADING.finditer(code_free)] if "#" in code_free else []
    headings = [text for _, text in found]
    h1 = next((text for level, text in found if level == 1), None)
    fm_title = frontmatter.get("title")
    title = str(fm_title).strip() if isinstance(fm_title, str | int | float) and str(fm_title).strip() else None
    tags: list[str] = []
    for tag in [*_str_list(frontmatter.get("tags", frontmatter.get("tag"))),
                *inline_tags(code_free)]:
        norm = normalize_tag(tag)
        if norm and norm not in tags:
            tags.append(norm)
    aliases = _aliases(frontmatter.get("aliases", frontmatter.get("alias")))
    return Note(title=title or h1 or stem, body=body, frontmatter=frontmatter, tags=tags,
                aliases=aliases, headings=headings, links=parse_links(body, code_free=code_free),
                error=error)


def compose(content: str, frontmatter: dict[str, Any] | None) -> str:
    """The text ``kb_ingest`` writes: ``content`` with ``frontmatter`` merged over its own header."""
    if frontmatter is None:
        return content
    yaml_text, body = split_frontmatter(content)
    merged: dict[str, Any] = {}
    if yaml_text is not None:
        merged = parse_frontmatter(yaml_text)
    merged.update(frontmatter)
    if not merged:
        return body
    return dump_frontmatter(merged) + body
