"""`briefbot ingest`: files in, one transaction per file, a clear line for each failure.

A file that fails for any reason leaves the database exactly as it was; the other files
of the run still load.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.enrich import Knowledge, infer_as_of_date
from bot.ingest.capture import NoArticleFound, parse_capture
from bot.ingest.jsonl import BadRecord, parse_jsonl
from bot.ingest.persist import store_records
from bot.ingest.records import ArticleRecord
from bot.ingest.text import UndecodableInput, decode_bytes
from bot.store.db import refresh_planner_statistics, session_scope
from bot.store.models import Source

MAX_FILE_BYTES = 50 * 1024 * 1024
ANALYZE_AFTER = 200  # articles changed in one run before planner statistics are refreshed
JSONL_SUFFIXES = {".jsonl", ".ndjson"}
INGESTIBLE_SUFFIXES = {".txt", ".text", ".capture", *JSONL_SUFFIXES}


class IngestError(Exception):
    """A file that cannot be ingested, with the reason a user can act on."""


@dataclass
class FileResult:
    path: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None

    @property
    def line(self) -> str:
        if self.error:
            return f"{self.path}: failed: {self.error}"
        return f"{self.path}: {self.new} new, {self.updated} updated, {self.unchanged} unchanged"


@dataclass
class IngestReport:
    files: list[FileResult]

    @property
    def failed(self) -> int:
        return sum(1 for f in self.files if f.error)

    @property
    def summary(self) -> str:
        new = sum(f.new for f in self.files)
        updated = sum(f.updated for f in self.files)
        unchanged = sum(f.unchanged for f in self.files)
        return f"{new} new, {updated} updated, {unchanged} unchanged, {self.failed} failed"


def parse_text(text: str, *, jsonl: bool) -> list[ArticleRecord]:
    if jsonl:
        return parse_jsonl(text, infer_date=infer_as_of_date)
    return parse_capture(text, infer_date=infer_as_of_date)


def read_records(path: Path) -> list[ArticleRecord]:
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise IngestError(f"cannot read ({exc.strerror or exc})") from exc
    if size == 0:
        raise IngestError("empty file")
    if size > MAX_FILE_BYTES:
        raise IngestError(f"too large ({size // (1024 * 1024)} MB; the limit is {MAX_FILE_BYTES // (1024 * 1024)} MB)")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read ({exc.strerror or exc})") from exc
    try:
        text = decode_bytes(data)
    except UndecodableInput as exc:
        raise IngestError(str(exc)) from exc
    if not text.strip():
        raise IngestError("empty file (only whitespace)")
    jsonl = path.suffix.lower() in JSONL_SUFFIXES or text.lstrip().startswith("{")
    try:
        return parse_text(text, jsonl=jsonl)
    except (NoArticleFound, BadRecord) as exc:
        raise IngestError(str(exc)) from exc


def source_for(session: Session, name: str, kind: str = "file") -> Source:
    source = session.execute(select(Source).where(Source.name == name)).scalars().first()
    if source is None:
        source = Source(name=name, kind=kind)
        session.add(source)
        session.flush()
    return source


def ingest_file(engine: Engine, path: Path, knowledge: Knowledge, *, source_name: str | None = None) -> FileResult:
    result = FileResult(path=str(path))
    try:
        records = read_records(path)
        with session_scope(engine) as session:
            source = source_for(session, source_name or path.name)
            counts = store_records(session, records, knowledge, source_id=source.id)
    except IngestError as exc:
        result.error = str(exc)
        return result
    except Exception as exc:  # noqa: BLE001 - any failure must name the file and keep the run going
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    result.new, result.updated, result.unchanged = counts.new, counts.updated, counts.unchanged
    return result


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    expanded: list[Path] = []
    for path in paths:
        if path.is_dir():
            expanded.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in INGESTIBLE_SUFFIXES)
            )
        else:
            expanded.append(path)
    return expanded


def ingest_paths(
    engine: Engine,
    paths: Sequence[Path],
    knowledge: Knowledge,
    *,
    source_name: str | None = None,
    progress: Callable[[int, int, FileResult], None] | None = None,
) -> IngestReport:
    files = expand_paths(paths)
    results = []
    for number, path in enumerate(files, start=1):
        result = ingest_file(engine, path, knowledge, source_name=source_name)
        results.append(result)
        if progress:
            progress(number, len(files), result)
    if sum(r.new + r.updated for r in results) >= ANALYZE_AFTER:
        refresh_planner_statistics(engine)
    return IngestReport(results)


def progress_bar(stream: TextIO | None = None) -> Callable[[int, int, FileResult], None]:
    """A one-line bar on a terminal; one line per file elsewhere (logs, CI)."""
    stream = stream or sys.stderr
    interactive = stream.isatty()

    def show(done: int, total: int, result: FileResult) -> None:
        if total < 2:
            return
        if interactive:
            width = 30
            filled = int(width * done / total)
            stream.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} ")
            if done == total:
                stream.write("\n")
        else:
            stream.write(f"[{done}/{total}] {result.path}\n")
        stream.flush()

    return show
