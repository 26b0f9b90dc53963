"""Operator statistics for /stats and `briefbot stats`."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlmodel import Session

from bot.store.models import Article, Chat, DigestRun, Source, Subscription


def operator_stats(session: Session) -> list[str]:
    articles = session.execute(select(func.count()).select_from(Article)).scalar_one()
    sources = session.execute(select(func.count()).select_from(Source)).scalar_one()
    unhealthy = session.execute(select(func.count()).select_from(Source).where(Source.healthy.is_(False))).scalar_one()
    last_ingest = session.execute(select(func.max(Article.ingested_at))).scalar()
    subscribers = session.execute(
        select(func.count()).select_from(Subscription).join(Chat, Chat.id == Subscription.chat_id).where(
            Subscription.active, Chat.active
        )
    ).scalar_one()
    run = session.execute(select(DigestRun).order_by(DigestRun.id.desc()).limit(1)).scalars().first()
    lines = [
        "📊 <b>Briefbot statistics</b>",
        f"Articles: {articles}",
        f"Sources: {sources}" + (f" ({unhealthy} unhealthy)" if unhealthy else ""),
        f"Subscribers: {subscribers}",
        f"Last ingest: {last_ingest:%Y-%m-%d %H:%M} UTC" if last_ingest else "Last ingest: never",
    ]
    if run:
        lines.append(
            f"Last digest run ({run.at:%Y-%m-%d %H:%M} UTC): {run.sent} sent, {run.failed} failed, "
            f"{run.skipped} skipped, {run.uncertain} uncertain"
        )
    else:
        lines.append("Last digest run: none yet")
    return lines
