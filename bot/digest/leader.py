"""Who plans, and who is alive: PostgreSQL advisory locks for the digest workers.

Owns one dedicated database connection per worker process, held for the process's life:
- the scheduler leader lock (`pg_try_advisory_lock` on one fixed key): only its holder
  plans digests, so two bot processes never schedule the same period twice (the unique
  (subscription, period) row would refuse it anyway);
- the worker's presence lock (a key derived from its worker id): a claim whose owner's
  presence lock can be taken belongs to a dead process and may be released.
Both are session locks: PostgreSQL drops them when the process dies and its connection
closes, which is exactly the liveness signal wanted.

SQLite has no such locks: one digest process per database is assumed, so this process is
always the leader and every other worker id is taken as dead. Run the bot (or
`briefbot digest run`) once per SQLite database; use PostgreSQL for more.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
import zlib

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)

LEADER_KEY = 0x42424447  # "BBDG": one cluster-wide key for the digest scheduler
PRESENCE_NAMESPACE = 0x42425752  # "BBWR": first half of a worker's two-part key


def new_worker_id(name: str | None = None) -> str:
    """Unique per process start: host (or dyno), pid and a random suffix."""
    base = name or os.environ.get("DYNO") or socket.gethostname()
    return f"{base}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:100]


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= (1 << 31) else value


def presence_key(worker: str) -> tuple[int, int]:
    return _signed32(PRESENCE_NAMESPACE), _signed32(zlib.crc32(worker.encode("utf-8")))


class Leadership:
    """This worker's locks; `is_leader` and `is_alive` are cheap enough to call every tick."""

    def __init__(self, engine: Engine, worker: str) -> None:
        self.engine = engine
        self.worker = worker
        self.postgres = engine.dialect.name == "postgresql"
        self._connection: Connection | None = None
        self._leader = False

    def _conn(self) -> Connection:
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT 1"))
                return self._connection
            except DBAPIError:
                log.warning(
                    "digest worker %s lost its lock connection; locks are gone", self.worker
                )
                self._drop()
        connection = self.engine.connect()
        # Autocommit: session locks must not hang on an open transaction.
        connection = connection.execution_options(isolation_level="AUTOCOMMIT")
        namespace, key = presence_key(self.worker)
        connection.execute(text("SELECT pg_advisory_lock(:n, :k)"), {"n": namespace, "k": key})
        self._connection = connection
        self._leader = False
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            try:
                self._connection.invalidate()
                self._connection.close()
            except DBAPIError:
                pass
        self._connection = None
        self._leader = False

    def start(self) -> None:
        """Announce this worker as alive (PostgreSQL); nothing to do on SQLite."""
        if self.postgres:
            self._conn()

    def try_lead(self) -> bool:
        """Become (or stay) the scheduler leader; False while another process holds it."""
        if not self.postgres:
            return True
        connection = self._conn()
        if not self._leader:
            self._leader = bool(
                connection.execute(
                    text("SELECT pg_try_advisory_lock(:k)"), {"k": LEADER_KEY}
                ).scalar()
            )
            if self._leader:
                log.info("digest worker %s is the scheduler leader", self.worker)
        return self._leader

    def is_alive(self, worker: str) -> bool:
        """Whether another worker's process still runs (holds its presence lock)."""
        if worker == self.worker:
            return True
        if not self.postgres:
            return False
        connection = self._conn()
        namespace, key = presence_key(worker)
        taken = bool(
            connection.execute(
                text("SELECT pg_try_advisory_lock(:n, :k)"), {"n": namespace, "k": key}
            ).scalar()
        )
        if taken:
            connection.execute(
                text("SELECT pg_advisory_unlock(:n, :k)"), {"n": namespace, "k": key}
            )
        return not taken

    def close(self) -> None:
        """Give up leadership and presence (a pooled connection would otherwise keep them)."""
        if self._connection is not None:
            try:
                self._connection.execute(text("SELECT pg_advisory_unlock_all()"))
                self._connection.close()
            except DBAPIError:
                self._drop()
        self._connection = None
        self._leader = False
