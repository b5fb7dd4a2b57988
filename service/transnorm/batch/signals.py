"""Signals during a batch run: SIGTERM and SIGINT raised where the run is (:class:`StopSignals`), held
while a record is half reported, ignored once the run winds down; :class:`Interrupted` when one
came before the run took its lock (nothing was written)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from typing import Any

from ..errors import TransnormError


class Interruption(BaseException):
    """Raised where the run is when a signal comes: a BaseException, like KeyboardInterrupt, so
    that no ``except Exception`` on the way (the engine's error isolation) takes it for an error
    of what was being done."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Interrupted(TransnormError):
    """A signal stopped the run before it took the output folder's lock: nothing was written."""

    def __init__(self, signum: int) -> None:
        name = signal.Signals(signum).name
        super().__init__(f"stopped by {name} before the run started; nothing was written")
        self.signum = signum


class StopSignals:
    """SIGTERM and SIGINT as :class:`Interruption`, raised where the run is, except inside a
    :meth:`held` block (a record half reported), where it waits for the block's end. Once the run
    winds down (:attr:`winding_down`), further signals are ignored."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.winding_down = False
        self._holding = 0

    def _handler(self, signum: int, _frame: Any) -> None:
        if self.signum is not None or self.winding_down:
            return
        self.signum = signum
        if not self._holding:
            raise Interruption(signum)

    def hold(self) -> None:
        """Signals wait until :meth:`release`."""
        self._holding += 1

    def release(self) -> None:
        """Raise the signal that came while held, if this was the last hold."""
        self._holding -= 1
        if self.signum is not None and not self._holding and not self.winding_down:
            raise Interruption(self.signum)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.hold()
        try:
            yield
        except BaseException:
            self._holding -= 1
            raise
        self.release()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        """The handlers for the block (then the previous ones again)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.signal(sig, self._handler) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)
