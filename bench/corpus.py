"""Realistic synthetic analytical articles for the benches (ingest, enrich, briefing, digest).

    from bench.corpus import generate_articles
    for article in generate_articles(2000, seed=0):
        ...

Each article is a dict: title, author, published (ISO date, 2015..2025), sections (a list of
{"name", "text"}: "Lede" then "Background", "Implications", "Conclusions", paragraphs separated
by a blank line), author_bio, url (None unless urls=True: then a made-up https://example.org/
address), category. About 600-900 words, written like the analyses the bot reads: real countries,
demonyms, capitals and seats of power, organisations, topic phrases, dates in every form the
enrichment must read ("On October 8, 2024", "in July", "last year", "from September 2022 to
mid-2024") and figures ("US$ 12.4 billion", "27 percent", "20 bcm", "a 20-mile corridor"), with the
usual traps ("US$", "the Turkic world", "the Indian Ocean", "U.S." ending a sentence).
Deterministic: the same (n, seed) always yields the same articles. Standard library only.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator

# (name, adjective, seat of power or capital) for the countries the analyses are about.
COUNTRIES: tuple[tuple[str, str, str], ...] = (
    ("Armenia", "Armenian", "Yerevan"),
    ("Azerbaijan", "Azerbaijani", "Baku"),
    ("Georgia", "Georgian", "Tbilisi"),
    ("Kazakhstan", "Kazakh", "Astana"),
    ("Uzbekistan", "Uzbek", "Tashkent"),
    ("Kyrgyzstan", "Kyrgyz", "Bishkek"),
    ("Tajikistan", "Tajik", "Dushanbe"),
    ("Turkmenistan", "Turkmen", "Ashgabat"),
    ("Russia", "Russian", "Moscow"),
    ("Iran", "Iranian", "Tehran"),
    ("Turkey", "Turkish", "Ankara"),
    ("China", "Chinese", "Beijing"),
    ("the U.S.", "American", "Washington"),
    ("Pakistan", "Pakistani", "Islamabad"),
    ("Afghanistan", "Afghan", "Kabul"),
    ("Ukraine", "Ukrainian", "Kyiv"),
    ("India", "Indian", "New Delhi"),
    ("Israel", "Israeli", "Jerusalem"),
    ("Mongolia", "Mongolian", "Ulaanbaatar"),
    ("Belarus", "Belarusian", "Minsk"),
)
REGION = COUNTRIES[:8]
ORGANISATIONS = (
    "the EU", "NATO", "the CSTO", "the CIS", "the Shanghai Cooperation Organization (SCO)",
    "BRICS", "the Eurasian Economic Union", "the OSCE", "the UN", "the Organization of Turkic States",
)  # fmt: skip
TOPICS: dict[str, tuple[str, ...]] = {
    "connectivity": (
        "the Middle Corridor", "the Trans-Caspian International Transport Route",
        "the International North–South Transport Corridor (INSTC)", "the Zangezur corridor",
        "the Trump Route for International Peace and Prosperity (TRIPP)", "the Belt and Road Initiative",
    ),
    "energy": (
        "gas exports", "the Southern Gas Corridor", "oil and gas extraction", "a new pipeline",
        "electricity exchanges", "the nuclear power plant", "hydrocarbons", "gas swaps",
    ),
    "security": (
        "joint military exercises", "naval drills", "air defense systems", "border guards",
        "defense cooperation", "arms deliveries", "the Caspian Flotilla",
    ),
    "diplomacy": (
        "the peace talks", "a peace agreement", "normalization", "border delimitation",
        "EU membership talks", "European integration", "the elections",
    ),
    "economy": (
        "trade turnover", "re-exports", "sanctions", "sanction-evasion networks", "investment",
        "bilateral trade", "export markets",
    ),
}
MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
FIRST_NAMES = (
    "Anna", "Emil", "Syed", "Mehmet", "Eduard", "Svante", "Nargiz", "Farid", "Aigerim", "Timur",
    "Lela", "Giorgi", "Dilnoza", "Rustam", "Elena", "Murat", "Sofia", "Daniel", "Zaur", "Kamila",
)  # fmt: skip
LAST_NAMES = (
    "Abrahamyan", "Avdaliani", "Haider", "Oztarsu", "Cornell", "Mammadova", "Guliyev", "Nurlanovna",
    "Rakhimov", "Beridze", "Karimova", "Tursunov", "Petrova", "Yilmaz", "Lindqvist", "Hasanov",
    "Sadykova", "Morgan", "Aliyev", "Kerimova",
)  # fmt: skip
INSTITUTES = (
    "the Institute for Security Analysis", "the Turan Research Center", "a Karachi-based think tank",
    "the Central Asia-Caucasus Institute", "the Institute for Security and Development Policy",
    "Joongbu University", "the European University in Tbilisi, Georgia",
)  # fmt: skip
VERBS = ("strengthened", "recalibrated", "expanded", "tested", "deepened", "complicated", "revived")
QUALITIES = ("pragmatic", "transactional", "cautious", "ambitious", "fragile", "durable", "uneasy")


class _Writer:
    """Writes one article: a cast of countries, a theme, dates around the publication date."""

    def __init__(self, rng: random.Random, published: dt.date) -> None:
        self.rng = rng
        self.published = published
        cast = rng.sample(REGION, 2) if rng.random() < 0.6 else rng.sample(COUNTRIES, 2)
        others = [c for c in COUNTRIES if c not in cast]
        self.a, self.b = cast
        self.c, self.d, self.e = rng.sample(others, 3)
        self.theme = rng.choice(list(TOPICS))
        self.second_theme = rng.choice([t for t in TOPICS if t != self.theme])
        self.org = rng.choice(ORGANISATIONS)
        self.decks: dict[str, list[int]] = {}

    # -- small parts -------------------------------------------------------------------------

    def pick(self, *options: str) -> str:
        return self.rng.choice(options)

    def name(self, country: tuple[str, str, str], *, capital_ok: bool = True) -> str:
        roll = self.rng.random()
        if capital_ok and roll < 0.3:
            return country[2]
        return country[0]

    def cap(self, text: str) -> str:
        return text[0].upper() + text[1:]

    def phrase(self, theme: str | None = None) -> str:
        return self.rng.choice(TOPICS[theme or self.theme])

    def year(self, back: int = 8) -> int:
        return self.published.year - self.rng.randint(1, back)

    def recent(self) -> tuple[int, int]:
        """A (year, month) before the publication month, at most two years back."""
        months_back = self.rng.randint(1, 24)
        total = self.published.year * 12 + self.published.month - 1 - months_back
        return total // 12, total % 12 + 1

    def date_phrase(self) -> str:
        year, month = self.recent()
        day = self.rng.randint(1, 28)
        kind = self.rng.randrange(11)
        if kind == 0:
            return f"On {MONTHS[month - 1]} {day}, {year}"
        if kind == 1:
            return f"In {MONTHS[month - 1]} {year}"
        if kind == 2 and year == self.published.year:
            return f"In {MONTHS[month - 1]}"
        if kind == 3:
            return "Last year"
        if kind == 4:
            return f"Since {self.year(10)}"
        if kind == 5:
            start = self.year(6)
            return f"From {self.pick(*MONTHS)} {start} to mid-{min(start + 2, self.published.year)}"
        if kind == 6:
            return f"In {MONTHS[max(0, month - 3)]} and {MONTHS[month - 1]} {year}"
        if kind == 7:
            return f"On {day} {MONTHS[month - 1]} {year}"
        if kind == 8:
            return f"Until late {self.year(3)}"
        return f"In {self.year(12)}"

    def figure(self, kind: int | None = None) -> str:
        """A figure as analysts write it: 0, 3, 5 money; 1, 7 percent; 2, 4, 6 quantities."""
        kind = self.rng.randrange(8) if kind is None else kind
        if kind == 0:
            return f"US$ {self.rng.randint(2, 400) / 10:.1f} billion"
        if kind == 1:
            return f"{self.rng.randint(3, 80)} percent"
        if kind == 2:
            return f"{self.rng.randint(2, 40)} bcm"
        if kind == 3:
            return f"${self.rng.randint(5, 900)} million"
        if kind == 4:
            return f"{self.rng.randint(2, 60)} million tons"
        if kind == 5:
            return f"€{self.rng.randint(1, 20)} billion"
        if kind == 6:
            return f"{self.rng.randint(120, 3000):,} km"
        return f"{self.rng.randint(2, 45)}%"

    # -- sentences ----------------------------------------------------------------------------

    def lede(self) -> str:
        a, b, c = self.a, self.b, self.c
        sentences = [
            f"{self.date_phrase()}, the leaders of {a[0]} and {b[0]} met in {self.pick(a[2], b[2], c[2])}, "
            f"signalling that relations have {self.pick(*VERBS)} despite {self.pick('persisting distrust', 'recent frictions', 'sharp disagreements')}.",
            f"At the same time, {a[2]} has taken steps to engage {c[0]}, with {c[1]} companies pledging "
            f"investments worth {self.figure(self.rng.choice((0, 3, 5)))} in {self.phrase('energy')}.",
            f"The shift matters for {self.phrase()}, which has become the test of {a[1]} foreign policy.",
            f"Looking ahead, {a[2]} is likely to keep a {self.pick(*QUALITIES)} balance between {b[2]} and {c[2]}.",
        ]
        return " ".join(sentences[: self.rng.randint(3, 4)])

    def body_sentence(self) -> str:
        a, b, c, d, e = self.a, self.b, self.c, self.d, self.e
        templates = (
            lambda: f"{self.date_phrase()}, {self.name(a)} and {self.name(b)} agreed to expand {self.phrase()}, a step {self.name(d)} watched closely.",
            lambda: f"{self.cap(self.name(b))} remains {a[0]}’s main trading partner, with trade turnover reaching {self.figure(self.rng.choice((0, 5)))} in {self.year(2)}.",
            lambda: f"According to official data, {self.phrase('energy')} reached {self.figure(2)}, compared with {self.figure(2)} a year earlier.",
            lambda: f"Freight on {self.phrase('connectivity')} grew by {self.figure(1)} to {self.figure(4)}, over a route of {self.figure(6)}.",
            lambda: f"{self.cap(self.org)} has so far offered little beyond statements, while {self.name(c)} pursues {self.phrase(self.second_theme)}.",
            lambda: f"{a[1]} officials describe {self.phrase()} as a “new page” in relations with {self.name(b)}.",
            lambda: f"The {self.year(10)} agreement between {a[0]} and {d[0]} still frames {self.phrase(self.second_theme)}.",
            lambda: f"{self.cap(self.name(e))} has criticised the plan, and {e[1]} media call it a “betrayal”.",
            lambda: f"Dr. {self.pick(*LAST_NAMES)}, a former adviser in {b[2]}, argues that {self.phrase()} could reshape the region.",
            lambda: f"The plan envisions a {self.rng.randint(10, 90)}-mile corridor through {a[0]}, with rights leased for up to {self.rng.choice((25, 49, 99))} years.",
            lambda: f"Cargo would then move toward the Indian Ocean and the Black Sea, bypassing {self.name(c, capital_ok=False)}.",
            lambda: f"{self.cap(self.name(c))} has courted the Turkic world, yet the relationship with {self.name(b)} remains {self.pick(*QUALITIES)}.",
            lambda: f"{self.cap(self.name(a))} and {self.name(b)} held {self.pick('joint military exercises', 'naval drills', 'air defense drills')} in the Caspian Sea, the first without {d[1]} participation.",
            lambda: f"Relations with the U.S. improved after {self.pick(*MONTHS)}, while {self.name(d if d[1] != 'American' else e)} kept its distance.",
            lambda: f"{self.date_phrase()}, {self.name(b)} announced {self.phrase('economy')} targeting {c[1]} firms.",
            lambda: f"Public support for closer ties with {b[0]} fell to {self.rng.randint(10, 60)} percent, down from {self.rng.randint(20, 70)} percent.",
            lambda: f"The region now weighs {self.org}, {b[0]} and the U.S. {c[2]} has, however, placed its bet on {self.phrase()}.",
        )
        return self.draw("body", templates)

    def implication_sentence(self) -> str:
        a, b, c = self.a, self.b, self.c
        templates = (
            lambda: f"For {a[0]}, {self.phrase()} offers leverage, but it also deepens dependence on {self.name(b)}.",
            lambda: f"{self.cap(self.name(b))} is expected to resist any arrangement that sidelines its interests in {self.phrase(self.second_theme)}.",
            lambda: f"This could generate tensions with {c[0]}, which already views {self.phrase()} with suspicion.",
            lambda: f"In the coming years, {a[1]} policy will likely remain {self.pick(*QUALITIES)}.",
            lambda: f"Elections planned for {self.pick(*MONTHS)} {self.published.year + 1} may test this balance.",
            lambda: f"Such moves may strengthen {self.org} while limiting {self.name(c)}’s room for manoeuvre.",
            lambda: f"{self.cap(self.name(c))} may yet find {self.phrase(self.second_theme)} more useful than {self.phrase()}.",
            lambda: f"Over the long term, the question is whether {a[0]} can keep {self.org} and {b[0]} on side.",
        )
        return self.draw("implication", templates)

    def draw(self, pool: str, templates) -> str:
        """The next template of a shuffled deck, so that an article seldom repeats a sentence."""
        deck = self.decks.get(pool)
        if not deck:
            deck = list(range(len(templates)))
            self.rng.shuffle(deck)
            self.decks[pool] = deck
        return templates[deck.pop()]()

    def paragraph(self, sentence, low: int = 3, high: int = 5) -> str:
        return " ".join(sentence() for _ in range(self.rng.randint(low, high)))

    def sections(self) -> list[dict[str, str]]:
        lede = self.lede()
        body = {
            "Background": [self.paragraph(self.body_sentence) for _ in range(3)],
            "Implications": [self.paragraph(self.implication_sentence) for _ in range(3)],
            "Conclusions": [self.paragraph(self.implication_sentence, 2, 3)],
        }
        words = len(lede.split()) + sum(len(p.split()) for ps in body.values() for p in ps)
        target = self.rng.randint(620, 880)
        growing = ("Background", "Implications")
        turn = 0
        while words < target:
            name = growing[turn % 2]
            extra = self.paragraph(self.body_sentence if name == "Background" else self.implication_sentence)
            if words + len(extra.split()) > 900:
                break
            body[name].append(extra)
            words += len(extra.split())
            turn += 1
        sections = [{"name": "Lede", "text": lede}]
        sections += [{"name": name, "text": "\n\n".join(ps)} for name, ps in body.items()]
        return sections

    def title(self) -> str:
        a, b, c = self.a, self.b, self.c
        topic = self.phrase().removeprefix("the ").removeprefix("a ")
        return self.rng.choice(
            (
                f"{b[0].removeprefix('the ')} Reengages with {a[0].removeprefix('the ')}",
                f"{a[0].removeprefix('the ')} Balances between {b[0].removeprefix('the ')} and {c[0].removeprefix('the ')}",
                f"{a[1]} Stakes in {topic[0].upper() + topic[1:]}",
                f"Can {a[0].removeprefix('the ')} Afford {b[1]} Ambitions?",
                f"{c[1]} Road to Europe Passes through {a[0].removeprefix('the ')}",
            )
        )


def generate_articles(n: int, seed: int = 0, *, urls: bool = False) -> Iterator[dict]:
    """`n` synthetic articles, the same for the same seed; URLs only when `urls` is True."""
    rng = random.Random(seed)
    first = dt.date(2015, 1, 1).toordinal()
    last = dt.date(2025, 12, 31).toordinal()
    for number in range(n):
        published = dt.date.fromordinal(rng.randint(first, last))
        writer = _Writer(rng, published)
        author = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        title = writer.title()
        slug = "-".join(word.strip("?’'").lower() for word in title.split())
        yield {
            "title": title,
            "author": author,
            "published": published.isoformat(),
            "sections": writer.sections(),
            "author_bio": f"{author} is a senior fellow at {rng.choice(INSTITUTES)}.",
            "url": f"https://example.org/analysis/{number}-{slug}" if urls else None,
            "category": rng.choice(("Analytical Articles", "Analytical Articles", "Field Reports")),
        }
