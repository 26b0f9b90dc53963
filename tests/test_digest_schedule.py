"""Due-time arithmetic: time zones, weekdays, hours, daylight-saving edges, periods."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.digest.outbox import occurrences_due
from bot.digest.schedule import (
    DAILY,
    REGION_TIMEZONES,
    WEEKLY,
    format_local,
    next_due,
    parse_hour,
    parse_timezone,
    parse_weekday,
    period_of,
    zone,
)
from tests.digest_support import utc

ZONES = [
    *REGION_TIMEZONES,
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Asia/Kathmandu",
]


def test_default_schedule_is_monday_nine_utc() -> None:
    wednesday = utc(2026, 3, 4, 10, 0)
    assert next_due(wednesday, frequency=WEEKLY, hour=9, weekday=0, timezone="UTC") == utc(
        2026, 3, 9, 9
    )
    assert next_due(wednesday, frequency=DAILY, hour=9, weekday=0, timezone="UTC") == utc(
        2026, 3, 5, 9
    )


def test_strictly_after_the_current_occurrence() -> None:
    due = utc(2026, 3, 9, 9)
    assert next_due(due, frequency=WEEKLY, hour=9, weekday=0, timezone="UTC") == utc(2026, 3, 16, 9)
    assert (
        next_due(
            due - dt.timedelta(microseconds=1), frequency=WEEKLY, hour=9, weekday=0, timezone="UTC"
        )
        == due
    )


def test_time_zone_ahead_of_utc_crosses_the_date_line_of_utc() -> None:
    # 02:00 in Almaty (UTC+5) on Monday is 21:00 UTC on Sunday.
    after = utc(2026, 3, 8, 12)
    due = next_due(after, frequency=WEEKLY, hour=2, weekday=0, timezone="Asia/Almaty")
    assert due == utc(2026, 3, 8, 21)
    assert due.astimezone(zone("Asia/Almaty")).weekday() == 0


def test_yerevan_nine_is_five_utc() -> None:
    assert next_due(
        utc(2026, 3, 4), frequency=DAILY, hour=9, weekday=0, timezone="Asia/Yerevan"
    ) == utc(2026, 3, 4, 5)


def test_spring_forward_gap_lands_after_the_gap_once() -> None:
    # New York skips 02:00-03:00 on 8 March 2026: a 02:00 digest comes at 03:00 EDT.
    due = next_due(
        utc(2026, 3, 7, 12), frequency=DAILY, hour=2, weekday=0, timezone="America/New_York"
    )
    assert due == utc(2026, 3, 8, 7)
    local = due.astimezone(zone("America/New_York"))
    assert (local.hour, local.utcoffset()) == (3, dt.timedelta(hours=-4))
    following = next_due(due, frequency=DAILY, hour=2, weekday=0, timezone="America/New_York")
    assert following == utc(2026, 3, 9, 6)  # back to 02:00 EDT


def test_fall_back_repeated_hour_is_the_first_one_only() -> None:
    # 01:00-02:00 happens twice in New York on 1 November 2026.
    due = next_due(
        utc(2026, 10, 31, 12), frequency=DAILY, hour=1, weekday=0, timezone="America/New_York"
    )
    assert due == utc(2026, 11, 1, 5)  # 01:00 EDT, the first of the two
    assert next_due(due, frequency=DAILY, hour=1, weekday=0, timezone="America/New_York") == utc(
        2026, 11, 2, 6
    )


def test_brussels_weekly_across_dst_keeps_local_hour() -> None:
    before = next_due(
        utc(2026, 3, 20), frequency=WEEKLY, hour=9, weekday=0, timezone="Europe/Brussels"
    )
    after = next_due(before, frequency=WEEKLY, hour=9, weekday=0, timezone="Europe/Brussels")
    assert before == utc(2026, 3, 23, 8)  # CET
    assert after == utc(2026, 3, 30, 7)  # CEST: a week minus an hour later
    assert after - before == dt.timedelta(days=7, hours=-1)


def test_periods_follow_the_local_calendar() -> None:
    due = utc(2026, 3, 8, 21)  # Monday 02:00 in Almaty
    assert period_of(due, frequency=DAILY, timezone="Asia/Almaty") == "2026-03-09"
    assert period_of(due, frequency=WEEKLY, timezone="Asia/Almaty") == "2026-W11"
    assert period_of(due, frequency=WEEKLY, timezone="UTC") == "2026-W10"


def test_occurrences_due_lists_missed_ones_and_the_next() -> None:
    missed, following = occurrences_due(
        utc(2026, 3, 1, 9), utc(2026, 3, 3, 12), frequency=DAILY, hour=9, weekday=0, timezone="UTC"
    )
    assert missed == (utc(2026, 3, 1, 9), utc(2026, 3, 2, 9), utc(2026, 3, 3, 9))
    assert following == utc(2026, 3, 4, 9)


def test_occurrences_due_is_bounded_after_a_long_outage() -> None:
    missed, following = occurrences_due(
        utc(2024, 1, 1, 9), utc(2026, 3, 3, 12), frequency=DAILY, hour=9, weekday=0, timezone="UTC"
    )
    assert len(missed) <= 36
    assert missed[-1] == utc(2026, 3, 3, 9)
    assert following == utc(2026, 3, 4, 9)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Asia/Yerevan", "Asia/Yerevan"),
        ("asia/baku", "Asia/Baku"),
        ("tbilisi", "Asia/Tbilisi"),
        ("new york", "America/New_York"),
        ("UTC", "UTC"),
        ("Mars/Olympus", None),
        ("", None),
    ],
)
def test_parse_timezone(text: str, expected: str | None) -> None:
    assert parse_timezone(text) == expected


def test_parse_hour_and_weekday() -> None:
    assert [parse_hour(t) for t in ("9", "09:00", "23", "24", "x")] == [9, 9, 23, None, None]
    assert [parse_weekday(t) for t in ("monday", "Fri", "6", "mo", "someday")] == [
        0,
        4,
        6,
        None,
        None,
    ]


def test_format_local_names_the_zone() -> None:
    assert format_local(utc(2026, 3, 9, 5), "Asia/Yerevan") == "Mon 9 Mar 2026, 09:00 +04"


instants = st.datetimes(
    min_value=dt.datetime(2020, 1, 1),
    max_value=dt.datetime(2035, 12, 31),
    timezones=st.just(dt.UTC),
)


@settings(max_examples=300, deadline=None)
@given(
    after=instants,
    frequency=st.sampled_from([DAILY, WEEKLY]),
    hour=st.integers(0, 23),
    weekday=st.integers(0, 6),
    timezone=st.sampled_from(ZONES),
)
def test_next_due_properties(
    after: dt.datetime, frequency: str, hour: int, weekday: int, timezone: str
) -> None:
    due = next_due(after, frequency=frequency, hour=hour, weekday=weekday, timezone=timezone)
    tz = zone(timezone)
    local = due.astimezone(tz)
    # Strictly later, and never more than one period (plus an offset change) away.
    assert due > after
    assert due - after <= dt.timedelta(days=1 if frequency == DAILY else 7, hours=3)
    # The local hour is the chosen one, unless the hour fell in a gap (then just after it).
    naive = dt.datetime(local.year, local.month, local.day, hour)
    in_gap = (
        naive.replace(tzinfo=tz).astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) != naive
    )
    assert local.hour == hour or in_gap
    if frequency == WEEKLY and not in_gap:
        assert local.weekday() == weekday
    # Nothing in between: asking just before it gives it again.
    assert (
        next_due(
            due - dt.timedelta(seconds=1),
            frequency=frequency,
            hour=hour,
            weekday=weekday,
            timezone=timezone,
        )
        == due
    )
    # Consecutive occurrences fall in different periods (one digest per period).
    following = next_due(due, frequency=frequency, hour=hour, weekday=weekday, timezone=timezone)
    assert period_of(following, frequency=frequency, timezone=timezone) != period_of(
        due, frequency=frequency, timezone=timezone
    )
