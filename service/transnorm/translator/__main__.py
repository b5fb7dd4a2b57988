"""``python -m transnorm.translator``: the host's translation process in the foreground."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from ..errors import TransnormError
from ..settings import Settings
from .process import TranslatorProcess
from .server import serve


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m transnorm.translator [--socket PATH]``: run the host's translation process in
    the foreground (restarted when it dies) until SIGTERM or Ctrl-C. ``serve`` is the process
    itself (what the owner starts)."""
    parser = argparse.ArgumentParser(prog="python -m transnorm.translator", description=main.__doc__)
    parser.add_argument("mode", nargs="?", choices=("host", "serve"), default="host")
    parser.add_argument("--socket", type=Path, help="its Unix socket (default: TRANSNORM_TRANSLATOR_SOCKET)")
    parser.add_argument("--ready-fd", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    path = args.socket or settings.pipeline.translator_socket
    if path is None:
        parser.error("give --socket or set TRANSNORM_TRANSLATOR_SOCKET")
    try:
        if args.mode == "serve":
            serve(settings, path, args.ready_fd)
            return 0
        owner = TranslatorProcess(settings, path).start()
    except TransnormError as exc:
        print(f"transnorm translator: {exc}", file=sys.stderr)
        return 4
    print(f"transnorm translator: listening at {path} (pid {owner.pid})", file=sys.stderr, flush=True)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    owner.watch()
    stop.wait()
    owner.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
