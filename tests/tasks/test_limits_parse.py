"""The usage-limit rules of the built-in kinds on the CLIs' real wordings (several variants each):
matched or not, and the reset time they give (host zone, named zone, rolled to tomorrow)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from argus.plugins.tasks.api import CLAUDE_USAGE_LIMIT, CODEX_USAGE_LIMIT, AgentKind, UsageLimit, reset_from_text
from argus.plugins.tasks.kinds import claude, codex, demo, pi

PARIS = ZoneInfo("Europe/Paris")
HOST = timezone(timedelta(hours=2))  # the "host" zone of these tests: UTC+2
NOW = datetime(2026, 10, 3, 10, 30, tzinfo=HOST)  # Saturday 3 Oct 2026, 10:30 host time (08:30 UTC)


def reset(rule: UsageLimit, screen: str, now: datetime = NOW) -> datetime | None:
    match = rule.compile().search(screen)
    assert match is not None, f"no match in {screen!r}"
    return rule.reset_at(match, now)


def at(*args: int, tz: object = HOST) -> datetime:
    return datetime(*args, tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type]


@pytest.mark.parametrize(("screen", "expected"), [
    ("5-hour limit reached ∙ resets 3pm", at(2026, 10, 3, 15, 0)),
    ("  ⎿  5-hour limit reached ∙ resets 3pm\n> ", at(2026, 10, 3, 15, 0)),
    ("5-hour limit reached ∙ resets 10am", at(2026, 10, 4, 10, 0)),  # already passed: tomorrow
    ("5-hour limit reached ∙ resets 10:45am", at(2026, 10, 3, 10, 45)),
    ("5-hour limit reached ∙ resets 3pm (Europe/Paris)", at(2026, 10, 3, 15, 0, tz=PARIS)),
    ("Claude usage limit reached. Your limit will reset at 3pm (Europe/Paris).", at(2026, 10, 3, 15, 0, tz=PARIS)),
    ("Claude usage limit reached. Your limit will reset at 9am (Europe/Paris).", at(2026, 10, 4, 9, 0, tz=PARIS)),
    ("Claude usage limit reached. Your limit will reset at 3:00 PM.", at(2026, 10, 3, 15, 0)),
    ("You've hit your session limit · resets 3:45pm", at(2026, 10, 3, 15, 45)),
    ("You’ve hit your session limit · resets 5pm (UTC)", datetime(2026, 10, 3, 17, 0, tzinfo=UTC)),
    ("You've hit your weekly limit · resets Mon 12:00am", at(2026, 10, 5, 0, 0)),
    ("You've hit your session limit · resets in 1d 5h", NOW.astimezone(UTC) + timedelta(days=1, hours=5)),
    ("Weekly limit reached ∙ resets Oct 9, 3pm (Europe/Paris)", at(2026, 10, 9, 15, 0, tz=PARIS)),
    ("Session limit reached ∙ resets 3am", at(2026, 10, 4, 3, 0)),
    ("Opus weekly limit reached ∙ resets 15:30", at(2026, 10, 3, 15, 30)),
    ("5-hour limit reached ∙ resets 10:30:42am", at(2026, 10, 3, 10, 30, 42)),  # seconds (the fake agent)
    ("Claude AI usage limit reached|1790000000", datetime.fromtimestamp(1790000000, UTC)),
])
def test_claude_wordings(screen: str, expected: datetime) -> None:
    assert reset(CLAUDE_USAGE_LIMIT, screen) == expected


@pytest.mark.parametrize(("screen", "expected"), [
    ("■ You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in "
     "2 hours 5 minutes.", NOW.astimezone(UTC) + timedelta(hours=2, minutes=5)),
    ("You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing) or try again in "
     "1 day 2 hours 3 minutes.", NOW.astimezone(UTC) + timedelta(days=1, hours=2, minutes=3)),
    ("You've hit your usage limit. Visit https://chatgpt.com/codex/settings/usage to purchase more credits "
     "or try again at 4:05 PM.", at(2026, 10, 3, 16, 5)),
    ("■ You've hit your usage limit. Upgrade to Pro (https://chatgpt.com/explore/pro), visit\n"
     "https://chatgpt.com/codex/settings/usage to purchase more credits or try again at 9:15 AM.",
     at(2026, 10, 4, 9, 15)),  # wrapped over two lines; 9:15 passed: tomorrow
    ("You've hit your usage limit for GPT-5.3-Codex-Spark. Switch to another model now, or try again at "
     "Oct 9th, 2026 1:47 AM.", at(2026, 10, 9, 1, 47)),
    ("You've hit your rate limit. Please try again in 30 seconds.", NOW.astimezone(UTC) + timedelta(seconds=30)),
    ("You've hit your usage limit. Upgrade to Pro or try again at 3:15:42 PM.", at(2026, 10, 3, 15, 15, 42)),
])
def test_codex_wordings(screen: str, expected: datetime) -> None:
    assert reset(CODEX_USAGE_LIMIT, screen) == expected


@pytest.mark.parametrize("screen", [
    "> fix the rate limiter",
    "Approaching usage limit · resets at 3pm",  # a warning, not the limit
    "I added a limit to the loop; it resets the counter",
])
def test_claude_ignores_other_text(screen: str) -> None:
    assert CLAUDE_USAGE_LIMIT.compile().search(screen) is None


def test_codex_without_a_time_plans_nothing() -> None:
    screen = "You've hit your usage limit. Upgrade to Pro (https://openai.com/chatgpt/pricing), or wait."
    assert CODEX_USAGE_LIMIT.compile().search(screen) is None


def test_rules_of_builtin_kinds() -> None:
    assert claude.CLAUDE.usage_limit is CLAUDE_USAGE_LIMIT and demo.DEMO.usage_limit is CLAUDE_USAGE_LIMIT
    assert codex.CODEX.usage_limit is CODEX_USAGE_LIMIT
    assert pi.PI.usage_limit is None


def test_reset_from_text_edge_cases() -> None:
    with pytest.raises(ValueError):
        reset_from_text("3pm", datetime(2026, 1, 1))  # naive now
    assert reset_from_text("soon", NOW) is None
    assert reset_from_text("13pm", NOW) is None
    # "Jan 2" said on 31 December is next year's
    eve = datetime(2026, 12, 31, 22, 0, tzinfo=HOST)
    assert reset_from_text("Jan 2, 9am", eve) == at(2027, 1, 2, 9, 0)
    # a zone the host does not know falls back to now's zone
    assert reset_from_text("3pm (Mars/Olympus)", NOW) == at(2026, 10, 3, 15, 0)


def test_agent_kind_takes_a_usage_limit() -> None:
    rule = UsageLimit(r"quota exhausted until (?P<t>\S+)", lambda m, now: reset_from_text(m.group("t"), now))
    kind = AgentKind("quota-cli", lambda launch: ["quota-cli"], usage_limit=rule)
    assert kind.usage_limit is rule
    assert reset(rule, "quota exhausted until 11:00") == at(2026, 10, 3, 11, 0)
    assert AgentKind("plain", lambda launch: ["plain"]).usage_limit is None
