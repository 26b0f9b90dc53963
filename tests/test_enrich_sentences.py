"""Sentence splitting and outlook language."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.enrich import split_sentences
from bot.enrich.sentences import is_forward_looking

FIXTURES = yaml.safe_load(
    (Path(__file__).resolve().parent / "gold" / "fixtures.yaml").read_text(encoding="utf-8")
)["cases"]


@pytest.mark.parametrize("case", [c for c in FIXTURES if "sentences" in c], ids=lambda c: c["name"])
def test_fixture_sentences(case: dict) -> None:
    assert split_sentences(case["text"]) == case["sentences"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("One. Two.", ["One.", "Two."]),
        ("Is it? Yes! Fine.", ["Is it?", "Yes!", "Fine."]),
        ("He said “no issues.” Then he left.", ["He said “no issues.”", "Then he left."]),
        ("A “betrayal”. Tehran knew.", ["A “betrayal”.", "Tehran knew."]),
        ("Costs rose to 12.4 billion. Then fell.", ["Costs rose to 12.4 billion.", "Then fell."]),
        ("Mr. Aliyev and Mrs. Aliyeva met Prof. Ivanov.", ["Mr. Aliyev and Mrs. Aliyeva met Prof. Ivanov."]),
        ("See i.e. this and e.g. That.", ["See i.e. this and e.g. That."]),
        ("The U.S. Congress voted. The U.S. President signed.", ["The U.S. Congress voted.", "The U.S. President signed."]),
        ("Wait… Then go.", ["Wait…", "Then go."]),
        ("lower case. after a period stays", ["lower case. after a period stays"]),
        ("Para one.\n\nPara two", ["Para one.", "Para two"]),
        ("  spaced   out \n text.  ", ["spaced out text."]),
        ("It began in 2024. 2025 was calmer.", ["It began in 2024.", "2025 was calmer."]),
        ("(Parenthetical.) Next one.", ["(Parenthetical.)", "Next one."]),
        ("", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


_ALPHABET = st.sampled_from(
    list("abcXYZ .,!?;:…“”\"'()[]-–\n\t0123456789")
    + ["U.S.", "Dr.", "e.g.", "Jan.", " ", "\n\n", "No.", "D.C.", "...", "\u00a0", "Mr."]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_ALPHABET, max_size=80).map("".join))
def test_sentences_rejoin_to_the_text(text: str) -> None:
    sentences = split_sentences(text)
    assert " ".join(sentences) == " ".join(text.split())
    assert all(s and s == " ".join(s.split()) for s in sentences)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_splits_without_loss(text: str) -> None:
    assert " ".join(split_sentences(text)) == " ".join(text.split())


@pytest.mark.parametrize(
    ("sentence", "forward"),
    [
        ("Azerbaijan will continue its multi-vector policy.", True),
        ("A stable relationship is likely, without escalation.", True),
        ("This could generate tensions.", True),
        ("Baku may permit Chinese firms to take control.", True),
        ("Exports are expected to grow.", True),
        ("Looking ahead, ties remain pragmatic.", True),
        ("In the coming months, talks resume.", True),
        ("The line is set to open in 2026.", True),
        ("Elections planned for June 2026.", True),
        ("In May 2025, he attended the parade.", False),
        ("Russia remains Armenia's main trading partner.", False),
        ("Armenia would otherwise have joined the bloc.", False),
    ],
)
def test_forward_looking(sentence: str, forward: bool) -> None:
    assert is_forward_looking(sentence) is forward


@pytest.mark.parametrize(
    "sentence",
    ["The ministers agreed to meet again in Baku next spring.", "Prices are bound to rise in the months ahead."],
)
def test_seasonal_and_open_ended_outlook_is_forward_looking(sentence: str) -> None:
    from bot.enrich.sentences import is_forward_looking

    assert is_forward_looking(sentence)
