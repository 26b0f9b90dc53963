"""Gazetteer: the Knowledge built from data/*.yaml, user look-ups, neighbours and the text matcher."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pycountry
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.enrich import Knowledge, enrich, load_knowledge, normalise_name
from bot.enrich.model import LEDE, Section

DATA = Path(__file__).resolve().parents[1] / "data"
FIXTURES = yaml.safe_load(
    (Path(__file__).resolve().parent / "gold" / "fixtures.yaml").read_text(encoding="utf-8")
)["cases"]


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return load_knowledge(DATA)


def entities_in(knowledge: Knowledge, text: str, prefix: str) -> set[str]:
    result = enrich(None, [Section(LEDE, text)], dt.date(2025, 6, 1), knowledge)
    return {s.key for s in result.entities if s.key.startswith(prefix) and s.relevant}


def test_every_iso_country_is_an_entity_with_its_flag(knowledge: Knowledge) -> None:
    countries = knowledge.entities("country")
    assert len(countries) == len(pycountry.countries)
    armenia = knowledge.entity("c:AM")
    assert armenia is not None and armenia.name == "Armenia" and armenia.emoji == "🇦🇲"
    assert knowledge.entity("c:US").emoji == "🇺🇸"  # type: ignore[union-attr]
    assert knowledge.entity("c:RU").name == "Russia"  # type: ignore[union-attr]


def test_organisations_and_topics_are_entities(knowledge: Knowledge) -> None:
    orgs = {info.key for info in knowledge.entities("org")}
    assert {"o:EU", "o:NATO", "o:CSTO", "o:CIS", "o:SCO", "o:BRICS", "o:EAEU", "o:OSCE", "o:UN", "o:OTS"} <= orgs
    topics = {info.key for info in knowledge.topics()}
    assert {
        "t:caspian", "t:tripp", "t:middle-corridor", "t:instc", "t:energy", "t:security",
        "t:sanctions", "t:elections", "t:peace-process", "t:bri", "t:sco", "t:brics",
        "t:cis-csto", "t:eu-integration", "t:nuclear", "t:trade",
    } <= topics  # fmt: skip
    assert all(info.kind == "topic" and info.emoji for info in knowledge.topics())
    assert knowledge.entity("t:middle-corridor").related  # type: ignore[union-attr]
    assert knowledge.entity("x:nothing") is None


@pytest.mark.parametrize(
    ("typed", "keys"),
    [
        ("türkiye", ["c:TR"]), ("TURKEY", ["c:TR"]), ("tr", ["c:TR"]), ("TR", ["c:TR"]),
        ("Turkish", ["c:TR"]), ("Ankara", ["c:TR"]), ("TUR", ["c:TR"]),
        ("caspian", ["t:caspian"]), ("Caspian Sea", ["t:caspian"]),
        ("Zangezur corridor", ["t:tripp"]), ("nato", ["o:NATO"]), ("  Nato. ", ["o:NATO"]),
        ("U.S.", ["c:US"]), ("usa", ["c:US"]), ("Washington", ["c:US"]), ("the kremlin", ["c:RU"]),
        ("Azeri", ["c:AZ"]), ("middle-corridor", ["t:middle-corridor"]), ("Middle Corridor", ["t:middle-corridor"]),
        ("Nagorno-Karabakh", ["c:AZ"]), ("Syunik", ["c:AM"]), ("Côte d’Ivoire", ["c:CI"]),
        ("Shanghai Cooperation Organization", ["o:SCO", "t:sco"]), ("nowhere land", []),
        ("Turkic", []), ("", []),
    ],
)  # fmt: skip
def test_lookup_what_a_user_typed(knowledge: Knowledge, typed: str, keys: list[str]) -> None:
    assert knowledge.lookup(typed) == keys


def test_names_for_fuzzy_matching(knowledge: Knowledge) -> None:
    names = knowledge.names()
    assert names["turkiye"] == ["c:TR"]
    assert names["armenia"] == ["c:AM"]
    assert all(name == normalise_name(name) for name in names)
    names["armenia"].append("c:XX")  # a copy: the Knowledge is not changed
    assert knowledge.names()["armenia"] == ["c:AM"]


def test_normalise_name() -> None:
    assert normalise_name("Türkiye") == "turkiye"
    assert normalise_name(" U.S. ") == "us"
    assert normalise_name("North–South  Corridor") == "north south corridor"
    assert normalise_name("Côte d'Ivoire") == "cote divoire"


@pytest.mark.parametrize(
    ("country", "expected"),
    [
        ("c:AM", {"c:GE", "c:AZ", "c:IR", "c:TR"}),
        ("c:AZ", {"c:RU", "c:GE", "c:AM", "c:IR", "c:TR", "c:KZ", "c:TM"}),
        ("c:KZ", {"c:RU", "c:CN", "c:KG", "c:UZ", "c:TM", "c:AZ", "c:IR"}),
        ("c:TM", {"c:KZ", "c:UZ", "c:AF", "c:IR", "c:AZ", "c:RU"}),
        ("c:MN", {"c:RU", "c:CN"}),
        ("c:MD", {"c:RO", "c:UA"}),
    ],
)
def test_neighbours(knowledge: Knowledge, country: str, expected: set[str]) -> None:
    assert set(knowledge.neighbours(country)) == expected


def test_neighbours_are_symmetric(knowledge: Knowledge) -> None:
    for info in knowledge.entities("country"):
        for other in knowledge.neighbours(info.key):
            assert info.key in knowledge.neighbours(other), (info.key, other)
    assert "c:NO" in knowledge.neighbours("c:RU")  # YAML's "NO" is Norway, not False
    assert knowledge.neighbours("c:XX") == ()


@pytest.mark.parametrize("case", [c for c in FIXTURES if "countries" in c or "organisations" in c], ids=lambda c: c["name"])
def test_fixture_entities(knowledge: Knowledge, case: dict) -> None:
    published = dt.date.fromisoformat(str(case["published"])) if case.get("published") else None
    result = enrich(case.get("title"), [Section(LEDE, case["text"])], published, knowledge)
    found = {s.key for s in result.entities}
    if "countries" in case:
        assert {k[2:] for k in found if k.startswith("c:")} == set(case["countries"])
    if "organisations" in case:
        assert {k[2:] for k in found if k.startswith("o:")} == set(case["organisations"])
    if "sentence_entities" in case:
        assert [list(s.entities) for s in result.sentences] == case["sentence_entities"]


def test_case_rules(knowledge: Knowledge) -> None:
    assert entities_in(knowledge, "Tell us what the US did.", "c:") == {"c:US"}
    assert entities_in(knowledge, "tell us what you did in georgia and turkey.", "c:") == set()
    assert entities_in(knowledge, "TURKEY AND GEORGIA SIGN DEAL", "c:") == {"c:TR", "c:GE"}
    assert entities_in(knowledge, "The un-American campaign failed.", "o:") == set()
    assert entities_in(knowledge, "The UN and the EU met; the E.U. agreed.", "o:") == {"o:UN", "o:EU"}


def test_capitals_places_and_metonyms(knowledge: Knowledge) -> None:
    text = (
        "Yerevan, Baku, Tbilisi, Astana, Tashkent, Bishkek, Dushanbe and Ashgabat sent envoys to "
        "Moscow, Tehran, Beijing, Islamabad and Kyiv; the Kremlin and Brussels watched Aktau and Kazan."
    )
    countries = entities_in(knowledge, text, "c:")
    assert countries == {
        "c:AM", "c:AZ", "c:GE", "c:KZ", "c:UZ", "c:KG", "c:TJ", "c:TM", "c:RU", "c:IR", "c:CN",
        "c:PK", "c:UA",
    }  # fmt: skip
    assert entities_in(knowledge, text, "o:") == {"o:EU"}


def test_acronym_after_full_name_is_one_mention(knowledge: Knowledge) -> None:
    result = enrich(
        None,
        [Section(LEDE, "He joined the Shanghai Cooperation Organization (SCO) summit.")],
        None,
        knowledge,
    )
    scores = {s.key: s for s in result.entities}
    assert scores["o:SCO"].mentions == 1
    assert scores["t:sco"].mentions == 1


def test_knowledge_is_reused_without_state(knowledge: Knowledge) -> None:
    sections = [Section(LEDE, "Armenia and Azerbaijan met in Washington on August 8, 2025.")]
    first = enrich(None, sections, dt.date(2025, 9, 1), knowledge)
    enrich(None, [Section(LEDE, "Iran and Iraq. The Islamic Republic.")], None, knowledge)
    assert enrich(None, sections, dt.date(2025, 9, 1), knowledge) == first


def test_countries_yaml_codes_are_valid() -> None:
    doc = yaml.safe_load((DATA / "countries.yaml").read_text(encoding="utf-8"))
    codes = {c.alpha_2 for c in pycountry.countries}
    assert set(doc["countries"]) <= codes
    for entry in doc["countries"].values():
        assert set(entry.get("neighbours", [])) <= codes


def test_unknown_country_code_fails_loudly(tmp_path: Path) -> None:
    for name in ("organisations.yaml", "topics.yaml"):
        (tmp_path / name).write_text((DATA / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "countries.yaml").write_text("countries:\n  XQ: {name: Nowhere}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="XQ"):
        load_knowledge(tmp_path)


def test_the_pure_python_matcher_agrees_with_aho_corasick(knowledge: Knowledge) -> None:
    """Without pyahocorasick the hash-trie walk must find exactly the same mentions."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_corpus", DATA.parent / "bench" / "corpus.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    fallback = load_knowledge(DATA)  # its own instance: the compiled Knowledge cannot be copied
    fallback._automaton = None  # noqa: SLF001 - the switch the import fallback flips
    texts = [c["text"] for c in FIXTURES]
    texts += [s["text"] for a in module.generate_articles(30, seed=2) for s in a["sections"]]
    texts += [(DATA / "cacianalyst-2025-sep-nov.txt").read_text(encoding="utf-8")]
    for text in texts:
        units = text.split("\n\n")
        assert fallback.scan(units) == knowledge.scan(units)


