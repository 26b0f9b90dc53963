"""A digest worker process for the crash and two-process tests: `briefbot digest ...`.

Runs the digest CLI (`bot.digest.cli`) exactly as `briefbot digest run` would, without
depending on the main parser's wiring; configuration comes from the environment
(DATABASE_URL, TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, DIGEST_*).

    python tests/digest_worker.py run --at 2026-03-09T09:00Z --worker w1 --json
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli import Context  # noqa: E402
from bot.config import load_settings  # noqa: E402
from bot.digest.cli import register  # noqa: E402
from bot.logging_setup import configure_logging  # noqa: E402


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="digest_worker")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["digest", *argv])
    settings = load_settings()
    configure_logging("WARNING")
    context = Context(settings)
    barrier = os.environ.get("DIGEST_WORKER_BARRIER")
    if barrier:
        # Tests that start several workers line them up after the slow part of start-up (the
        # knowledge, the engine), so that one interpreter starting late on a busy machine does
        # not leave all the work to the other.
        context.knowledge, context.engine  # noqa: B018 - loaded for their side effect
        wait_for_each_other(Path(barrier), args.worker)
    return args.handler(args, context)


def wait_for_each_other(barrier: Path, name: str, timeout: float = 60.0) -> None:
    """Say this worker is ready, then wait for every worker the barrier file names."""
    expected = barrier.read_text(encoding="utf-8").split()
    (barrier.parent / f"{barrier.name}.{name}").touch()
    deadline = time.monotonic() + timeout
    while not all((barrier.parent / f"{barrier.name}.{other}").exists() for other in expected):
        if time.monotonic() > deadline:
            raise SystemExit(f"digest worker {name}: the others never got ready")
        time.sleep(0.02)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
