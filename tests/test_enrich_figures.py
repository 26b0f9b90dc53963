"""Key figures: money, percentages, quantities, durations, counts."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.enrich.figures import find_figures


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Turnover reached a record US$ 12.4 billion in 2024.", [("US$ 12.4 billion", "money", 12.4e9, "USD")]),
        ("A $5 million grant and €2 billion in loans.", [("$5 million", "money", 5e6, "USD"), ("€2 billion", "money", 2e9, "EUR")]),
        ("USD 300 million was pledged.", [("USD 300 million", "money", 3e8, "USD")]),
        ("It cost 40 million dollars.", [("40 million dollars", "money", 4e7, "USD")]),
        ("Over 30 percent of its electricity.", [("30 percent", "percent", 30.0, "%")]),
        ("Support rose to 30%.", [("30%", "percent", 30.0, "%")]),
        ("An 18-point increase since 2024.", [("An 18-point increase", "percent", 18.0, "pp")]),
        ("Exports fell to 2.84 bcm.", [("2.84 bcm", "quantity", 2.84, "bcm")]),
        ("A 20-mile corridor through Syunik.", [("A 20-mile corridor", "quantity", 20.0, "mile")]),
        ("Missiles exploded about ten meters away.", [("ten meters", "quantity", 10.0, "m")]),
        ("They shipped 10 million tons over 500 km.", [("10 million tons", "quantity", 1e7, "ton"), ("500 km", "quantity", 500.0, "km")]),
        ("Rights leased for up to 99 years.", [("99 years", "duration", 99.0, "year")]),
        ("A 99-year mandate.", [("A 99-year mandate", "duration", 99.0, "year")]),
        ("It spans more than 160 countries.", [("160 countries", "count", 160.0, "countries")]),
        ("After the 44-day war, a two-year estrangement.", []),
        ("Trade began 2,500 years ago.", []),
        ("Eight Russian citizens; the Embraer 190 jet; Section 907; JF-17 Block-III; in 2024.", []),
        ("No numbers here.", []),
    ],
)  # fmt: skip
def test_figures(sentence: str, expected: list) -> None:
    assert [(f.phrase, f.kind, f.value, f.unit) for f in find_figures(sentence)] == expected


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 ,.$€%-abmiltonkUSD")) , max_size=60))
def test_figures_never_crash_and_quote_the_text(sentence: str) -> None:
    for figure in find_figures(sentence):
        assert figure.phrase in sentence
