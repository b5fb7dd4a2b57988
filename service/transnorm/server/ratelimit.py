"""Per-client request limits (``TRANSNORM_REQUESTS_PER_MINUTE``), shared by all workers.

A fixed one-minute window per client: its API key when it sends one (stored hashed), else its
address. Under gunicorn the counts live in a small SQLite file in the workers' shared directory,
so two workers do not allow twice the limit; in a single process they can live in memory.

The time comes from the limiter's ``clock``, or else from :data:`default_clock`, looked up at
each request: tests replace it to move every limiter of a process (or, from a start-up hook,
of a gunicorn worker) through windows without waiting for the wall clock.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

WINDOW = 60.0

#: The time, in seconds since the epoch, for limiters given no clock of their own.
default_clock: Callable[[], float] = time.time


class RateLimiter:
    """Counts requests per client and window; :meth:`hit` says when a client is over its limit.

    ``path`` is the SQLite file the workers share; None keeps the counts in this process's memory.
    ``clock`` gives the time (default: :data:`default_clock`, read at each hit).
    """

    def __init__(
        self, per_minute: int, path: Path | None = None, clock: Callable[[], float] | None = None
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._swept = -1
        # Autocommit; each hit is one atomic upsert, serialized across processes by SQLite.
        self._db = sqlite3.connect(
            ":memory:" if path is None else path, timeout=10, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=OFF")  # counts are disposable: no fsync per request
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS hits (client TEXT, window INTEGER, n INTEGER, "
            "PRIMARY KEY (client, window))"
        )

    def hit(self, client: str, cost: int = 1) -> float | None:
        """Count a request of ``client`` weighing ``cost``; None if allowed, else seconds until it
        may retry."""
        now = (self.clock or default_clock)()
        window = int(now // WINDOW)
        key = hashlib.sha256(client.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        with self._lock:
            if window != self._swept:
                self._db.execute("DELETE FROM hits WHERE window < ?", (window,))
                self._swept = window
            (count,) = self._db.execute(
                "INSERT INTO hits VALUES (?, ?, ?) ON CONFLICT (client, window) "
                "DO UPDATE SET n = n + excluded.n RETURNING n",
                (key, window, max(1, cost)),
            ).fetchone()
        if count <= self.per_minute:
            return None
        return max(1.0, math.ceil((window + 1) * WINDOW - now))
