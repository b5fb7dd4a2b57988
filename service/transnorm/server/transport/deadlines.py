"""Deadlines: when a transfer must be done, and one sweep per worker that enforces them all.

A connection waiting on its socket arms no timer of its own: :class:`Sweeper` looks at every
waiting connection each :data:`TICK` seconds, so 10,000 slow clients cost one timer, not one
per read. A deadline is therefore enforced within a tick of when it falls.
"""

from __future__ import annotations

import time
from typing import Protocol

import gevent

#: How often the sweeper looks at the connections that wait (and how late a deadline may be).
TICK = 0.25


class DeadlineExceeded(Exception):
    """The client did not send (or read) the request or its response in time."""


class Deadline:
    """When a transfer must be done: ``grace`` seconds from now plus one per ``min_rate`` bytes
    moved (at most ``max_extension`` seconds more), never after ``limit`` (``time.monotonic()``)."""

    __slots__ = ("_base", "_cap", "_limit", "_rate", "moved")

    def __init__(
        self, grace: float, min_rate: int, limit: float | None = None, max_extension: float | None = None
    ) -> None:
        self._base = time.monotonic() + grace
        self._rate = float(max(1, min_rate))
        self._limit = limit
        self._cap = max_extension
        self.moved = 0

    def at(self, extra: int = 0) -> float:
        """When it falls, with ``extra`` bytes moved beyond those counted."""
        extension = (self.moved + extra) / self._rate
        if self._cap is not None and extension > self._cap:
            extension = self._cap
        at = self._base + extension
        return at if self._limit is None or at < self._limit else self._limit


class Watched(Protocol):
    def check(self, now: float) -> bool:
        """Enforce the deadline at ``now``; False once there is nothing left to watch."""
        ...


class Sweeper:
    """Checks the connections that wait, every :data:`TICK` seconds, in one greenlet."""

    def __init__(self) -> None:
        self.waiting: set[Watched] = set()
        self._greenlet: gevent.Greenlet | None = None

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill(block=False)

    def _run(self) -> None:
        while True:
            gevent.sleep(TICK)
            self.sweep(time.monotonic())

    def sweep(self, now: float) -> None:
        """Check every waiting connection (a function of its own: while the sweeper sleeps, its
        frame holds none of them)."""
        for watched in tuple(self.waiting):
            if not watched.check(now):
                self.waiting.discard(watched)
