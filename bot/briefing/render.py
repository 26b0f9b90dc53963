"""Rendering views into Telegram HTML messages with Jinja2, and into plain text.

One template per view in `templates/`, autoescaped; the console shows the same HTML
turned into plain text (`to_plain`), so both say exactly the same thing.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.briefing.messages import OutMessage, button, keyboard
from bot.briefing.split import split_html, to_plain
from bot.briefing.views import ArticleList, ArticleView, Briefing, CoverageList, SourceRef, Timeline
from bot.enrich.model import EntityInfo
from bot.store.search import HIGHLIGHT_END, HIGHLIGHT_START

_CITATION = re.compile(r"\[(\d+)\]")


def format_day(value: dt.date) -> str:
    return f"{value.day} {value:%b %Y}"


def format_month(value: dt.date) -> str:
    return f"{value:%b %Y}"


def format_when(line) -> str:  # noqa: ANN001 - a DatedLine
    """A date at its real precision; an inferred year is marked with a tilde."""
    if line.precision == "day":
        text = format_day(line.date)
    elif line.precision == "month":
        text = format_month(line.date)
    else:
        text = str(line.date.year)
    return "~" + text if line.year_inferred else text


def format_published(source: SourceRef) -> str:
    """A source's date at the precision it is known: an inferred "June 2025" is not 1 June."""
    if source.published is None:
        return "undated"
    if source.date_precision == "year":
        return str(source.published.year)
    if source.date_precision == "month":
        return format_month(source.published)
    return format_day(source.published)


def highlight(snippet: str) -> Markup:
    """A search snippet on one line, matches in bold, cut ends marked once."""
    snippet = " ".join(snippet.split())
    if not snippet.startswith("…"):
        snippet = "…" + snippet
    if not snippet.endswith("…"):
        snippet += "…"
    escaped = html.escape(snippet, quote=False)
    return Markup(escaped.replace(HIGHLIGHT_START, "<b>").replace(HIGHLIGHT_END, "</b>"))


def short_source(source: SourceRef) -> str:
    title = source.title if len(source.title) <= 60 else source.title[:57].rsplit(" ", 1)[0] + "…"
    who = source.author.split()[-1] if source.author else "unsigned"
    when = format_published(source)
    return f"[{source.number}] {who}, “{title}”, {when}"


class Renderer:
    def __init__(self, templates_dir: Path) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html", "j2"), default=True),
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )
        self.env.filters.update(
            day=format_day, month=format_month, when=format_when, highlight=highlight, published=format_published
        )

    def html(self, template: str, **context: object) -> str:
        rendered = self.env.get_template(template).render(**context)
        return re.sub(r"\n{3,}", "\n\n", rendered).strip()

    def messages(
        self,
        html_text: str,
        *,
        markup: dict | None = None,
        sources: list[SourceRef] | None = None,
        edit: bool = False,
        view: str = "notice",
    ) -> list[OutMessage]:
        footer = self._footer(sources) if sources else None
        parts = split_html(html_text, footer=footer)
        out = [OutMessage(part, edit=edit, meta={"view": view}) for part in parts]
        if out:
            out[-1].reply_markup = markup
        return out

    @staticmethod
    def _footer(sources: list[SourceRef]):  # noqa: ANN205
        by_number = {s.number: s for s in sources}

        def footer(message: str) -> str:
            if "<b>Sources</b>" in message:
                return ""
            cited = sorted({int(n) for n in _CITATION.findall(message) if int(n) in by_number})
            if not cited:
                return ""
            lines = "\n".join(html.escape(short_source(by_number[n]), quote=False) for n in cited)
            return f"\n\n<i>{lines}</i>"

        return footer

    # --- views ---------------------------------------------------------------------------

    def briefing(self, b: Briefing, *, subscribe: bool = True) -> list[OutMessage]:
        key = b.entity.key
        rows = [[button("🗓 Timeline", "tl", key, 1), button("📚 Sources", "src", key)]]
        if subscribe:
            rows.append([button(f"🔔 Subscribe to {b.entity.name}"[:40], "sub", key)])
        return self.messages(self.html("briefing.html.j2", b=b), markup=keyboard(*rows), sources=b.sources, view="briefing")

    def timeline(self, t: Timeline, *, edit: bool = False) -> list[OutMessage]:
        key = t.entity.key
        paging = []
        if t.page > 1:
            paging.append(button("◀ Newer", "tlp", key, t.page - 1))
        if t.page < t.pages:
            paging.append(button("Older ▶", "tlp", key, t.page + 1))
        markup = keyboard(paging, [button("📋 Briefing", "b", key)])
        return self.messages(self.html("timeline.html.j2", t=t), markup=markup, sources=t.sources, edit=edit, view="timeline")

    def sources(self, entity: EntityInfo, sources: list[SourceRef]) -> list[OutMessage]:
        markup = keyboard([button("📋 Briefing", "b", entity.key)])
        return self.messages(self.html("sources.html.j2", entity=entity, sources=sources), markup=markup, view="sources")

    def article(self, a: ArticleView) -> list[OutMessage]:
        primary = [e for e in a.entities if e.kind == "country"][:2]
        markup = keyboard([button(f"{e.emoji} {e.name} briefing", "b", e.key) for e in primary])
        return self.messages(self.html("article.html.j2", a=a), markup=markup, view="article")

    def article_list(self, articles: ArticleList) -> list[OutMessage]:
        return self.messages(self.html("article_list.html.j2", l=articles), view="list")

    def coverage(self, c: CoverageList) -> list[OutMessage]:
        return self.messages(self.html("coverage.html.j2", c=c), view="coverage")

    def help(self, *, welcome: bool, articles: int, countries: int, subscriptions: bool, examples: list[str]) -> list[OutMessage]:
        return self.messages(
            self.html(
                "help.html.j2",
                welcome=welcome,
                articles=articles,
                countries=countries,
                subscriptions=subscriptions,
                examples=examples,
            ),
            view="help",
        )

    def resolution(self, r, *, command: str, placeholder: str, examples: list[str], limit: int, entity: EntityInfo | None = None, no_coverage: bool = False) -> list[OutMessage]:  # noqa: ANN001
        html_text = self.html(
            "resolution.html.j2",
            r=r,
            command=command,
            placeholder=placeholder,
            examples=examples,
            limit=limit,
            entity=entity,
            no_coverage=no_coverage,
        )
        buttons = [button(f"{s.emoji} {s.name}"[:40], "b", s.key) for s in (r.suggestions or r.neighbours)]
        return self.messages(html_text, markup=keyboard(buttons), view="resolution")

    def notice(self, text: str) -> list[OutMessage]:
        """A short line of our own words (already HTML-safe)."""
        return [OutMessage(text, meta={"view": "notice"})]


def plain(messages: list[OutMessage]) -> str:
    return "\n\n".join(to_plain(m.text) for m in messages)
