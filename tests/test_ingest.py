"""`briefbot ingest` end to end on SQLite and PostgreSQL: idempotence, updates, bad files."""

from __future__ import annotations

import codecs
import json
from pathlib import Path

from sqlalchemy import func, select, text
from sqlmodel import Session, SQLModel

from bot.ingest import loader
from bot.store.models import Article, Mention, Sentence
from tests.conftest import FIXTURES, SAMPLE

CAPTURES = FIXTURES / "captures"


def table_counts(engine) -> dict[str, int]:  # noqa: ANN001
    with engine.connect() as connection:
        return {
            name: connection.execute(text(f'SELECT COUNT(*) FROM "{name}"')).scalar_one()
            for name in SQLModel.metadata.tables
        }


def test_sample_loads_once_and_again_changes_nothing(cli, engine):
    first = cli("ingest", str(SAMPLE))
    assert first.exit_code == 0, first.stderr
    assert first.stdout.strip().endswith("5 new, 0 updated, 0 unchanged, 0 failed")
    before = table_counts(engine)
    second = cli("ingest", str(SAMPLE))
    assert second.exit_code == 0
    assert second.stdout.strip().endswith("0 new, 0 updated, 5 unchanged, 0 failed")
    assert table_counts(engine) == before
    assert before["sentence"] > 100 and before["mention"] > 20 and before["event"] > 10


def test_articles_json_has_the_promised_fields(cli):
    cli("ingest", str(SAMPLE))
    result = cli("articles", "--json")
    assert result.exit_code == 0
    articles = json.loads(result.stdout)
    assert len(articles) == 5
    required = {"id", "title", "title_inferred", "author", "published", "date_inferred", "sections", "lede", "url"}
    for article in articles:
        assert required <= set(article)
        assert article["url"] is None
        assert article["sections"] == ["Lede", "Background", "Implications", "Conclusions"]
    by_author = {(a["author"], a["title_inferred"]): a for a in articles}
    russia = by_author[("Eduard Abrahamyan", False)]
    assert russia["published"] == "2025-11-06" and not russia["date_inferred"]
    assert russia["lede"].startswith("In recent months, Armenia and Russia")
    inferred = [a for a in articles if a["title_inferred"]]
    assert len(inferred) == 3
    # Dates the capture lost are inferred from the text and flagged, or left unknown.
    for article in inferred:
        assert article["published"] is None or article["date_inferred"]


def test_same_article_twice_in_one_file_is_stored_once(cli, engine):
    result = cli("ingest", str(CAPTURES / "two_articles_same.txt"))
    assert result.exit_code == 0
    assert "1 new, 0 updated, 1 unchanged, 0 failed" in result.stdout
    with Session(engine) as session:
        assert session.execute(select(func.count()).select_from(Article)).scalar_one() == 1


def test_changed_text_updates_in_place(cli, engine, tmp_path):
    original = (CAPTURES / "old_byline.txt").read_text()
    path = tmp_path / "capture.txt"
    path.write_text(original)
    assert "1 new" in cli("ingest", str(path)).stdout
    with Session(engine) as session:
        (article_id,) = session.execute(select(Article.id)).scalars().all()
    path.write_text(original.replace("toward Baku.", "toward Baku and Tbilisi."))
    result = cli("ingest", str(path))
    assert "0 new, 1 updated, 0 unchanged" in result.stdout
    with Session(engine) as session:
        article = session.execute(select(Article)).scalars().one()
        assert article.id == article_id
        assert "toward Baku and Tbilisi." in article.body
        sentences = session.execute(select(Sentence.text).where(Sentence.article_id == article_id)).scalars().all()
        assert any("Tbilisi" in s for s in sentences)
        assert not any(s.endswith("toward Baku.") for s in sentences)


def test_full_text_index_follows_inserts_and_updates(cli, engine, tmp_path):
    from bot.store.search import search_articles

    path = tmp_path / "capture.txt"
    path.write_text((CAPTURES / "old_byline.txt").read_text())
    cli("ingest", str(path))
    with Session(engine) as session:
        assert search_articles(session, "Turkmenbashi").article_ids
        assert not search_articles(session, "Kalamkas").article_ids
    path.write_text(path.read_text().replace("Turkmenbashi", "Kalamkas"))
    cli("ingest", str(path))
    with Session(engine) as session:
        assert search_articles(session, "Kalamkas").article_ids
        assert not search_articles(session, "Turkmenbashi").article_ids


