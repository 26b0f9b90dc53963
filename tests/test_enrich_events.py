"""Dated events: date phrases, year inference, the as-of date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.enrich import enrich, infer_as_of_date, load_knowledge
from bot.enrich.events import find_mentions
from bot.enrich.model import BACKGROUND, LEDE, Section

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = yaml.safe_load(
    (Path(__file__).resolve().parent / "gold" / "fixtures.yaml").read_text(encoding="utf-8")
)["cases"]
PUBLISHED = dt.date(2025, 11, 6)


@pytest.fixture(scope="module")
def knowledge():
    return load_knowledge(DATA)


def events_of(knowledge, text: str, published: dt.date | None = PUBLISHED, *more: str):
    sections = [Section(LEDE, text), *(Section(BACKGROUND, m) for m in more)]
    return enrich(None, sections, published, knowledge).events


def brief(events) -> list[tuple[str, str, bool, str]]:
    return [(e.date.isoformat(), e.precision, e.year_inferred, e.phrase) for e in events]


@pytest.mark.parametrize("case", [c for c in FIXTURES if "events" in c], ids=lambda c: c["name"])
def test_fixture_events(knowledge, case: dict) -> None:
    published = dt.date.fromisoformat(str(case["published"])) if case.get("published") else None
    result = enrich(None, [Section(LEDE, case["text"])], published, knowledge)
    expected = [
        (str(e["date"]), e["precision"], e["year_inferred"], e["phrase"]) for e in case["events"]
    ]
    assert brief(result.events) == expected
    if "forward_looking" in case:
        assert [s.forward_looking for s in result.sentences] == case["forward_looking"]
    if "topics" in case:
        assert {s.key[2:] for s in result.entities if s.key.startswith("t:") and s.relevant} == set(case["topics"])
    if "figures" in case:
        assert [f.phrase for f in result.figures] == [f"a {p}" if p[0].isdigit() and "-" in p else p for p in case["figures"]]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("It commenced on October 8, 2024.", [("2024-10-08", "day", False, "on October 8, 2024")]),
        ("It happened on 6 June 2025.", [("2025-06-06", "day", False, "on 6 June 2025")]),
        ("In January and May 2025, ministers met.", [("2025-01-01", "month", False, "In January and May 2025"), ("2025-05-01", "month", False, "In January and May 2025")]),
        ("Tensions ran from September 2022 to mid-2024.", [("2022-09-01", "month", False, "from September 2022 to mid-2024")]),
        ("The November 9, 2020, trilateral agreement.", [("2020-11-09", "day", False, "The November 9, 2020")]),
        ("Since 2020, ties worsened.", [("2020-01-01", "year", False, "Since 2020")]),
        ("Until late 2024, ties were tense.", [("2024-01-01", "year", False, "Until late 2024")]),
        ("The 2018 agreement holds.", [("2018-01-01", "year", False, "The 2018")]),
        ("Trade hit US$ 12.4 billion in 2024.", [("2024-01-01", "year", False, "in 2024")]),
        ("Murders in the early 2000s and ties 2,500 years ago.", []),
        ("The 44-day war and a 99-year mandate; Block-III jets.", []),
        ("Elections planned for June 2026.", [("2026-06-01", "month", False, "June 2026")]),
        ("Exports fell last year.", [("2024-01-01", "year", True, "last year")]),
        ("Earlier this year, talks stalled.", [("2025-01-01", "year", True, "Earlier this year")]),
        ("In July, the talks resumed.", [("2025-07-01", "month", True, "In July")]),
        ("Despite the December plane incident, ties held.", [("2024-12-01", "month", True, "the December")]),
        ("They met on 6 June and on August 8.", [("2025-06-06", "day", True, "on 6 June"), ("2025-08-08", "day", True, "on August 8")]),
        ("In April, exercises Caspian Breeze – 2023 were announced.", [("2023-04-01", "month", True, "In April")]),
        ("They may meet in May.", [("2025-05-01", "month", True, "in May")]),
        ("In 2022–2023 relations were poor.", [("2022-01-01", "year", False, "In 2022–2023")]),
        ("Output in the first quarter of 2025 fell.", [("2025-01-01", "year", False, "in the first quarter of 2025")]),
        ("February 30 never came.", []),
        ("He attended the Victory Day parade; Dune is a film.", []),
        ("The ministers met on 6 June 2025 and again on June 7.", [("2025-06-06", "day", False, "on 6 June 2025"), ("2025-06-07", "day", True, "on June 7")]),
        ("They met in mid-June 2025 and in late 2024.", [("2025-06-01", "month", False, "in mid-June 2025"), ("2024-01-01", "year", False, "in late 2024")]),
        ("As of 2023, trade grew; as early as 2019 it began.", [("2023-01-01", "year", False, "As of 2023"), ("2019-01-01", "year", False, "as early as 2019")]),
        ("Sales of 2000 km of pipe and 1999 troops.", []),
    ],
)  # fmt: skip
def test_dates(knowledge, text: str, expected: list) -> None:
    assert brief(events_of(knowledge, text)) == expected


def test_year_from_the_previous_sentence_only(knowledge) -> None:
    text = "In 2023, X happened. The deal was signed. Y followed. In February, Z signed a deal."
    assert brief(events_of(knowledge, text))[-1] == ("2025-02-01", "month", True, "In February")
    assert brief(events_of(knowledge, "In 2023, X happened. In February, Z signed."))[-1][0] == "2023-02-01"


def test_a_future_context_year_is_not_context(knowledge) -> None:
    text = "Elections are planned for June 2026. After the meeting on 6 June, she spoke."
    assert brief(events_of(knowledge, text))[-1] == ("2025-06-06", "day", True, "on 6 June")


def test_paragraphs_do_not_lend_years(knowledge) -> None:
    text = "In 2019, they met.\n\nIn July, they met again."
    assert brief(events_of(knowledge, text))[-1][0] == "2025-07-01"


def test_no_published_date_uses_what_the_text_vouches_for(knowledge) -> None:
    lede = "On October 9, the presidents met in Dushanbe."
    body = "The arrests in Yekaterinburg in June 2025 strained ties. Talks on August 8 followed."
    events = events_of(knowledge, lede, None, body)
    assert brief(events) == [
        ("2025-10-09", "day", True, "On October 9"),
        ("2025-06-01", "month", False, "in June 2025"),
        ("2025-08-08", "day", True, "on August 8"),
    ]
    sections = [Section(LEDE, lede), Section(BACKGROUND, body)]
    assert infer_as_of_date(sections) == dt.date(2025, 10, 9)
    as_of = infer_as_of_date(sections)
    assert enrich(None, sections, as_of, knowledge).events == events


def test_infer_as_of_date_ignores_what_looks_ahead() -> None:
    sections = [Section(LEDE, "In May 2024, they met. Elections will be held in June 2026.")]
    assert infer_as_of_date(sections) == dt.date(2024, 5, 1)
    assert infer_as_of_date([Section(LEDE, "No dates here.")]) is None
    assert infer_as_of_date([]) is None


def test_names_with_years_give_context_not_events() -> None:
    assert find_mentions("Russia and Iran held CASAREX 2025 exercises.") == []


def test_events_carry_sentence_entities(knowledge) -> None:
    events = events_of(knowledge, "Armenia and Iran met in Tehran on October 8, 2024.")
    assert events[0].entities == ("c:AM", "c:IR")
    assert events[0].sentence_index == 0


_PIECES = st.sampled_from(
    [
        "in July", "on 6 June", "October 9", "In January and May 2025", "last year", "this year",
        "in 2024", "the 2018 agreement", "from September 2022 to mid-2024", "December 31",
        "February 29", "June 2026", "will", "in", "on", "the", "May", "2,500", "2000s", "1999",
        "3.5", "Block-III", ".", ",", " ", "\n\n", "Armenia", "–", "-", "late", "mid-", "of",
        "since", "Until", "30", "31st", "2099", "1800", "US$", "percent", "US$will", "could", "Day",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(_PIECES, max_size=30).map(" ".join),
    st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2030, 12, 31)) | st.none(),
)
def test_dates_never_land_after_the_article_unless_written(text: str, published: dt.date | None) -> None:
    result = enrich(None, [Section(LEDE, text)], published, _KNOWLEDGE)
    anchor = published or infer_as_of_date([Section(LEDE, text)])
    if published is None:
        # A capture that lost its date reads the same with the date the text vouches for.
        assert enrich(None, [Section(LEDE, text)], anchor, _KNOWLEDGE).events == result.events
    for event in result.events:
        sentence = result.sentences[event.sentence_index]
        if event.year_inferred and not sentence.forward_looking and anchor is not None:
            assert event.date <= anchor, (event, anchor)
        assert event.phrase in sentence.text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_dates_without_crashing(text: str) -> None:
    find_mentions(text)
    infer_as_of_date([Section(LEDE, text)])


_KNOWLEDGE = load_knowledge(DATA)


def test_a_dating_phrase_never_reaches_into_the_previous_sentence() -> None:
    # Found by Hypothesis: "in" ended one paragraph and "30 May" began the next.
    result = enrich(None, [Section(LEDE, "It happened in\n\n30 May was the day.")], dt.date(2000, 1, 1), _KNOWLEDGE)
    (event,) = result.events
    assert event.phrase == "30 May"
    assert event.phrase in result.sentences[event.sentence_index].text
