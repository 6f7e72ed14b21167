"""Skill autocomplete: user, project and plugin skills (SKILL.md frontmatter) and commands."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from argus.plugins.tasks.skills import list_skills, parse_frontmatter

ROOT = Path(__file__).resolve().parents[2]


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_home(home: Path) -> None:
    write(home / ".claude/skills/review/SKILL.md",
          "---\nname: review\ndescription: Review the current diff\n---\n# Review\nSteps...\n")
    write(home / ".claude/skills/no-front/SKILL.md", "# Summarize the session\n\nbody\n")
    write(home / ".claude/commands/deploy.md", "---\ndescription: \"Deploy to staging\"\n---\nrun it\n")
    plugin = home / ".claude/plugins/marketplaces/acme/plugins/linty"
    write(plugin / ".claude-plugin/plugin.json", '{"name": "linty"}')
    write(plugin / "skills/lint-fix/SKILL.md",
          "---\nname: lint-fix\ndescription: >\n  Fix lint errors\n  across the repo\n---\n")
    write(plugin / "commands/lint.md", "Run the linter\n")
    write(home / ".claude/plugins/cache/node_modules/x/skills/hidden/SKILL.md", "---\nname: hidden\n---\n")


def test_frontmatter_parsing() -> None:
    meta, body = parse_frontmatter("---\nname: a\ndescription: 'quoted: yes'\nlist: |\n  one\n  two\n---\nrest\n")
    assert meta == {"name": "a", "description": "quoted: yes", "list": "one\ntwo"} and body == "rest"
    assert parse_frontmatter("no frontmatter\n") == ({}, "no frontmatter\n")
    assert parse_frontmatter("---\nname: unterminated\n")[0] == {}


def test_lists_user_project_and_plugin_skills(tmp_path: Path) -> None:
    home = tmp_path / "home"
    make_home(home)
    repo = tmp_path / "repo"
    write(repo / ".claude/skills/ship/SKILL.md", "---\nname: ship\ndescription: Ship it\n---\n")
    found = {(s["name"], s["source"]): s for s in list_skills(str(home), str(repo))}
    assert found[("review", "user")]["description"] == "Review the current diff"
    assert found[("no-front", "user")]["description"] == "Summarize the session"
    assert found[("deploy", "user")]["description"] == "Deploy to staging"
    assert found[("ship", "project")]["description"] == "Ship it"
    assert found[("lint-fix", "plugin")]["description"] == "Fix lint errors across the repo"
    assert found[("lint-fix", "plugin")]["plugin"] == "linty"
    assert found[("lint", "plugin")]["description"] == "Run the linter"
    assert ("hidden", "plugin") not in found  # node_modules is skipped
    assert {s["name"] for s in list_skills(str(home), None, "LINT")} == {"lint-fix", "lint"}
    assert list_skills(str(tmp_path / "empty-home")) == []


def test_repo_ships_sample_skills_for_finishing_a_task() -> None:
    found = {s["name"]: s for s in list_skills(str(ROOT / "no-home"), str(ROOT))}
    for name in ("argus-complete", "archive"):
        assert found[name]["source"] == "project" and found[name]["description"]
        text = (ROOT / ".claude/skills" / name / "SKILL.md").read_text()
        assert "cwd" in text and "pwd" in text
    assert "task_complete" in (ROOT / ".claude/skills/argus-complete/SKILL.md").read_text()
    assert "task_archive" in (ROOT / ".claude/skills/archive/SKILL.md").read_text()


def test_rest_skills_respect_home_and_project(daemon_factory: Any, tmp_path: Path, git_repo: Path) -> None:
    home = tmp_path / "user-home"
    make_home(home)
    write(git_repo / ".claude/skills/ship/SKILL.md", "---\nname: ship\ndescription: Ship it\n---\n")
    d = daemon_factory("skills", env={"HOME": str(home)})
    assert d.client.post("/api/projects", json={"name": "web", "path": str(git_repo)}).status_code == 201
    skills = d.client.get("/api/skills").json()["skills"]
    assert {"name": "review", "description": "Review the current diff", "source": "user"} in skills
    assert "ship" not in {s["name"] for s in skills}
    with_project = d.client.get("/api/skills", params={"project": "web"}).json()["skills"]
    assert {"name": "ship", "description": "Ship it", "source": "project"} in with_project
    filtered = d.client.get("/api/skills", params={"filter": "Rev"}).json()["skills"]
    assert [s["name"] for s in filtered] == ["review"]
    assert d.client.get("/api/skills", params={"project": "nope"}).status_code == 404
