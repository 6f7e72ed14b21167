"""The notification text: last meaningful screen lines, and prompts that action buttons answer."""

from __future__ import annotations

from argus.plugins.push.screen import excerpt, find_prompt

CLAUDE_MENU = (
    "\x1b[2J\x1b[1m╭──────────────────────────────╮\x1b[0m\r\n"
    "│ Bash command                 │\r\n"
    "│   rm -rf build/              │\r\n"
    "╰──────────────────────────────╯\r\n"
    " Do you want to proceed?\r\n"
    " \x1b[36m❯ 1. Yes\x1b[0m\r\n"
    "   2. Yes, and don't ask again for rm commands\r\n"
    "   3. No, and tell Claude what to do differently (esc)\r\n"
).encode()


def test_numbered_permission_menu_maps_to_digits() -> None:
    body, prompt = excerpt(CLAUDE_MENU)
    assert prompt is not None and prompt.keys == {"approve": "1", "deny": "3"}
    assert "Do you want to proceed?" in body and "\x1b" not in body and "╭" not in body


def test_yes_no_question_and_stable_fingerprint() -> None:
    raw = b"\x1b[32mworking\x1b[0m\r\nOverwrite config.toml? [y/N] "
    prompt = find_prompt(excerpt(raw)[0].splitlines())
    assert prompt is not None and prompt.keys["deny"] == "n\r"
    assert prompt.id == excerpt(raw)[1].id  # type: ignore[union-attr]


def test_plain_idle_screen_has_no_actions_and_skips_footers() -> None:
    raw = (b"\xe2\x97\x8f Done: tests pass.\r\nWhich branch should I merge into?\r\n"
           b"\xe2\x94\x80\xe2\x94\x80\xe2\x94\x80\r\n> \r\n  ? for shortcuts\r\n")
    body, prompt = excerpt(raw)
    assert prompt is None
    assert body.splitlines()[-1] == "Which branch should I merge into?"


def test_carriage_return_redraws_keep_the_last_drawing() -> None:
    body, _ = excerpt(b"spinner 1\rspinner 2\rAll done\r\n")
    assert body == "All done"
