"""enrich(): one article's title and sections in, its Enrichment out.

Owns how the parts come together and how entities are scored:
  - mentions: every match in the title and the sections (the author's bio is never passed in);
  - weight: a mention in the title counts 3, in the lede 2, elsewhere 1; salience is the weight over
    the highest weight of the same kind in the article (the most salient country scores 1.0);
  - relevant: topics need two mentions, or one in the title or lede; countries and organisations
    count from their first mention;
  - primary: per kind, the most weighted entity, then up to two more whose weight is at least
    PRIMARY_SHARE of the first's and that are mentioned at least twice; organisations and topics
    also need to be relevant and mentioned at least twice (or in the title or lede). A third
    one must also weigh THIRD_CLEARANCE times the fourth: analyses are usually about a pair, and a
    third primary has to stand out from the field ("Russia and Turkey" in an article where
    Azerbaijan, Kazakhstan and Turkmenistan are mentioned about equally often).
Dates without a year take the article's year (see events.py); when `published` is None the
as-of date the text itself vouches for stands in for it.
"""

from __future__ import annotations

import datetime as dt
import gc
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate
from types import MappingProxyType
from typing import Final

from bot.enrich.events import (
    SentenceView,
    as_of_from_views,
    find_dates,
    join_sentences,
    resolve_dates,
    sentence_texts,
)
from bot.enrich.figures import find_figures
from bot.enrich.gazetteer import Knowledge
from bot.enrich.model import (
    LEDE,
    DatedEvent,
    Enrichment,
    EntityScore,
    KeyFigure,
    Section,
    SentenceInfo,
    entity_kind,
    new_tuple,
)
from bot.enrich.sentences import is_forward_looking
from bot.enrich.topics import topic_is_relevant

# Whole numbers, so that the weights add up as ints (no float boxed per mention when compiled).
TITLE_WEIGHT: Final = 3
LEDE_WEIGHT: Final = 2
BODY_WEIGHT: Final = 1
PRIMARY_SHARE: Final = 0.5
THIRD_CLEARANCE: Final = 1.5
MAX_PRIMARY: Final = 3
_KIND_ORDER: Final = MappingProxyType({"country": 0, "org": 1, "topic": 2})


