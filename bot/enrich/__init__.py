"""Enrichment: pure functions that read an article's text against a Knowledge of the region.

    knowledge = load_knowledge(Path("data"))           # once: builds the one matcher
    enrichment = enrich(title, sections, published, knowledge)

Modules: gazetteer (countries, organisations, the matcher, look-ups), topics (topic definitions),
sentences (splitting, outlook language), events (dates and the as-of date), figures (key figures),
pipeline (enrich and scoring). The dataclasses returned are in bot.enrich.model.
"""

from bot.enrich.events import infer_as_of, infer_as_of_date
from bot.enrich.gazetteer import Knowledge, load_knowledge, normalise_name
from bot.enrich.pipeline import enrich
from bot.enrich.sentences import split_sentences

__all__ = [
    "Knowledge",
    "enrich",
    "infer_as_of",
    "infer_as_of_date",
    "load_knowledge",
    "normalise_name",
    "split_sentences",
]
