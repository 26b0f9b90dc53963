"""Topic definitions from data/topics.yaml, and when a topic counts for an article.

A topic is a named theme (the Caspian, TRIPP, sanctions...) recognised by plain phrases, which join
the one matcher the gazetteer builds, and by optional regular expressions for what phrases can't say.
Adding an entry to the YAML makes the topic live on the next run: nothing here names a topic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import yaml

from bot.enrich.model import EntityInfo

TOPIC_PREFIX: Final = "t:"
# A topic counts for an article with this many mentions anywhere, or one in the title or lede.
MIN_BODY_MENTIONS: Final = 2
MIN_LEAD_MENTIONS: Final = 1


@dataclass(frozen=True)
class Topic:
    key: str  # entity key, "t:caspian"
    name: str
    emoji: str
    description: str
    phrases: tuple[str, ...]
    patterns: tuple[str, ...]
    related: tuple[str, ...]  # entity keys of related topics

    def info(self) -> EntityInfo:
        return EntityInfo(
            key=self.key,
            kind="topic",
            name=self.name,
            emoji=self.emoji,
            description=self.description,
            related=self.related,
        )


def load_topics(path: Path) -> tuple[Topic, ...]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = raw.get("topics", raw) if isinstance(raw, Mapping) else raw
    topics: list[Topic] = []
    seen: set[str] = set()
    for entry in entries or ():
        key = str(entry["key"]).strip().lower()
        if not key or key in seen:
            raise ValueError(f"{path}: topic key {key!r} is empty or repeated")
        seen.add(key)
        patterns = tuple(str(p) for p in entry.get("patterns") or ())
        for pattern in patterns:
            re.compile(pattern)  # fail at load time, naming the file, not mid-run
        topics.append(
            Topic(
                key=TOPIC_PREFIX + key,
                name=str(entry.get("name") or key),
                emoji=str(entry.get("emoji") or ""),
                description=str(entry.get("description") or ""),
                phrases=tuple(str(p) for p in entry.get("phrases") or ()),
                patterns=patterns,
                related=tuple(TOPIC_PREFIX + str(r).lower() for r in entry.get("related") or ()),
            )
        )
    return tuple(topics)


def plural_forms(phrase: str) -> tuple[str, ...]:
    """The phrase and the plural of its last word: "pipeline" also matches "pipelines"."""
    head, _, last = phrase.rpartition(" ")
    if not last or not last.isalpha() or last.isupper() or len(last) < 3:
        return (phrase,)
    lower = last.lower()
    if lower.endswith("s"):
        return (phrase,)
    if lower.endswith(("x", "ch", "sh", "z")):
        plural = last + "es"
    elif lower.endswith("y") and lower[-2:-1] not in "aeiou":
        plural = last[:-1] + "ies"
    else:
        plural = last + "s"
    return (phrase, f"{head} {plural}" if head else plural)


def compile_patterns(topics: tuple[Topic, ...]) -> tuple[re.Pattern[str] | None, tuple[str, ...]]:
    """One regex for every topic pattern; the name of the group that matched maps to the topic."""
    parts: list[str] = []
    keys: list[str] = []
    for topic in topics:
        for pattern in topic.patterns:
            parts.append(f"(?P<p{len(keys)}>{pattern})")
            keys.append(topic.key)
    if not parts:
        return None, ()
    return re.compile("|".join(parts), re.IGNORECASE), tuple(keys)


def topic_is_relevant(mentions: int, lead_mentions: int) -> bool:
    """Whether a topic counts for an article: two mentions, or one in the title or lede."""
    return mentions >= MIN_BODY_MENTIONS or lead_mentions >= MIN_LEAD_MENTIONS
