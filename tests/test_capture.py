"""The capture parser on the sample corpus and on every variant the publication shows."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.ingest.capture import (
    NoArticleFound,
    infer_headline,
    parse_byline,
    parse_capture,
    parse_date_line,
)
from tests.conftest import FIXTURES, SAMPLE

CAPTURES = FIXTURES / "captures"
BOILERPLATE = re.compile(
    r"Credit:|spambots|JavaScript|Published in|Visit also|Newsletter|Sign up for|biweekly publication|"
    r"compressed|\u00a0|\r",
)


@pytest.fixture(scope="module")
def sample():
    return parse_capture(SAMPLE.read_text(encoding="utf-8"))


def test_sample_has_five_articles_with_their_authors(sample):
    assert [a.author for a in sample] == [
        "Eduard Abrahamyan",
        "Emil Avdaliani",
        "Syed Fazl-e-Haider",
        "Syed Fazl-e-Haider",
        "Mehmet Fatih Oztarsu",
    ]


def test_sample_titles_and_dates_the_capture_has(sample):
    given_titles = [(a.title, a.published) for a in sample if not a.title_inferred]
    assert given_titles == [
        ("Russia Reengages with Armenia (and Azerbaijan)", dt.date(2025, 11, 6)),
        ("China's Road to Europe Passes through Azerbaijan", dt.date(2025, 9, 4)),
    ]
    assert [a.date_inferred for a in sample if not a.title_inferred] == [False, False]


def test_sample_missing_titles_are_quoted_from_the_lede_and_flagged(sample):
    inferred = [a for a in sample if a.title_inferred]
    assert len(inferred) == 3
    for article in inferred:
        stem = article.title.rstrip("…").strip()
        assert stem and article.lede.startswith(stem)
        assert len(article.title) <= 110
    assert inferred[0].title == "On October 9, the presidents of Russia and Azerbaijan met in Dushanbe"


def test_sample_ledes_start_with_their_first_words(sample):
    starts = [a.lede.split()[:4] for a in sample]
    assert starts == [
        ["In", "recent", "months,", "Armenia"],
        ["On", "October", "9,", "the"],
        ["The", "Caspian", "Sea", "is"],
        ["During", "Azerbaijani", "President", "Ilham"],
        ["The", "U.S.-brokered", "peace", "talks"],
    ]


def test_sample_sections_in_order(sample):
    for article in sample:
        assert [s.name for s in article.sections] == ["Lede", "Background", "Implications", "Conclusions"]


def test_label_alone_on_its_line_keeps_the_text_that_follows(sample):
    caspian = sample[2]
    background = dict((s.name, s.text) for s in caspian.sections)["Background"]
    assert background.startswith("The Caspian Sea was widely regarded as a “Russian lake”")


def test_no_boilerplate_in_any_field(sample):
    for article in sample:
        fields = [article.title, article.author or "", article.author_bio or ""]
        fields += [s.text for s in article.sections]
        for value in fields:
            assert not BOILERPLATE.search(value), value[:200]
        assert "  " not in " ".join(fields)


def test_bios_are_kept_apart_and_cleaned(sample):
    assert sample[0].author_bio.startswith("Dr Eduard Abrahamyan is a Senior Research Fellow")
    assert sample[2].author_bio.endswith("Eurasia Daily Monitor of Jamestown Foundation")
    for article in sample:
        assert "BIO" not in " ".join(s.text for s in article.sections)


def test_curly_quotes_survive(sample):
    assert "“new rhythm”" in sample[0].sections[1].text


def test_old_byline_gives_the_issue_date():
    (article,) = parse_capture((CAPTURES / "old_byline.txt").read_text())
    assert article.author == "Richard Weitz"
    assert article.published == dt.date(2006, 3, 15)
    assert not article.date_inferred
    assert article.title == "Turkmenistan Opens a Caspian Port"
    assert [s.name for s in article.sections] == ["Background", "Implications", "Conclusions"]
    assert article.author_bio == "Dr. Richard Weitz is a senior fellow."


def test_crlf_nbsp_and_curly_apostrophe_bio():
    (article,) = parse_capture((CAPTURES / "crlf_nbsp_curly.txt").read_bytes().decode("utf-8"))
    assert article.author == "Nino Beridze"
    assert article.title == "Georgia's Ports Compete for Transit"
    assert article.published == dt.date(2025, 3, 3)
    sections = {s.name: s.text for s in article.sections}
    assert sections["Background"] == "Container traffic through Poti grew in 2024, the port authority said."
    assert sections["Implications"] == "The ports need rail links to Azerbaijan."
    assert article.author_bio == "Nino Beridze is a journalist in Tbilisi."
    assert "Credit" not in article.lede


def test_short_field_report_with_date_after_the_text():
    (article,) = parse_capture((CAPTURES / "field_report.txt").read_text())
    assert article.title == "Kazakhstan Hosts Caspian Transport Ministers"
    assert article.published == dt.date(2025, 10, 15)
    assert not article.date_inferred
    assert [s.name for s in article.sections] == ["Lede", "Text"]
    assert article.category == "Field Reports"
    assert "Newsletter" not in article.body_text


def test_missing_date_is_inferred_and_flagged():
    (article,) = parse_capture(
        (CAPTURES / "no_title_no_date.txt").read_text(), infer_date=lambda sections: dt.date(2025, 6, 1)
    )
    assert article.title_inferred and article.date_inferred
    assert article.published == dt.date(2025, 6, 1)
    assert "Flags" not in article.body_text


def test_missing_date_without_inference_stays_unknown():
    (article,) = parse_capture((CAPTURES / "no_title_no_date.txt").read_text())
    assert article.published is None and not article.date_inferred


def test_only_footer_is_no_article():
    with pytest.raises(NoArticleFound):
        parse_capture((CAPTURES / "only_footer.txt").read_text())


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Thursday, 06 November 2025 14:52", dt.date(2025, 11, 6)),
        ("06 November 2025", dt.date(2025, 11, 6)),
        ("Wednesday, October 15, 2025", dt.date(2025, 10, 15)),
        ("Thursday, 31 February 2025 14:52", None),
        ("In November 2025 the talks resumed", None),
    ],
)
def test_date_lines(line, expected):
    assert parse_date_line(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("By Eduard Abrahamyan", ("Eduard Abrahamyan", None)),
        ("By Syed Fazl-e-Haider", ("Syed Fazl-e-Haider", None)),
        ("By S. Frederick Starr and Svante E. Cornell", ("S. Frederick Starr and Svante E. Cornell", None)),
        ("By Jane Doe (12/1/2004 issue of the CACI Analyst)", ("Jane Doe", dt.date(2004, 12, 1))),
        ("By virtue of its position at the crossroads of Europe and Asia", None),
        ("By contrast, Baku kept silent.", None),
    ],
)
def test_bylines(line, expected):
    assert parse_byline(line) == expected


def test_headline_is_a_trimmed_quote():
    lede = "The U.S.-brokered peace talks between Armenia and Azerbaijan, culminating in the creation of the Trump Route for International Peace and Prosperity (TRIPP), have triggered a sharp reaction."
    headline = infer_headline(lede)
    assert headline.endswith("…") and len(headline) <= 110
    assert lede.startswith(headline[:-1].rstrip())


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=400))
def test_parser_never_crashes_on_arbitrary_text(text):
    try:
        records = parse_capture(text)
    except NoArticleFound:
        return
    for record in records:
        assert record.title and record.sections
        assert all(section.text.strip() for section in record.sections)


_WORD = st.text(alphabet=st.characters(categories=["L", "N"]), min_size=1, max_size=12)
_PARAGRAPH = st.lists(_WORD, min_size=16, max_size=40).map(" ".join)


@settings(max_examples=50, deadline=None)
@given(st.lists(_PARAGRAPH, min_size=1, max_size=4))
def test_paragraphs_survive_round_trip(paragraphs):
    text = "By Jane Doe\n\n" + "\n\n".join(p + "." for p in paragraphs) + "\n\nPublished in Analytical Articles\n"
    (record,) = parse_capture(text)
    assert record.author == "Jane Doe"
    joined = unicodedata.normalize("NFC", " ".join(" ".join(p.split()) + "." for p in paragraphs))
    assert " ".join(record.body_text.split()) == joined
