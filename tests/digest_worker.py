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
    # Tests that start several workers line them up on a common start time, so that the
    # interpreter start-up of one does not hand all the work to the other.
    start_at = os.environ.get("DIGEST_WORKER_START_AT")
    if start_at:
        time.sleep(max(0.0, float(start_at) - time.time()))
    parser = argparse.ArgumentParser(prog="digest_worker")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["digest", *argv])
    settings = load_settings()
    configure_logging("WARNING")
    return args.handler(args, Context(settings))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