def test_forward_looking_agrees_with_the_regex(knowledge: Knowledge) -> None:
    """The matcher's outlook layer and sentences.is_forward_looking read the same phrase list."""
    from bot.enrich import split_sentences
    from bot.enrich.sentences import is_forward_looking

    text = (DATA / "cacianalyst-2025-sep-nov.txt").read_text(encoding="utf-8")
    sentences = [s for p in text.split("\n\n") for s in split_sentences(p)]
    _, forward = knowledge.scan(sentences)
    assert forward == [is_forward_looking(s) for s in sentences]
    assert sum(forward) > 20


@pytest.fixture(scope="module")
def without_cues() -> Knowledge:
    """A Knowledge whose scan reports no cues, so the date and figure readers search every sentence."""
    plain = load_knowledge(DATA)
    plain._cues = False  # noqa: SLF001 - what a Knowledge built without an automaton has
    return plain


def test_cues_are_found_where_the_words_stand(knowledge: Knowledge) -> None:
    units = ["Ten meters of it.", "Last year, yes.", "Nothing here.", "This month—the end.", "by 20 km"]
    _, _, cues = knowledge.scan_with_cues(units)
    assert cues == [True, True, False, True, True]


def test_without_the_automaton_no_cues_are_known(without_cues: Knowledge) -> None:
    assert without_cues.scan_with_cues(["Ten meters of it."])[2] is None