def enrich(
    title: str | None,
    sections: Sequence[Section],
    published: dt.date | None,
    knowledge: Knowledge,
) -> Enrichment:
    """Sentences, scored entities, dated events and key figures of one article.

    The cyclic garbage collector is paused meanwhile. Enrichment builds thousands of small values
    and no cycles (reference counting frees them all), yet those allocations would trigger
    collections that walk the whole heap, the knowledge included: a quarter of the time, measured
    (docs/performance.md). The previous state comes back after, so a caller that keeps the
    collector off keeps it off; two threads enriching at once leave it on once both are done.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        return _enrich(title, sections, published, knowledge)
    finally:
        if paused:
            gc.enable()


def _enrich(
    title: str | None,
    sections: Sequence[Section],
    published: dt.date | None,
    knowledge: Knowledge,
) -> Enrichment:
    texts = sentence_texts(sections)
    section_names = [section.name for section in sections]
    counts, forward, cues = knowledge.scan_with_cues([title or "", *(text for _, text in texts)])
    title_counts, sentence_counts = counts[0], counts[1:]
    views = [
        SentenceView(index, paragraph, text, flag)
        for index, ((paragraph, text), flag) in enumerate(zip(texts, forward[1:], strict=True))
    ]

    sentences = tuple(
        new_tuple(
            SentenceInfo,
            (
                view.index,
                section_names[view.paragraph[0]],
                view.paragraph[1],
                view.text,
                tuple(sorted(found)) if found else (),
                view.forward_looking,
            ),
        )
        for view, found in zip(views, sentence_counts, strict=True)
    )
    joined = join_sentences(views)
    starts = list(accumulate((len(view.text) + 1 for view in views), initial=0))
    # The sentences where a relative date or a unit after a number word can stand; None: all.
    cue_spans = None
    if cues is not None:
        cue_spans = [(starts[i], starts[i + 1] - 1) for i, cued in enumerate(cues[1:]) if cued]
    found = find_dates(views, joined, cue_spans)
    anchor = published
    if anchor is None:
        # Exactly infer_as_of_date(sections): the regex reading of outlook language, so that
        # enrich(published=None) and enrich(published=infer_as_of_date(...)) agree to the day.
        regex_views = [
            SentenceView(view.index, view.paragraph, view.text, is_forward_looking(view.text)) for view in views
        ]
        anchor = as_of_from_views(regex_views, found)
    events = tuple(
        new_tuple(
            DatedEvent,
            (d.sentence_index, d.date, d.precision, d.year_inferred, d.phrase, sentences[d.sentence_index].entities),
        )
        for d in resolve_dates(views, anchor, found=found)
    )
    figures = []
    for figure in find_figures(joined[0], joined[1], cue_spans):
        info = sentences[bisect_right(starts, figure.start) - 1]
        figures.append(
            new_tuple(KeyFigure, (info.index, figure.phrase, figure.kind, figure.value, figure.unit, info.entities))
        )
    scores = _score(title_counts, sentence_counts, views, section_names)
    return Enrichment(sentences=sentences, entities=scores, events=events, figures=tuple(figures))


def _score(
    title_counts: dict[str, int],
    sentence_counts: Sequence[dict[str, int]],
    views: Sequence[SentenceView],
    section_names: Sequence[str],
) -> tuple[EntityScore, ...]:
    mentions: dict[str, int] = dict(title_counts)
    lead: dict[str, int] = dict(title_counts)
    weight: dict[str, int] = {key: TITLE_WEIGHT * n for key, n in title_counts.items()}
    first_seen: dict[str, int] = {key: -1 for key in title_counts}
    # The hot loop of scoring, written out per section kind: one membership test per mention.
    for view, found in zip(views, sentence_counts, strict=True):
        if not found:
            continue
        index = view.index
        if section_names[view.paragraph[0]] == LEDE:
            for key, n in found.items():
                if key in mentions:
                    mentions[key] += n
                    weight[key] += LEDE_WEIGHT * n
                    lead[key] = lead.get(key, 0) + n
                else:
                    mentions[key] = n
                    weight[key] = LEDE_WEIGHT * n
                    lead[key] = n
                    first_seen[key] = index
        else:
            for key, n in found.items():
                if key in mentions:
                    mentions[key] += n
                    weight[key] += BODY_WEIGHT * n
                else:
                    mentions[key] = n
                    weight[key] = BODY_WEIGHT * n
                    first_seen[key] = index

    relevant = {
        key: entity_kind(key) != "topic" or topic_is_relevant(mentions[key], lead.get(key, 0))
        for key in mentions
    }
    by_kind: dict[str, list[str]] = {}
    for key in mentions:
        by_kind.setdefault(entity_kind(key), []).append(key)

    scores: list[EntityScore] = []
    for kind, keys in sorted(by_kind.items(), key=lambda item: _KIND_ORDER[item[0]]):
        keys.sort(key=lambda k: (-weight[k], first_seen[k], k))
        top = weight[keys[0]]
        primary = _primary(kind, keys, weight, mentions, lead, relevant)
        for key in keys:
            scores.append(
                new_tuple(
                    EntityScore,
                    (key, mentions[key], round(weight[key] / top, 3) if top else 0.0, key in primary, relevant[key]),
                )
            )
    return tuple(scores)


def _primary(
    kind: str,
    ranked: list[str],
    weight: dict[str, int],
    mentions: dict[str, int],
    lead: dict[str, int],
    relevant: dict[str, bool],
) -> set[str]:
    chosen: list[str] = []
    for key in ranked:
        if len(chosen) == MAX_PRIMARY:
            break
        if not relevant[key]:
            continue
        if kind != "country" and mentions[key] < 2 and not lead.get(key):
            continue
        if chosen and (weight[key] < PRIMARY_SHARE * weight[chosen[0]] or mentions[key] < 2):
            break
        if len(chosen) == 2 and weight[key] < THIRD_CLEARANCE * _next_weight(ranked, key, weight, relevant):
            break  # a pair and a field of equals: the field is not what the article is about
        chosen.append(key)
    return set(chosen)


def _next_weight(ranked: list[str], key: str, weight: dict[str, int], relevant: dict[str, bool]) -> float:
    after = ranked[ranked.index(key) + 1 :]
    return next((weight[k] for k in after if relevant[k]), 0.0)
