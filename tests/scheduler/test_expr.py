"""Schedule expressions: next fire times computed with croniter, ``@every`` intervals, time zones,
and errors that quote the bad expression."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from argus.kernel.errors import Invalid
from argus.plugins.scheduler import expr

T0 = datetime(2026, 3, 6, 8, 30, 0, tzinfo=UTC)  # a Friday


def test_five_field_cron_next_times_in_utc() -> None:
    assert expr.upcoming("0 9 * * 1-5", T0, UTC) == [
        datetime(2026, 3, 6, 9, 0, tzinfo=UTC), datetime(2026, 3, 9, 9, 0, tzinfo=UTC),
        datetime(2026, 3, 10, 9, 0, tzinfo=UTC)]
    assert expr.next_after("*/15 * * * *", T0, UTC) == datetime(2026, 3, 6, 8, 45, tzinfo=UTC)


def test_cron_is_evaluated_in_the_configured_zone_and_stored_in_utc() -> None:
    paris = ZoneInfo("Europe/Paris")  # UTC+1 in March before the DST switch on the 29th
    assert expr.next_after("0 9 * * *", T0, paris) == datetime(2026, 3, 7, 8, 0, tzinfo=UTC)
    # Across the DST change 09:00 Paris becomes 07:00 UTC.
    assert expr.next_after("0 9 * * *", datetime(2026, 3, 29, 12, 0, tzinfo=UTC), paris) == \
        datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(("descriptor", "expected"), [
    ("@hourly", datetime(2026, 3, 6, 9, 0, tzinfo=UTC)),
    ("@daily", datetime(2026, 3, 7, 0, 0, tzinfo=UTC)),
    ("@weekly", datetime(2026, 3, 8, 0, 0, tzinfo=UTC)),
    ("@monthly", datetime(2026, 4, 1, 0, 0, tzinfo=UTC)),
    ("@yearly", datetime(2027, 1, 1, 0, 0, tzinfo=UTC)),
])
def test_descriptors(descriptor: str, expected: datetime) -> None:
    assert expr.next_after(expr.validate(descriptor), T0, UTC) == expected


def test_every_durations() -> None:
    assert expr.validate("@every  30m") == "@every 30m"
    assert expr.upcoming("@every 1h30m", T0, UTC, 2) == [
        datetime(2026, 3, 6, 10, 0, tzinfo=UTC), datetime(2026, 3, 6, 11, 30, tzinfo=UTC)]
    assert expr.every_seconds("@every 2d") == 172800
    assert expr.every_seconds("@every 45s") == 45


@pytest.mark.parametrize("bad", ["61 * * * *", "* * * *", "0 9 * * * *", "@fortnightly", "@every",
                                 "@every 10x", "@every 0s", "every 5m", "0 25 * * *"])
def test_invalid_expressions_are_quoted(bad: str) -> None:
    with pytest.raises(Invalid) as err:
        expr.validate(bad)
    assert repr(bad) in err.value.message


def test_run_once_at_parsing() -> None:
    assert expr.parse_time("2026-03-06T09:00:00Z") == datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    assert expr.parse_time("2026-03-06T10:00:00+01:00") == datetime(2026, 3, 6, 9, 0, tzinfo=UTC)
    with pytest.raises(Invalid, match="tomorrow"):
        expr.parse_time("tomorrow")


def test_time_zone_names() -> None:
    assert expr.zone("Asia/Tokyo") == ZoneInfo("Asia/Tokyo")
    assert expr.zone("") is not None
    with pytest.raises(Invalid, match="Mars/Olympus"):
        expr.zone("Mars/Olympus")