def _bad_files(directory: Path) -> dict[str, str]:
    """File name -> the reason the user must read."""
    (directory / "empty.txt").write_bytes(b"")
    (directory / "blank.txt").write_text("   \n\n  ")
    (directory / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)))
    (directory / "latin1.txt").write_bytes("By Jane Doe\n\nAzərbaycan — café".encode("cp1252", "replace") + b"\xe9\xff")
    (directory / "footer.txt").write_text((CAPTURES / "only_footer.txt").read_text())
    (directory / "broken.jsonl").write_text('{"title": "ok", "text": "Fine text about Armenia and its neighbours."}\n{not json\n')
    (directory / "nosuch.txt").unlink(missing_ok=True)
    return {
        "empty.txt": "empty file",
        "blank.txt": "empty file",
        "binary.txt": "binary",
        "latin1.txt": "not UTF-8",
        "footer.txt": "no article found",
        "broken.jsonl": "line 2",
        "nosuch.txt": "cannot read",
    }


def test_bad_files_fail_alone_and_leave_the_database_as_it_was(cli, engine, tmp_path):
    cli("ingest", str(SAMPLE))
    before = table_counts(engine)
    expected = _bad_files(tmp_path)
    good = tmp_path / "good.txt"
    good.write_text((CAPTURES / "field_report.txt").read_text())
    paths = [str(tmp_path / name) for name in expected] + [str(good)]
    result = cli("ingest", *paths)
    assert result.exit_code == 1
    assert result.stdout.strip().endswith("1 new, 0 updated, 0 unchanged, 7 failed")
    failure_lines = [line for line in result.stderr.splitlines() if ": failed: " in line]
    assert len(failure_lines) == 7
    for name, reason in expected.items():
        (line,) = [line for line in failure_lines if line.startswith(str(tmp_path / name) + ":")]
        assert reason in line, line
    after = table_counts(engine)
    assert after["article"] == before["article"] + 1


def test_utf16_with_bom_is_read(cli, tmp_path):
    path = tmp_path / "utf16.txt"
    path.write_bytes(codecs.BOM_UTF16_LE + (CAPTURES / "field_report.txt").read_text().encode("utf-16-le"))
    result = cli("ingest", str(path))
    assert result.exit_code == 0 and "1 new" in result.stdout


def test_absurdly_large_file_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "MAX_FILE_BYTES", 1000)
    path = tmp_path / "big.txt"
    path.write_text((CAPTURES / "field_report.txt").read_text() * 5)
    result = cli("ingest", str(path))
    assert result.exit_code == 1
    assert "too large" in result.stderr


def test_a_failure_mid_file_rolls_back_the_whole_file(cli, engine, tmp_path, monkeypatch):
    from bot.ingest import persist

    cli("ingest", str(CAPTURES / "old_byline.txt"))
    before = table_counts(engine)
    original = persist.enrich
    calls = {"n": 0}

    def failing(*args, **kwargs):  # noqa: ANN002, ANN003
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("disk on fire")
        return original(*args, **kwargs)

    monkeypatch.setattr(persist, "enrich", failing)
    result = cli("ingest", str(SAMPLE))
    assert result.exit_code == 1
    assert "RuntimeError: disk on fire" in result.stderr
    assert table_counts(engine) == before


def test_jsonl_import(cli, engine, tmp_path):
    rows = [
        {
            "title": "Kazakhstan Expands Aktau Port",
            "author": "A. Analyst",
            "published": "2025-10-01",
            "sections": [
                {"name": "Lede", "text": "Kazakhstan expanded the port of Aktau on the Caspian Sea in September 2025."},
                {"name": "CONCLUSIONS", "text": "Trade across the Caspian is likely to grow."},
            ],
            "url": "https://example.org/aktau",
        },
        {"text": "Uzbekistan and Kyrgyzstan agreed on a border deal in March 2025.\n\nThe deal will open roads."},
    ]
    path = tmp_path / "articles.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = cli("ingest", str(path))
    assert result.exit_code == 0, result.stderr
    assert "2 new" in result.stdout
    articles = {a["lede"][:10]: a for a in json.loads(cli("articles", "--json").stdout)}
    aktau = articles["Kazakhstan"]
    assert aktau["url"] == "https://example.org/aktau"
    assert aktau["sections"] == ["Lede", "Conclusions"]
    untitled = articles["Uzbekistan"]
    assert untitled["title_inferred"] and untitled["url"] is None
    assert untitled["published"] == "2025-03-01" and untitled["date_inferred"]


