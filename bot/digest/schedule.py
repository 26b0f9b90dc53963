"""Due times: when a chat's next digest is due (in UTC) from its local schedule.

Owns the calendar arithmetic and nothing else: a chat keeps an IANA time zone, an hour
(0-23) and, for weekly digests, a weekday (0 = Monday); a subscription stores the UTC
instant of its next occurrence. All functions are pure.

Daylight-saving edges, stated once: an hour that does not exist locally (the spring-
forward gap, e.g. 02:00 in New York on the second Sunday of March) is taken with the
offset in force before the change, which lands it as many minutes after the gap as it
was into it (02:00 -> 03:00 EDT); an hour that happens twice (fall-back) is the first
of the two. Either way a chat gets exactly one digest that day.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

DAILY = "daily"
WEEKLY = "weekly"
FREQUENCIES = (DAILY, WEEKLY)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

# The region's zones first, then the readers' usual homes elsewhere; offered as buttons.
REGION_TIMEZONES = (
    "UTC",
    "Europe/Moscow",
    "Asia/Yerevan",
    "Asia/Baku",
    "Asia/Tbilisi",
    "Asia/Almaty",
    "Asia/Tashkent",
    "Asia/Bishkek",
    "Asia/Dushanbe",
    "Asia/Ashgabat",
    "Europe/Istanbul",
    "Asia/Tehran",
    "Europe/Brussels",
    "Europe/London",
    "America/New_York",
    "America/Los_Angeles",
)


def zone(name: str | None) -> ZoneInfo:
    """The chat's zone; a name the system no longer knows falls back to UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@lru_cache(maxsize=1)
def _zone_names() -> dict[str, str]:
    names: dict[str, str] = {}
    for name in sorted(available_timezones()):
        names.setdefault(name.lower(), name)
    for name in sorted(available_timezones()):
        city = name.rsplit("/", 1)[-1].lower()
        names.setdefault(city, name)
        names.setdefault(city.replace("_", " "), name)
    return names


def parse_timezone(text: str) -> str | None:
    """An IANA name ("Asia/Yerevan", any case) or a zone's city ("yerevan", "new york")."""
    cleaned = " ".join(text.split()).strip().lower()
    if not cleaned or len(cleaned) > 64:
        return None
    return _zone_names().get(cleaned) or _zone_names().get(cleaned.replace(" ", "_"))


def parse_weekday(text: str) -> int | None:
    cleaned = text.strip().lower()
    if cleaned.isdigit() and 0 <= int(cleaned) <= 6:
        return int(cleaned)
    for index, name in enumerate(WEEKDAYS):
        if len(cleaned) >= 3 and name.lower().startswith(cleaned):
            return index
    return None


def parse_hour(text: str) -> int | None:
    cleaned = text.strip().lower().removesuffix("h").removesuffix(":00")
    if cleaned.isdigit() and 0 <= int(cleaned) <= 23:
        return int(cleaned)
    return None


def local_slot(day: dt.date, hour: int, tz: ZoneInfo) -> dt.datetime:
    """`hour`:00 on `day` in `tz`, as a UTC instant (gaps and folds as the module says)."""
    return dt.datetime(day.year, day.month, day.day, hour, tzinfo=tz, fold=0).astimezone(dt.UTC)


def next_due(
    after: dt.datetime, *, frequency: str, hour: int, weekday: int, timezone: str
) -> dt.datetime:
    """The first occurrence of the schedule strictly after `after` (aware), in UTC."""
    if after.tzinfo is None:
        raise ValueError("next_due needs an aware datetime")
    tz = zone(timezone)
    # A day before the local date covers zones ahead of UTC; ten days cover a week plus
    # any offset change, so the loop always finds one.
    first_day = after.astimezone(tz).date() - dt.timedelta(days=1)
    for offset in range(10):
        day = first_day + dt.timedelta(days=offset)
        if frequency == WEEKLY and day.weekday() != weekday:
            continue
        candidate = local_slot(day, hour, tz)
        if candidate > after:
            return candidate
    raise AssertionError("unreachable: a week always has the weekday")  # pragma: no cover


def period_of(due: dt.datetime, *, frequency: str, timezone: str) -> str:
    """The edition a due time belongs to: "2026-11-26" (daily) or "2026-W48" (weekly),
    by the chat's local calendar. At most one digest per subscription and period."""
    local = due.astimezone(zone(timezone)).date()
    if frequency == DAILY:
        return local.isoformat()
    year, week, _ = local.isocalendar()
    return f"{year}-W{week:02d}"


def describe(frequency: str, hour: int, weekday: int, timezone: str) -> str:
    """ "Mondays at 09:00 (Asia/Yerevan)" or "daily at 09:00 (UTC)"."""
    when = "daily" if frequency == DAILY else f"{WEEKDAYS[weekday]}s"
    return f"{when} at {hour:02d}:00 ({timezone})"


def format_local(instant: dt.datetime, timezone: str) -> str:
    """ "Mon 1 Dec 2025, 09:00 +04" in the chat's zone."""
    local = instant.astimezone(zone(timezone))
    abbreviation = local.tzname() or timezone
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} {abbreviation}"
