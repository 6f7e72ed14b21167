"""Reading notes and matching paths, without a daemon: frontmatter, tags, wiki-links, globs, confinement."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from argus.kernel.api import Invalid
from argus.plugins.kb.parse import compose, link_key, parse_note
from argus.plugins.kb.store import fts_query
from argus.plugins.kb.vault import DEFAULT_EXCLUDE, DEFAULT_INCLUDE, Globs, Vault


def test_frontmatter_title_tags_aliases_and_inline_tags() -> None:
    note = parse_note("---\ntitle: Plan\ntags: [Work, 'project/argus']\naliases: P1, Plan A\n---\n"
                      "# Heading\nText #Inline and #2024 and `#code` and a#not.\n", "file")
    assert note.title == "Plan" and note.error is None
    assert note.tags == ["work", "project/argus", "inline"]  # case-folded; #2024 and code are not tags
    assert note.aliases == ["P1", "Plan A"]
    assert note.headings == ["Heading"]
    assert note.body.startswith("# Heading")


def test_title_falls_back_to_the_first_h1_then_the_file_name() -> None:
    assert parse_note("## Sub\n# Top\n", "stem").title == "Top"
    assert parse_note("no heading", "stem").title == "stem"


def test_broken_or_non_mapping_frontmatter_keeps_the_whole_text_as_body() -> None:
    broken = parse_note("---\ntitle: [x\n---\nbody words\n", "b")
    assert broken.error and "invalid YAML frontmatter" in broken.error
    assert "body words" in broken.body and broken.frontmatter == {}
    listed = parse_note("---\n- a\n- b\n---\ntext\n", "l")
    assert listed.error and "not a mapping" in listed.error


def test_yaml_dates_become_strings_and_no_python_objects_are_built() -> None:
    note = parse_note("---\nwhen: 2024-01-05\n---\n", "d")
    assert note.frontmatter == {"when": "2024-01-05"}
    evil = parse_note("---\nx: !!python/object/apply:os.system ['true']\n---\n", "e")
    assert evil.error  # the safe loader refuses Python tags


def test_wiki_links_with_alias_heading_and_embed_outside_code() -> None:
    note = parse_note("[[A]] [[Folder/B.md|bee]] [[C#Part]] ![[img.png]] [[#local]]\n```\n[[InCode]]\n```\n", "x")
    got = [(ln.target, ln.heading, ln.display, ln.embed) for ln in note.links]
    assert got == [("a", None, None, False), ("folder/b", None, "bee", False), ("c", "Part", None, False),
                   ("img.png", None, None, True)]
    assert link_key("Folder\\Note.MD") == "folder/note"


def test_compose_merges_frontmatter_over_the_contents_header() -> None:
    text = compose("---\ntitle: Old\nkeep: 1\n---\nbody\n", {"title": "New", "tags": ["a"]})
    note = parse_note(text, "n")
    assert note.frontmatter == {"title": "New", "keep": 1, "tags": ["a"]} and note.body == "body\n"
    assert compose("plain\n", None) == "plain\n"


@pytest.mark.parametrize("text, expected", [
    ("hello world", '"hello" "world"'),
    ('"quoted" AND (x', '"quoted" "AND" "x"'),
    ("argu*", '"argu"*'),
    ("!!!", None),
])
def test_user_queries_become_safe_fts5_queries(text: str, expected: str | None) -> None:
    assert fts_query(text) == expected


def test_default_globs_keep_notes_and_drop_app_folders() -> None:
    g = Globs(DEFAULT_INCLUDE, DEFAULT_EXCLUDE)
    assert g.wanted("a.md") and g.wanted("deep/er/b.markdown")
    assert not g.wanted("img.png")
    for excluded in (".obsidian/x.md", ".trash/y.md", "attachments/z.md", "Sub/attachments/z.md", ".git/h.md"):
        assert not g.wanted(excluded), excluded
    assert g.dir_excluded(".obsidian") and not g.dir_excluded("Projects")


def test_anchored_and_double_star_globs() -> None:
    g = Globs(["Projects/**/*.md"], ["**/draft-*.md", "Projects/old/"])
    assert g.wanted("Projects/a.md") and g.wanted("Projects/x/y/b.md")
    assert not g.wanted("Other/a.md")
    assert not g.wanted("Projects/x/draft-1.md")
    assert not g.wanted("Projects/old/a.md")


@pytest.mark.parametrize("bad", ["../x.md", "a/../../x.md", "/etc/passwd", "~/x.md", "C:\\x.md", "", "  ", "a\x00b"])
def test_paths_leaving_the_vault_are_invalid(bad: str) -> None:
    with pytest.raises(Invalid):
        Vault.clean(bad)


def test_clean_normalizes_separators_and_dots() -> None:
    assert Vault.clean("./a//b\\c.md") == "a/b/c.md"


def test_symlinks_out_of_the_vault_are_refused_and_not_walked(tmp_path: Path) -> None:
    root = tmp_path / "vault"
    (root / "in").mkdir(parents=True)
    (root / "in" / "ok.md").write_text("ok")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "s.md").write_text("secret")
    os.symlink(outside / "s.md", root / "esc.md")
    os.symlink(outside, root / "dir")
    os.symlink(root / "in" / "ok.md", root / "inner-link.md")  # stays inside: fine
    vault = Vault(root, Globs(DEFAULT_INCLUDE, DEFAULT_EXCLUDE))
    with pytest.raises(Invalid):
        vault.resolve("esc.md")
    with pytest.raises(Invalid):
        vault.resolve("dir/new.md")
    assert vault.resolve("inner-link.md") == root / "inner-link.md"
    assert sorted(f.rel for f in vault.walk()) == ["in/ok.md", "inner-link.md"]


def test_atomic_write_creates_folders_and_replaces(tmp_path: Path) -> None:
    vault = Vault(tmp_path, Globs(DEFAULT_INCLUDE, DEFAULT_EXCLUDE))
    assert vault.write_atomic("a/b/n.md", b"one") is True
    assert vault.write_atomic("a/b/n.md", b"two") is False
    assert (tmp_path / "a/b/n.md").read_bytes() == b"two"
    assert sorted(p.name for p in (tmp_path / "a/b").iterdir()) == ["n.md"]


def _index_notes(tmp_path: Path, notes: dict[str, str]) -> Any:
    from argus.plugins.kb import indexer
    from argus.plugins.kb.store import Index

    root = tmp_path / "vault"
    for rel, text in notes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    vault = Vault(root, Globs(DEFAULT_INCLUDE, DEFAULT_EXCLUDE))
    index = Index(tmp_path / "kb.sql")
    indexer.index_files(index, vault, list(vault.walk()))
    return index


@pytest.mark.parametrize("titled", [3, 15])
def test_words_in_most_notes_still_rank_title_matches_first(tmp_path: Path, titled: int) -> None:
    from argus.plugins.kb.store import BIG

    notes = {f"n/{i:05d}.md": f"# Note {i}\n\nthe walrus is common here, walrus again\n" for i in range(BIG + 100)}
    for i in range(titled):
        notes[f"t/{i}.md"] = f"# Walrus {i}\n\nshort\n"
    index = _index_notes(tmp_path, notes)
    results = index.search("walrus", limit=10, path_prefix=None, tags=[])
    assert len(results) == 10
    top = min(titled, 10)
    assert all(r["path"].startswith("t/") for r in results[:top]), [r["path"] for r in results]
    assert all("**" in r["snippet"] for r in results)
    filtered = index.search("walrus", limit=5, path_prefix="n/", tags=[])
    assert len(filtered) == 5 and all(r["path"].startswith("n/") for r in filtered)
    index.close()


def _index_in_order(tmp_path: Path, notes: dict[str, str]) -> tuple[Any, Vault]:
    """Index ``notes`` one after another (in dict order, so later notes are newer)."""
    from argus.plugins.kb import indexer
    from argus.plugins.kb.store import Index

    root = tmp_path / "vault"
    vault = Vault(root, Globs(DEFAULT_INCLUDE, DEFAULT_EXCLUDE))
    index = Index(tmp_path / "kb.sql")
    for rel, text in notes.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        indexer.sync_paths(index, vault, [rel])
    return index, vault


@pytest.fixture
def small_big(monkeypatch: pytest.MonkeyPatch) -> None:
    """'Words in most notes' from 20 matches on, ranking the 5 (or a page) most recently changed."""
    from argus.plugins.kb import store

    monkeypatch.setattr(store, "BIG", 20)
    monkeypatch.setattr(store, "CAP", 5)


def test_a_word_in_most_notes_ranks_the_most_recently_changed_title_matches(tmp_path: Path, small_big: None) -> None:
    from argus.plugins.kb import indexer

    notes = {f"t/{i}.md": f"# Walrus {i}\n\nwalrus notes, number {i}\n" for i in range(8)}
    notes.update({f"n/{i}.md": f"# Note {i}\n\nthe walrus is in the body only\n" for i in range(30)})
    index, vault = _index_in_order(tmp_path, notes)
    results = index.search("walrus", limit=3, path_prefix=None, tags=[])
    # The 5 newest notes with the word in the title are ranked (BM25); a body match never outranks them.
    assert {r["path"] for r in results} <= {f"t/{i}.md" for i in range(3, 8)}, results
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    assert all("**walrus**" in r["snippet"].lower() for r in results)
    page = index.search("walrus", limit=5, path_prefix=None, tags=[])
    assert sorted(r["path"] for r in page) == [f"t/{i}.md" for i in range(3, 8)]
    # Editing an older note makes it one of the most recently changed: it is ranked again.
    (vault.root / "t/0.md").write_text("# Walrus 0\n\nwalrus notes, number 0, edited\n")
    indexer.sync_paths(index, vault, ["t/0.md"])
    again = [r["path"] for r in index.search("walrus", limit=5, path_prefix=None, tags=[])]
    assert "t/0.md" in again and "t/3.md" not in again
    index.close()


def test_a_title_match_outside_the_newest_still_beats_body_matches(tmp_path: Path, small_big: None) -> None:
    notes = {"old/Walrus.md": "# Walrus\n\nall about the walrus\n"}
    notes.update({f"n/{i}.md": f"# Note {i}\n\nthe walrus is in the body, walrus again\n" for i in range(30)})
    index, _ = _index_in_order(tmp_path, notes)
    results = index.search("walrus", limit=10, path_prefix=None, tags=[])
    assert len(results) == 10 and results[0]["path"] == "old/Walrus.md", [r["path"] for r in results]
    assert [r["score"] for r in results] == sorted((r["score"] for r in results), reverse=True)
    index.close()


def test_snippets_are_chosen_around_the_rarer_words(tmp_path: Path, small_big: None) -> None:
    notes = {f"n/{i}.md": f"# Note {i}\n\nthe walrus swims, walrus walrus\n" for i in range(30)}
    notes["z/zebra.md"] = "# Zoo\n\nwalrus and zebra walrus walrus\n"
    index, _ = _index_in_order(tmp_path, notes)
    [hit] = index.search("zebra walrus", limit=10, path_prefix=None, tags=[])
    assert hit["path"] == "z/zebra.md" and "**zebra**" in hit["snippet"] and "**walrus**" not in hit["snippet"]
    # Alone, the common word is highlighted.
    alone = index.search("walrus", limit=1, path_prefix="z/", tags=[])
    assert "**walrus**" in alone[0]["snippet"]
    # Any-word search: a note with only the common word still gets a snippet around it.
    anyw = index.search("zebra walrus", limit=5, path_prefix=None, tags=[], any_term=True)
    assert anyw[0]["path"] == "z/zebra.md" and all("**" in r["snippet"] for r in anyw)
    index.close()


def test_a_repeated_word_is_searched_once(tmp_path: Path) -> None:
    index, _ = _index_in_order(tmp_path, {"a.md": "# A\n\nwalrus\n", "b.md": "# Walrus\n\ntext\n"})
    once = index.search("walrus", limit=10, path_prefix=None, tags=[])
    assert index.search("walrus Walrus walrus", limit=10, path_prefix=None, tags=[]) == once
    assert fts_query("walrus WALRUS argu* argu*") == '"walrus" "argu"*'
    index.close()
