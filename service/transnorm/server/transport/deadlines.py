"""Deadlines: when a transfer must be done, and one sweep per worker that enforces them all.

A connection waiting on its socket arms no timer of its own: :class:`Sweeper` keeps each one in
the slot of the tick when its deadline, as known, falls (a timing wheel) and looks at the slot
each :data:`TICK` seconds, so 10,000 slow clients cost one timer, not one per read, and a
connection is looked at when its deadline may have come, not every tick. A deadline is
enforced within a tick of when it falls.
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
    def check(self, now: float) -> float | None:
        """Enforce the deadline at ``now``: when to look again (``time.monotonic()``), or None
        once there is nothing left to watch."""
        ...


class Sweeper:
    """Looks at each watched connection when its deadline may have come, in one greenlet."""

    def __init__(self) -> None:
        self._slots: dict[int, set[Watched]] = {}
        self._slot_of: dict[Watched, int] = {}
        self._swept = int(time.monotonic() / TICK)  # every slot up to this one has been looked at
        self._greenlet: gevent.Greenlet | None = None

    def __len__(self) -> int:
        """How many connections are watched."""
        return len(self._slot_of)

    def watch(self, watched: Watched, at: float) -> None:
        """Look at ``watched`` at ``at`` (within a tick after), or sooner if it was due sooner."""
        slot = max(int(at / TICK), self._swept + 1)
        current = self._slot_of.get(watched)
        if current is not None:
            if current <= slot:
                return
            self._slots[current].discard(watched)
        self._slots.setdefault(slot, set()).add(watched)
        self._slot_of[watched] = slot

    def forget(self, watched: Watched) -> None:
        """Stop watching ``watched`` (it closed: the wheel holds no closed connection)."""
        slot = self._slot_of.pop(watched, None)
        if slot is not None:
            self._slots[slot].discard(watched)

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
        """Look at every connection whose slot has come (a function of its own: while the
        sweeper sleeps, its frame holds none of them)."""
        due = int(now / TICK)
        while self._swept < due:
            self._swept += 1
            for watched in self._slots.pop(self._swept, ()):
                del self._slot_of[watched]
                again = watched.check(now)
                if again is not None:
                    self.watch(watched, again)
