"""Enrichment: pure functions that read an article's text against a Knowledge of the region.

    knowledge = load_knowledge(Path("data"))           # once: builds the one matcher
    enrichment = enrich(title, sections, published, knowledge)

Modules: gazetteer (countries, organisations, the matcher, look-ups), topics (topic definitions),
sentences (splitting, outlook language), events (dates and the as-of date), figures (key figures),
digits (where the numbers are), pipeline (enrich and scoring). The dataclasses returned are in
bot.enrich.model.

Installing the package compiles these modules with mypyc (setup.py) where a C compiler is present;
`compiled_modules` and `stale_compiled_modules` tell which build is running. Module constants are
declared Final: compiled, a Final name is a C static or an inlined literal, where any other module
global is a dictionary look-up at every use.
"""

from pathlib import Path

from bot.enrich.events import infer_as_of, infer_as_of_date
from bot.enrich.gazetteer import Knowledge, load_knowledge, normalise_name
from bot.enrich.pipeline import enrich
from bot.enrich.sentences import split_sentences

_PACKAGE = Path(__file__).resolve().parent


def compiled_modules() -> list[str]:
    """Names of the enrichment modules that run compiled (empty for a pure-Python install)."""
    return sorted(path.name.split(".", 1)[0] for path in _PACKAGE.glob("*.so"))


def stale_compiled_modules() -> list[str]:
    """Compiled modules whose source changed after the build: Python would run the old code."""
    stale = []
    for name in compiled_modules():
        source = _PACKAGE / f"{name}.py"
        binaries = list(_PACKAGE.glob(f"{name}.*.so"))
        if source.exists() and source.stat().st_mtime > max(b.stat().st_mtime for b in binaries):
            stale.append(name)
    return stale


__all__ = [
    "Knowledge",
    "compiled_modules",
    "enrich",
    "infer_as_of",
    "infer_as_of_date",
    "load_knowledge",
    "normalise_name",
    "split_sentences",
    "stale_compiled_modules",
]
