"""Build hook: compile the enrichment hot path (bot/enrich) with mypyc when a C compiler is there.

Enrichment runs once per article at ingest and is the CPU-bound part of the bot; compiled, it is
about a third faster (bench/enrich_peers.py, docs/performance.md). Everything else stays plain
Python. Without a compiler, or with BRIEFBOT_PURE_PYTHON=1, the package installs as pure Python
and behaves the same, only slower. Everything else about the package is in pyproject.toml.
"""

from __future__ import annotations

import os
import sys

from setuptools import setup

COMPILED = [
    "bot/enrich/model.py",
    "bot/enrich/digits.py",
    "bot/enrich/sentences.py",
    "bot/enrich/gazetteer.py",
    "bot/enrich/topics.py",
    "bot/enrich/events.py",
    "bot/enrich/figures.py",
    "bot/enrich/pipeline.py",
]


def _extensions() -> list:
    if os.environ.get("BRIEFBOT_PURE_PYTHON"):
        return []
    try:
        from mypyc.build import mypycify

        return mypycify(COMPILED, opt_level="3", group_name="briefbot_enrich")
    except Exception as error:  # no mypyc, no compiler, a type error: install pure Python
        print(f"briefbot: not compiling bot/enrich ({error}); installing pure Python", file=sys.stderr)
        return []


setup(ext_modules=_extensions())
