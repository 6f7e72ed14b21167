"""Create-time task options (``argus_task_options``) and ``argus_task_prepare``, without a daemon."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from argus.kernel.api import Invalid
from argus.plugins.tasks import models as m
from argus.plugins.tasks.api import TaskContext, TaskOption
from argus.plugins.tasks.options import TaskOptions, write_context_file

FLAG = TaskOption("flag", "A flag", "does a thing")
OFF = TaskOption("gated", "Gated", unavailable=lambda: "the feature is off")
LEVEL = TaskOption("level", "Level", type=int, default=0)


def test_bad_declarations_are_ignored() -> None:
    options = TaskOptions([FLAG, TaskOption("prompt", "shadows a core field"), TaskOption("not valid", "x"),
                           TaskOption("class", "a keyword"), TaskOption("f", "x", type=list), "junk",  # type: ignore[list-item]
                           TaskOption("flag", "declared twice")])
    assert list(options.options) == ["flag"]
    assert options.options["flag"].title == "A flag"


def test_the_create_models_gain_one_optional_field_per_option() -> None:
    options = TaskOptions([FLAG, LEVEL])
    model = options.extend(m.TaskCreate)
    assert model.__name__ == "TaskCreate" and issubclass(model, m.TaskCreate)
    body = model.model_validate({"project": "p", "flag": "true"})
    assert options.pick(body) == {"flag": True}
    assert options.pick(model.model_validate({"project": "p", "level": 3, "flag": None})) == {"level": 3}
    assert "does a thing" in model.model_json_schema()["properties"]["flag"]["description"]
    assert TaskOptions().extend(m.TaskCreateArgs) is m.TaskCreateArgs


def test_check_refuses_unknown_names_wrong_types_and_unavailable_options() -> None:
    options = TaskOptions([FLAG, OFF, LEVEL])
    assert options.check({"flag": True, "level": 2, "gated": False}) == {"flag": True, "level": 2, "gated": False}
    assert options.check(None) == {}
    with pytest.raises(Invalid, match="nope: no such task option"):
        options.check({"nope": True})
    with pytest.raises(Invalid, match="flag: must be of type bool"):
        options.check({"flag": "yes"})
    with pytest.raises(Invalid, match="level: must be of type int"):
        options.check({"level": "2"})
    with pytest.raises(Invalid, match="gated: the feature is off"):
        options.check({"gated": True})
    described = {o["name"]: o for o in options.describe()}
    assert described["gated"]["available"] is False and described["gated"]["reason"] == "the feature is off"
    assert described["flag"] == {"name": "flag", "title": "A flag", "description": "does a thing", "type": "bool",
                                 "default": False, "available": True, "reason": None}


def test_prepare_appends_text_and_writes_context_files(tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    def argus_task_prepare(task: dict[str, Any], worktree: str, options: dict[str, Any]) -> list[Any]:
        seen.append(options)
        return [None, TaskContext(prompt="First.\n", files={"a.md": b"A"}), TaskContext(prompt="Second.")]

    hook = SimpleNamespace(argus_task_prepare=argus_task_prepare)
    (tmp_path / ".context").mkdir()
    (tmp_path / ".context" / "a.md").write_text("old")
    text, files = TaskOptions([FLAG]).prepare(hook, {"id": "t_1"}, str(tmp_path), {"flag": True})
    assert text == "First.\n\nSecond." and files == [".context/a.md"]
    assert (tmp_path / ".context" / "a.md").read_bytes() == b"A"
    assert seen == [{"flag": True}]


@pytest.mark.parametrize("name", ["../x.md", "a/b.md", "", ".", "..", "a\\b"])
def test_context_files_need_plain_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(Invalid, match="plain file name"):
        write_context_file(str(tmp_path), name, b"x")
