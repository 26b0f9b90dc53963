"""Briefbot: sourced briefings on the South Caucasus, the Caspian and Central Asia."""

__version__ = "0.1.0"
