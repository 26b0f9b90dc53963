"""The digest view: selection by ingest time and filters, grouping, limits, valid HTML;
and the schema: models and migrations agree."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import Session, SQLModel

from bot.briefing.render import Renderer
from bot.briefing.split import TELEGRAM_LIMIT, to_plain
from bot.config import PROJECT_ROOT
from bot.digest.compose import (
    CHANNEL,
    ArticlePool,
    EditionComposer,
    FilterSet,
    compose_digest,
    edition_key,
    keyword_pattern,
    render_digest,
)
from bot.store.db import include_object
from tests.digest_support import add_articles, utc
from tests.emulator import validate, visible_length

START, END = utc(2026, 3, 2, 9), utc(2026, 3, 9, 9)
renderer = Renderer(PROJECT_ROOT / "templates")


EVERYTHING = FilterSet()


def digest(
    engine,
    knowledge,
    filters: FilterSet = EVERYTHING,
    *,
    max_items: int = 10,
    start=START,
    end=END,
    audience="chat",
):  # noqa: ANN001, ANN201
    with Session(engine) as session:
        view = compose_digest(
            ArticlePool(session),
            knowledge,
            filters,
            start,
            end,
            frequency="weekly",
            max_items=max_items,
            audience=audience,
        )
    messages = render_digest(view, renderer, nothing_new_note=False)
    for message in messages:
        validate(message.text)
        assert visible_length(message.text) <= TELEGRAM_LIMIT
    return view, messages


def plain(messages) -> str:  # noqa: ANN001
    return "\n\n".join(to_plain(m.text) for m in messages)


@pytest.fixture
def corpus(engine):  # noqa: ANN001, ANN201
    day = dt.timedelta(days=1)
    return add_articles(
        engine,
        [
            {
                "title": "Armenia and the peace treaty",
                "ingested_at": START + day,
                "published": dt.date(2026, 3, 3),
                "entities": {"c:AM": (9, True), "c:AZ": (4, False), "t:peace-process": (3, False)},
            },
            {
                "title": "Caspian shipping grows",
                "ingested_at": START + 2 * day,
                "published": dt.date(2026, 3, 4),
                "entities": {"c:KZ": (5, True), "t:caspian": (6, False)},
                "body": "A new trans-Caspian gas pipeline is planned; pipelines take years.",
            },
            {
                "title": "Old analysis stored late",
                "ingested_at": START + 3 * day,
                "published": dt.date(2024, 5, 1),
                "date_inferred": True,
                "entities": {"c:GE": (5, True)},
            },
            {
                "title": "Stored before the window",
                "ingested_at": START - day,
                "entities": {"c:AM": (5, True)},
            },
            {
                "title": "Stored after the window",
                "ingested_at": END + dt.timedelta(seconds=1),
                "entities": {"c:AM": (5, True)},
            },
            {
                "title": "Pipelines in general",
                "ingested_at": START + 4 * day,
                "published": dt.date(2026, 3, 6),
                "title_inferred": True,
                "entities": {"c:TM": (2, True)},
                "body": "Only the plural pipelines here.",
            },
        ],
    )


def test_window_is_by_ingest_time_whatever_the_publication_date(engine, knowledge, corpus) -> None:  # noqa: ANN001
    view, messages = digest(engine, knowledge)
    text = plain(messages)
    assert view.total == 4
    assert "Old analysis stored late" in text and "(date inferred from the text)" in text
    assert "Stored before the window" not in text and "Stored after the window" not in text
    assert "(headline quoted from the lede)" in text
    # Newest publication first; without filters grouped by primary country.
    assert [g.label for g in view.groups] == ["Turkmenistan", "Kazakhstan", "Armenia", "Georgia"]
    numbers = [int(n) for n in re.findall(r"^\S*\s?\[(\d+)\]", text, re.M)]
    assert numbers == [1, 2, 3, 4]
    assert "Most discussed" in text and "/article_" in text and "/brief_am" in text


def test_country_topic_and_keyword_filters(engine, knowledge, corpus) -> None:  # noqa: ANN001
    view, messages = digest(engine, knowledge, FilterSet(("c:AM",)))
    assert view.total == 1 and "Armenia and the peace treaty" in plain(messages)
    view, messages = digest(engine, knowledge, FilterSet(("t:caspian",)))
    assert view.total == 1 and "Caspian shipping grows" in plain(messages)
    assert [g.label for g in view.groups] == ["Caspian Sea"]
    view, messages = digest(engine, knowledge, FilterSet((), ("pipeline",)))
    assert view.total == 1 and "Caspian shipping grows" in plain(
        messages
    )  # "pipelines" is another word
    assert view.groups[0].label == "“pipeline”"
    view, _ = digest(engine, knowledge, FilterSet(("c:AM", "t:caspian"), ("pipelines",)))
    assert view.total == 3
    assert [g.token for g in view.groups] == ["k:pipelines", "e:t:caspian", "e:c:AM"]


def test_keyword_patterns_are_escaped_and_bounded() -> None:
    assert keyword_pattern("c++").search("written in C++ today")
    assert not keyword_pattern("c++").search("written in cxx")
    assert keyword_pattern("(.*)").search("literally (.*) here")
    assert not keyword_pattern("(.*)").search("anything")
    assert keyword_pattern("middle corridor").search("the Middle\n Corridor route")
    assert not keyword_pattern("gas").search("Gasprom and degas")


def test_at_most_max_items_and_and_n_more(engine, knowledge) -> None:  # noqa: ANN001
    add_articles(
        engine,
        [
            {
                "title": f"Analysis number {i}",
                "ingested_at": START + dt.timedelta(hours=i + 1),
                "entities": {"c:AM": (3, True)},
            }
            for i in range(14)
        ],
    )
    view, messages = digest(engine, knowledge, max_items=10)
    text = plain(messages)
    assert view.total == 14 and view.shown == 10 and view.more == 4
    assert "…and 4 more: /latest lists the newest; /brief_am opens the full briefing." in text
    assert "Analysis number 13" in text and "Analysis number 3" not in text


def test_long_digests_split_into_valid_messages(engine, knowledge) -> None:  # noqa: ANN001
    lede = (
        "The corridor reshapes regional trade. "
        + "Officials in Baku & Tbilisi weigh <costs> against gains. " * 5
    )
    add_articles(
        engine,
        [
            {
                "title": f"Long analysis {i}",
                "ingested_at": START + dt.timedelta(hours=i + 1),
                "lede": lede,
                "entities": {"c:AZ": (3, True), "c:GE": (2, True), "t:middle-corridor": (3, False)},
            }
            for i in range(40)
        ],
    )
    view, messages = digest(engine, knowledge, max_items=40)
    assert len(messages) >= 2
    assert messages[-1].reply_markup is not None and all(
        m.reply_markup is None for m in messages[:-1]
    )
    assert "&lt;costs&gt;" in messages[0].text


def test_nothing_new_is_no_message_unless_a_note_is_wanted(engine, knowledge) -> None:  # noqa: ANN001
    with Session(engine) as session:
        view = compose_digest(
            ArticlePool(session),
            knowledge,
            FilterSet(("c:AM",)),
            START,
            END,
            frequency="daily",
            max_items=10,
        )
    assert render_digest(view, renderer, nothing_new_note=False) == []
    [note] = render_digest(view, renderer, nothing_new_note=True)
    validate(note.text)
    assert "No new analysis since" in to_plain(note.text) and "Daily digest" in to_plain(note.text)


def test_channel_edition_has_no_buttons(engine, knowledge, corpus) -> None:  # noqa: ANN001
    _, messages = digest(engine, knowledge, audience=CHANNEL)
    assert all(m.reply_markup is None for m in messages)


def test_editions_are_composed_once_per_filter_set_and_window(engine, knowledge, corpus) -> None:  # noqa: ANN001
    with Session(engine) as session:
        composer = EditionComposer(
            session, knowledge, renderer, max_items=10, nothing_new_note=False
        )
        for _ in range(3):
            for filters in (FilterSet(), FilterSet(("c:AM",))):
                composer.edition(
                    audience="chat", frequency="weekly", filters=filters, start=START, end=END
                )
        assert composer.compose_count == 2
    a = edition_key(
        audience="chat",
        frequency="weekly",
        filters=FilterSet(("c:AM",)),
        window_start=START,
        window_end=END,
        max_items=10,
        nothing_new_note=False,
    )
    b = edition_key(
        audience="chat",
        frequency="weekly",
        filters=FilterSet.of([("entity", "c:AM")]),
        window_start=START.astimezone(dt.timezone(dt.timedelta(hours=4))),
        window_end=END,
        max_items=10,
        nothing_new_note=False,
    )
    assert a == b and len(a) == 64


def _tables_of(diff: object) -> set[str]:
    """The table names an Alembic diff entry (or a list of them, for columns) touches."""
    if isinstance(diff, list):
        return set().union(*(_tables_of(d) for d in diff))
    found = set()
    for part in diff if isinstance(diff, tuple) else ():
        table = getattr(part, "table", None)
        if getattr(part, "name", None) and hasattr(part, "columns") and not hasattr(part, "table"):
            found.add(part.name)
        if table is not None and hasattr(table, "name"):
            found.add(table.name)
        if isinstance(part, str) and part in ("delivery", "digest_edition"):
            found.add(part)
    return found


def test_digest_models_and_migrations_agree(engine) -> None:  # noqa: ANN001
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        diffs = compare_metadata(context, SQLModel.metadata)
    ours = [d for d in diffs if _tables_of(d) & {"delivery", "digest_edition"}]
    assert ours == []
