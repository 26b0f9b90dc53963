"""/subscribe, /unsubscribe, /subscriptions, /settings, /digest and the buttons, through the
shared command layer, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.briefing.messages import CALLBACK_MAX_BYTES
from bot.briefing.split import to_plain
from bot.chat.commands import Caller
from bot.digest.subscriptions import normalise_keyword
from bot.store.models import Chat, Delivery, Subscription, SubscriptionFilter
from bot.wiring import App
from tests.digest_support import add_articles, make_settings, utc
from tests.emulator import validate

T0 = utc(2026, 3, 4, 10)  # a Wednesday
PRIVATE = Caller(chat_id=1001, chat_type="private", user_id=1001)


@pytest.fixture
def app(engine, knowledge, database_url) -> App:  # noqa: ANN001
    app = App(make_settings(database_url), engine=engine, knowledge=knowledge)
    app.digest.clock = lambda: T0
    return app


def say(app: App, text: str, caller: Caller = PRIVATE) -> str:
    messages = app.commands.handle_text(text, caller)
    for message in messages:
        validate(message.text) if message.parse_mode == "HTML" else None
    return "\n".join(to_plain(m.text) for m in messages)


def subscription(
    app: App, chat_id: int = PRIVATE.chat_id, thread_id: int = 0
) -> tuple[Subscription | None, set]:
    with Session(app.engine) as session:
        found = (
            session.execute(
                select(Subscription).where(
                    Subscription.chat_id == chat_id, Subscription.thread_id == thread_id
                )
            )
            .scalars()
            .first()
        )
        filters = set()
        if found is not None:
            filters = {
                (f.kind, f.value)
                for f in session.execute(
                    select(SubscriptionFilter).where(SubscriptionFilter.subscription_id == found.id)
                ).scalars()
            }
        return found, filters


def all_buttons(messages) -> list[dict]:  # noqa: ANN001
    return [
        b
        for m in messages
        for row in (m.reply_markup or {}).get("inline_keyboard", [])
        for b in row
    ]


def test_plugin_registers_commands_tick_and_buttons(app: App) -> None:
    commands = app.commands
    assert {"subscribe", "unsubscribe", "subscriptions", "settings", "digest"} <= set(
        commands.specs
    )
    assert commands.specs["subscribe"].changes_chat and commands.specs["settings"].changes_chat
    assert not commands.specs["digest"].changes_chat
    assert {"sub", "set"} <= commands.chat_changing_callbacks
    assert commands.subscriptions_enabled
    [tick] = [job for job in app.periodic_jobs if job.name == "digest"]
    assert tick.interval_seconds == app.settings.digest_tick_seconds


def test_subscribe_defaults_to_weekly_monday_nine_in_chat_zone(app: App) -> None:
    reply = say(app, "/subscribe")
    assert "weekly digest, Mondays at 09:00 (UTC), of all new analysis" in reply
    found, filters = subscription(app)
    assert found.frequency == "weekly" and found.active and filters == set()
    assert found.next_due_at == utc(2026, 3, 9, 9)
    assert found.since == T0
    assert "already get a weekly digest" in say(app, "/subscribe")


def test_subscribe_daily_and_switching_frequency(app: App) -> None:
    say(app, "/subscribe daily")
    found, _ = subscription(app)
    assert found.frequency == "daily" and found.next_due_at == utc(2026, 3, 5, 9)
    assert "now weekly" in say(app, "/subscribe weekly")
    found, _ = subscription(app)
    assert found.frequency == "weekly" and found.next_due_at == utc(2026, 3, 9, 9)


def test_filters_accumulate_and_typos_get_did_you_mean(app: App) -> None:
    assert "Armenia" in say(app, "/subscribe weekly Armenia")
    assert "Caspian" in say(app, "/subscribe caspian")
    reply_messages = app.commands.handle_text("/subscribe Armenai", PRIVATE)
    assert "Did you mean" in to_plain(reply_messages[0].text) and "Armenia" in to_plain(
        reply_messages[0].text
    )
    assert {"text": "🔔 🇦🇲 Armenia", "callback_data": "sub|c:AM"} in all_buttons(reply_messages)
    say(app, "/subscribe keyword  Pipeline ")
    _, filters = subscription(app)
    assert filters == {("entity", "c:AM"), ("entity", "t:caspian"), ("keyword", "pipeline")}
    assert "Already there" not in say(app, "/subscribe Armenia")


def test_keywords_are_literal_text(app: App) -> None:
    say(app, "/subscribe keyword <b>gas</b> (.*)")
    _, filters = subscription(app)
    assert filters == {("keyword", "<b>gas</b> (.*)")}
    assert normalise_keyword("“Middle  Corridor”") == "middle corridor"
    assert normalise_keyword("x") is None and normalise_keyword("!!!") is None
    assert "Usage" in say(app, "/subscribe keyword")


def test_unsubscribe_a_filter_then_all(app: App) -> None:
    say(app, "/subscribe Armenia, Georgia")
    say(app, "/subscribe keyword pipeline")
    assert "Removed 🇦🇲 Armenia" in say(app, "/unsubscribe armenia")
    assert "Removed 🔎 “pipeline”" in say(app, "/unsubscribe pipeline")
    assert "not one of this digest's filters" in say(app, "/unsubscribe Kazakhstan")
    _, filters = subscription(app)
    assert filters == {("entity", "c:GE")}
    assert "last filter, so the digest is off" in say(app, "/unsubscribe Georgia")
    found, _ = subscription(app)
    assert not found.active
    say(app, "/subscribe")
    assert "Unsubscribed" in say(app, "/unsubscribe all")
    assert "no digest subscription here" in say(app, "/unsubscribe")


def test_unsubscribe_skips_planned_but_unsent_deliveries(app: App) -> None:
    say(app, "/subscribe")
    found, _ = subscription(app)
    with Session(app.engine) as session:
        session.add(
            Delivery(
                subscription_id=found.id,
                chat_id=PRIVATE.chat_id,
                period="2026-W11",
                due_at=T0,
                window_start=T0,
                window_end=T0,
            )
        )
        session.commit()
    say(app, "/unsubscribe")
    with Session(app.engine) as session:
        assert session.execute(select(Delivery.status)).scalar_one() == "skipped"


def test_subscriptions_lists_filters_and_next_due_in_chat_zone(app: App) -> None:
    assert "receives no digest" in say(app, "/subscriptions")
    say(app, "/subscribe daily Armenia")
    say(app, "/settings timezone Asia/Yerevan")
    listing = say(app, "/subscriptions")
    assert "daily digest, daily at 09:00 (Asia/Yerevan)" in listing
    assert "Only: 🇦🇲 Armenia" in listing
    assert "Next: Thu 5 Mar 2026, 09:00 +04" in listing


def test_settings_typed_and_buttons_edit_in_place(app: App) -> None:
    say(app, "/subscribe")
    first = app.commands.handle_text("/settings", PRIVATE)
    buttons = all_buttons(first)
    assert {b["callback_data"] for b in buttons} == {"set|tz", "set|h", "set|wd"}
    answer = app.commands.handle_callback("set|tz", PRIVATE)
    zones = all_buttons(answer.messages)
    assert answer.messages[0].edit and len(zones) >= 10
    assert all(len(b["callback_data"].encode()) <= CALLBACK_MAX_BYTES for b in zones)
    assert "set|tz|Asia/Baku" in {b["callback_data"] for b in zones}
    answer = app.commands.handle_callback("set|tz|Asia/Baku", PRIVATE)
    assert answer.messages[0].edit and answer.notice == "Time zone: Asia/Baku"
    app.commands.handle_callback("set|h|7", PRIVATE)
    answer = app.commands.handle_callback("set|wd|4", PRIVATE)
    assert "Friday" in to_plain(answer.messages[0].text)
    with Session(app.engine) as session:
        chat = session.get(Chat, PRIVATE.chat_id)
        assert (chat.timezone, chat.digest_hour, chat.digest_weekday) == ("Asia/Baku", 7, 4)
    found, _ = subscription(app)
    assert found.next_due_at == utc(2026, 3, 6, 3)  # Friday 07:00 in Baku (UTC+4)
    assert (
        "This button has expired"
        in app.commands.handle_callback("set|tz|Mars/Base", PRIVATE).notice
    )
    assert "This button has expired" in app.commands.handle_callback("set|h|25", PRIVATE).notice
    assert "don't know the time zone" in say(app, "/settings timezone Atlantis")
    say(app, "/settings hour 18")
    say(app, "/settings weekday tuesday")
    found, _ = subscription(app)
    assert found.next_due_at == utc(2026, 3, 10, 14)


def test_subscribe_button_under_a_briefing(app: App) -> None:
    answer = app.commands.handle_callback("sub|c:AM", PRIVATE)
    assert answer.notice == "Subscribed to Armenia"
    _, filters = subscription(app)
    assert filters == {("entity", "c:AM")}
    assert "expired" in app.commands.handle_callback("sub|c:XX", PRIVATE).notice


def test_groups_need_an_admin_and_forum_topics_get_their_own(app: App) -> None:
    member = Caller(chat_id=-100500, chat_type="supergroup", user_id=7, is_chat_admin=False)
    assert "Only this group's administrators" in say(app, "/subscribe", member)
    assert subscription(app, -100500)[0] is None
    assert "Only this group's administrators" in say(app, "/settings hour 8", member)
    assert "receives no digest" in say(app, "/subscriptions", member)  # reading is for everyone
    admin_in_topic = Caller(
        chat_id=-100500, chat_type="supergroup", user_id=8, thread_id=77, is_chat_admin=True
    )
    assert "arrive in this topic" in say(app, "/subscribe Armenia", admin_in_topic)
    found, filters = subscription(app, -100500, 77)
    assert found is not None and filters == {("entity", "c:AM")}
    assert subscription(app, -100500, 0)[0] is None
    admin = Caller(chat_id=-100500, chat_type="supergroup", user_id=8, is_chat_admin=True)
    say(app, "/subscribe daily", admin)
    assert subscription(app, -100500, 0)[0].frequency == "daily"
    listing = say(app, "/subscriptions", admin_in_topic)
    assert "This topic" in listing and "This chat" in listing


def test_digest_preview_changes_nothing(app: App) -> None:
    say(app, "/subscribe Armenia")
    add_articles(
        app.engine,
        [
            {
                "title": "Yerevan and Baku talk",
                "ingested_at": T0 - dt.timedelta(hours=1),
                "entities": {"c:AM": (4, True)},
            },
            {
                "title": "Armenian railways",
                "ingested_at": T0 + dt.timedelta(hours=1),
                "entities": {"c:AM": (4, True)},
            },
        ],
    )
    app.digest.clock = lambda: T0 + dt.timedelta(hours=2)
    with Session(app.engine) as session:
        before = (
            session.execute(select(func.count()).select_from(Delivery)).scalar_one(),
            session.execute(select(Subscription.since, Subscription.next_due_at)).one(),
        )
    preview = say(app, "/digest")
    assert "Preview" in preview and "Armenian railways" in preview
    assert "Yerevan and Baku talk" not in preview  # stored before the subscription
    with Session(app.engine) as session:
        after = (
            session.execute(select(func.count()).select_from(Delivery)).scalar_one(),
            session.execute(select(Subscription.since, Subscription.next_due_at)).one(),
        )
    assert before == after
    other = Caller(chat_id=555, chat_type="private", user_id=555)
    assert "Not subscribed here yet" in say(app, "/digest", other)


def test_help_mentions_the_digest_and_stats_has_digest_lines(app: App) -> None:
    assert "/subscribe" in say(app, "/help")
    say(app, "/subscribe daily")
    admin = Caller(chat_id=1, chat_type="private", user_id=1, is_bot_admin=True)
    stats = say(app, "/stats", admin)
    assert "Digest subscriptions: 1 daily, 0 weekly" in stats
