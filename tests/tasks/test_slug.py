"""Slugs: safe in git refs, paths and shells; bounded; unique on collision."""

from __future__ import annotations

import re
import subprocess

import pytest
from argus.kernel.errors import Conflict
from argus.plugins.tasks.slug import slug_from_prompt, slugify, unique_slug

NASTY = [
    "Fix the Login bug!",
    "a..b",
    "release.lock",
    "name.lock.lock",
    "-rf /",
    "--help",
    "a;rm -rf ~;$(whoami)`id`",
    "refs/heads/main",
    "@{upstream}",
    "back\\slash",
    "tab\tnew\nline",
    "a:b?c*d[e]^f~g",
    "quotes 'single' \"double\"",
    "pipes | and & ampersands > redirect <",
    "..hidden.",
    "café crème brûlée",
    "日本語のタスク",
    "emoji 🚀 launch",
    "x" * 300,
    "a" + "-" * 100 + "b",
    ".",
    "",
]
SHELL_META = set(" \t\n;&|<>()$`\\\"'*?[]#~=%!{}^:@/")


@pytest.mark.parametrize("name", NASTY)
def test_slugify_output_is_a_valid_branch_and_shell_safe(name: str) -> None:
    slug = slugify(name)
    assert slug
    assert len(slug) <= 48
    assert slug == slug.lower()
    assert re.fullmatch(r"[a-z0-9._-]+", slug)
    assert not set(slug) & SHELL_META
    assert ".." not in slug and "--" not in slug
    assert not slug.startswith(("-", ".")) and not slug.endswith(("-", "."))
    assert not slug.endswith(".lock")
    res = subprocess.run(
        ["git", "check-ref-format", "--branch", f"argus/{slug}"], capture_output=True, check=False
    )
    assert res.returncode == 0, (name, slug, res.stderr)


def test_slugify_basic_examples() -> None:
    assert slugify("Fix the Login bug!") == "fix-the-login-bug"
    assert slugify("café crème") == "cafe-creme"
    assert slugify("a..b") == "a.b"
    assert slugify("release.lock") == "release"
    assert slugify("  spaced   out  ") == "spaced-out"
    assert slugify("snake_case_name") == "snake_case_name"


def test_slugify_empty_or_unusable_gives_task() -> None:
    assert slugify("") == "task"
    assert slugify("!!!") == "task"
    assert slugify("日本語") == "task"


def test_slugify_bounds_length_at_a_word_boundary() -> None:
    slug = slugify("implement the very long feature name that keeps going and going forever", max_len=30)
    assert len(slug) <= 30
    assert not slug.endswith("-")
    assert slug.startswith("implement-the-very-long")
    assert len(slugify("y" * 500, max_len=20)) == 20


def test_unique_slug_returns_base_when_free() -> None:
    assert unique_slug("fix-login", lambda s: False) == "fix-login"


def test_unique_slug_adds_numeric_suffix_on_collision() -> None:
    taken = {"fix-login", "fix-login-1", "fix-login-2"}
    assert unique_slug("fix-login", taken.__contains__) == "fix-login-3"


def test_unique_slug_keeps_suffixed_slug_within_bound() -> None:
    base = "z" * 48
    slug = unique_slug(base, lambda s: s == base)
    assert slug.endswith("-1") and len(slug) <= 48


def test_unique_slug_gives_up_with_conflict() -> None:
    with pytest.raises(Conflict):
        unique_slug("x", lambda s: True)


def test_slug_from_prompt_keeps_meaningful_words() -> None:
    assert slug_from_prompt("Please fix the login bug on the settings page") == "fix-login-bug-settings-page"
    assert (
        slug_from_prompt("Add OAuth2 support to the API client, then write tests")
        == "add-oauth2-support-api-client"
    )


def test_slug_from_prompt_falls_back() -> None:
    assert slug_from_prompt("") == "task"
    assert slug_from_prompt("the and of") == "the-and-of"
    assert len(slug_from_prompt("word " * 100)) <= 40