CUE_TOKENS = [
    "ten", "twenty", "a", "dozen", "thousand", "million", "meters", "metres", "km", "km2", "tons",
    "per", "cent", "percent", "bcm", "barrels", "METERS", "Last", "last", "this", "This", "year",
    "years", "month", "x", "$", "—", "。", ".", ",", "2024", "Armenia", "in", "July", "-",
    "last year", "Last year", "this year", "This year", "last month", "this month", "LAST MONTH",
    "ten meters", "twenty thousand tons", "thirty per cent", "five kilometres", "a dozen barrels",
]  # fmt: skip


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.sampled_from(CUE_TOKENS), min_size=1, max_size=12), min_size=1, max_size=4))
def test_cues_only_skip_sentences_without_the_words(
    knowledge: Knowledge, without_cues: Knowledge, sentences: list[list[str]]
) -> None:
    """Reading dates and figures only where the scan saw a cue gives what reading everywhere gives."""
    joiners = ["", " "]
    text = " ".join(joiners[len(words) % 2].join(words) + "." for words in sentences)
    section = (Section(LEDE, text),)
    published = dt.date(2025, 6, 1)
    assert enrich("T", section, published, knowledge) == enrich("T", section, published, without_cues)


def test_cues_change_nothing_on_the_corpus(knowledge: Knowledge, without_cues: Knowledge) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("corpus", DATA.parent / "bench" / "corpus.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    for article in module.generate_articles(40, seed=5):
        sections = tuple(Section(s["name"], s["text"]) for s in article["sections"])
        published = dt.date.fromisoformat(article["published"])
        with_cues = enrich(article["title"], sections, published, knowledge)
        assert with_cues == enrich(article["title"], sections, published, without_cues)