def test_progress_lines_for_several_files(cli, tmp_path):
    for i in range(3):
        capture = (CAPTURES / "field_report.txt").read_text()
        capture = capture.replace("Transport Ministers", f"Transport Ministers, Round {i}")
        (tmp_path / f"f{i}.txt").write_text(capture.replace("Transport ministers", f"In round {i}, transport ministers"))
    result = cli("ingest", str(tmp_path))
    assert "[3/3]" in result.stderr
    assert "3 new, 0 updated, 0 unchanged, 0 failed" in result.stdout


def test_enrich_all_is_repeatable(cli, engine):
    cli("ingest", str(SAMPLE))
    before = table_counts(engine)
    with Session(engine) as session:
        mentions = session.execute(
            select(Mention.article_id, Mention.entity_key, Mention.mentions).order_by(Mention.article_id, Mention.entity_key)
        ).all()
    result = cli("enrich", "--all")
    assert result.exit_code == 0 and "enriched 5 articles" in result.stdout
    assert table_counts(engine) == before
    with Session(engine) as session:
        again = session.execute(
            select(Mention.article_id, Mention.entity_key, Mention.mentions).order_by(Mention.article_id, Mention.entity_key)
        ).all()
    assert again == mentions


def test_migrations_round_trip_and_match_the_models(database_url):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from bot.store.db import downgrade, include_object, make_engine, upgrade

    engine = make_engine(database_url)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"include_object": include_object, "compare_type": True}
        )
        diff = compare_metadata(context, SQLModel.metadata)
    assert diff == []
    downgrade(engine, "base")
    upgrade(engine)
    engine.dispose()


def test_an_unmigrated_database_gets_a_clear_instruction(tmp_path, monkeypatch):
    from tests.conftest import Cli

    cli = Cli(f"sqlite:///{tmp_path / 'fresh.db'}", monkeypatch)
    result = cli("articles")
    assert result.exit_code == 2
    assert "run `briefbot db upgrade`" in result.stderr
    assert cli("db", "upgrade").exit_code == 0
    assert cli("articles").exit_code == 0


def test_events_and_figures_for_operators(cli):
    cli("ingest", str(SAMPLE))
    events = json.loads(cli("events", "Armenia", "--json").stdout)
    assert events and all("c:AM" in e["entities"] for e in events)
    assert [e["date"] for e in events] == sorted((e["date"] for e in events), reverse=True)
    meeting = [e for e in events if e["date"] == "2024-10-08"]
    assert meeting and meeting[0]["precision"] == "day" and not meeting[0]["year_inferred"]
    assert "AM" in meeting[0]["countries"] and "Pashinyan" in meeting[0]["sentence"]
    figures = json.loads(cli("figures", "Armenia", "--json").stdout)
    assert any(f["phrase"] == "US$ 12.4 billion" and f["kind"] == "money" for f in figures)
    plain = cli("events", "caspian")
    assert plain.exit_code == 0 and "Caspian" in plain.stdout
    unknown = cli("events", "Atlantis")
    assert unknown.exit_code == 2 and "unknown" in unknown.stderr


def test_a_topic_added_to_the_yaml_goes_live_with_enrich_all(cli, tmp_path, monkeypatch):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parent.parent / "data", data)
    monkeypatch.setenv("DATA_DIR", str(data))
    cli("ingest", str(SAMPLE))
    assert cli("topic", "aviation").exit_code == 1
    with (data / "topics.yaml").open("a", encoding="utf-8") as handle:
        handle.write(
            "  - key: aviation\n    name: Aviation\n    emoji: \"✈️\"\n"
            "    description: Air crashes, airlines and air defence incidents\n"
            "    phrases: [Azerbaijan Airlines, airliner, Embraer, plane incident]\n    related: [security]\n"
        )
    assert cli("enrich", "--all").exit_code == 0
    result = cli("topic", "aviation")
    assert result.exit_code == 0, result.stdout
    assert "Aviation · topic briefing" in result.stdout and "Embraer" in result.stdout


def test_a_bulk_load_refreshes_planner_statistics(engine, knowledge, monkeypatch):
    monkeypatch.setattr(loader, "ANALYZE_AFTER", 5)
    loader.ingest_paths(engine, [SAMPLE], knowledge)
    with engine.connect() as connection:
        if engine.dialect.name == "postgresql":
            analysed = connection.execute(
                text(
                    "SELECT count(*) FROM pg_stat_user_tables WHERE relname = 'sentence_entity' "
                    "AND schemaname = current_schema() AND last_analyze IS NOT NULL"
                )
            ).scalar_one()
        else:
            analysed = connection.execute(
                text("SELECT count(*) FROM sqlite_stat1 WHERE tbl = 'sentence_entity'")
            ).scalar_one()
    assert analysed >= 1
