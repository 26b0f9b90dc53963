"""Live sources: feeds, article pages and listings polled on a schedule, safely.

  fetch    safe HTTP (scheme and address checks on every hop, deadline, byte cap)
  detect   what a response is (rss, atom, listing, page, capture, jsonl)
  poll     one poll and the schedule: conditional GET, backoff, health, storing
  service  add, list, remove, describe; health for /stats
  cli      `briefbot source ...`
The parsers themselves live in `bot.ingest` (feed, page, listing, capture, jsonl).
"""
