"""A client connection: a plain non-blocking socket whose reads and writes wait on the event loop,
each under the deadline the :class:`~.deadlines.Sweeper` enforces.

What the kernel already knows keeps the worker asleep: a slow sender's socket wakes the worker
only once a whole slice of the body it still owes has arrived (``SO_RCVLOWAT``), and the
deadline credits bytes received but not read yet (``FIONREAD``) and bytes the client has
acknowledged (``TIOCOUTQ``), so buffers a client has not read earn it nothing.
"""

from __future__ import annotations

import contextlib
import fcntl
import socket
import struct
import termios
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent.event import Event

from .deadlines import TICK, Deadline, DeadlineExceeded, Sweeper

#: The most one recv asks for (gunicorn asks for up to 1 MiB: a buffer that size, every time).
RECV_BYTES = 64 * 1024
#: A read of a body that brings fewer bytes than this marks a slow sender: the socket then wakes
#: the worker only once it holds this much of the body, or all of it.
SLOW_READ = 4096
BODY_SLICE = 16 * 1024
#: Writes held (the status line and headers, a small body) until they go out in one send.
HOLD_BYTES = 64 * 1024
#: After an error the worker answers itself, it reads and drops what the client still sends for
#: this long (at most LINGER_BYTES), so that the client reads the answer rather than a reset.
LINGER_SECONDS = 2.0
LINGER_BYTES = 256 * 1024
#: While a response is flushed, the client's acknowledgements are looked at after a tick, then
#: twice as long each time, up to FLUSH_POLL_MAX seconds (nothing wakes the worker when the
#: kernel's send queue empties): a client that does not read costs a few looks, not one a tick.
FLUSH_POLL_MAX = 2.0

_INT = struct.Struct("i")


class Connection:
    """A client socket as gunicorn's parser and response use it (``recv``, ``sendall``).

    ``watch`` sets the deadline of what the connection does next: reading (bytes received count)
    or writing a response (bytes acknowledged count). ``state`` is "new" (nothing received),
    "idle" (between requests) or "busy".
    """

    def __init__(self, sock: socket.socket, addr: Any, sweeper: Sweeper) -> None:
        self.sock = sock
        self.addr = addr
        self._sweeper = sweeper
        self._hub = gevent.get_hub()
        self._reader = self._hub.loop.io(sock.fileno(), 1)
        self._writer = self._hub.loop.io(sock.fileno(), 2)
        self.deadline: Deadline | None = None
        self._writing = False
        self.expired = False
        #: Called with the connection on the first bytes of a request (to start its header
        #: deadline); it is given the connection rather than holding it, so no cycle is made.
        self.on_first_bytes: Callable[[Connection], None] | None = None
        self.received = 0  # bytes of the current request
        self.sent = 0  # bytes ever sent on this connection
        self._response_start = 0
        self.state = "new"
        self._body_left = 0
        self._lowat = 1
        self._held: list[bytes] | None = None
        self._flushed: Event | None = None
        self._flush_poll = TICK

    # -- deadlines ------------------------------------------------------------------------------

    def watch(self, deadline: Deadline | None, writing: bool = False) -> None:
        """Bound what the connection does next by ``deadline`` (None: nothing is bounded)."""
        self.deadline = deadline
        self._writing = writing
        if deadline is None:
            self._sweeper.forget(self)
        else:
            self._sweeper.watch(self, deadline.at())

    def check(self, now: float) -> float | None:
        """The sweeper's look: cut the connection if its deadline has passed; else when to look
        again (None: nothing left to watch). Bytes moved only push a deadline later, so a look
        before the deadline as last known is never needed."""
        deadline = self.deadline
        if deadline is None or self.expired:
            return None
        flushing = self._flushed
        if flushing is not None:
            left = self.unacknowledged()
            deadline.moved = self.sent - self._response_start - left
            if not left:
                flushing.set()
                return None
        at = deadline.at()
        if now >= at:
            if self._writing:
                if flushing is None:
                    deadline.moved = self.sent - self._response_start - self.unacknowledged()
                at = deadline.at()
            else:
                at = deadline.at(self.pending())
            if now >= at:
                self.expire()
                return None
        if flushing is None:
            return at
        poll, self._flush_poll = self._flush_poll, min(2 * self._flush_poll, FLUSH_POLL_MAX)
        return min(at, now + poll)

    def expire(self) -> None:
        """The deadline has passed: what waits on the socket raises :class:`DeadlineExceeded`."""
        self.expired = True
        error = DeadlineExceeded("the deadline passed")
        self._hub.cancel_wait(self._reader, error)
        self._hub.cancel_wait(self._writer, error)
        if self._flushed is not None:
            self._flushed.set()

    def pending(self) -> int:
        """Bytes received by the kernel, not read yet."""
        return self._ioctl(termios.FIONREAD)

    def unacknowledged(self) -> int:
        """Bytes sent but not acknowledged by the client (SIOCOUTQ); 0 where unknown."""
        return self._ioctl(termios.TIOCOUTQ)

    def _ioctl(self, request: int) -> int:
        try:
            return _INT.unpack(fcntl.ioctl(self.sock.fileno(), request, b"\0\0\0\0"))[0]
        except OSError:
            return 0

    # -- reading ------------------------------------------------------------------------------

    def expect_body(self, length: int) -> None:
        """``length`` bytes of body are still to come on the socket (an underestimate is safe)."""
        self._body_left = max(0, length)

    def end_body(self) -> None:
        self._body_left = 0
        self._set_lowat(1)

    def recv(self, size: int, *flags: int) -> bytes:
        size = min(size, RECV_BYTES)
        while True:
            if self.expired:
                raise DeadlineExceeded("the request did not arrive in time")
            try:
                data = self.sock.recv(size)
                break
            except BlockingIOError:
                pass
            # Waited for outside the except block: a waiting greenlet would hold the exception
            # and its traceback for as long as it waits.
            self._hub.wait(self._reader)
        if data:
            if self.received == 0 and self.on_first_bytes is not None:
                self.on_first_bytes(self)
            self.received += len(data)
            if self.deadline is not None:
                self.deadline.moved += len(data)
            if self._body_left:
                self._body_left = max(0, self._body_left - len(data))
                self._set_lowat(min(self._body_left, BODY_SLICE) if len(data) < SLOW_READ else 1)
        return data

    def _set_lowat(self, value: int) -> None:
        value = max(1, value)
        if value != self._lowat:
            with contextlib.suppress(OSError):
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVLOWAT, value)
                self._lowat = value

    # -- writing ------------------------------------------------------------------------------

    def start_response(self, deadline: Deadline) -> None:
        """The response starts: its writes are held until :meth:`release` (one send for a
        small response) and bounded by ``deadline``, credited with what the client reads."""
        self._response_start = self.sent
        self._held = []
        self.watch(deadline, writing=True)

    def release(self) -> None:
        """Send what is held."""
        held, self._held = self._held, None
        if held:
            self._send(b"".join(held))

    def sendall(self, data: bytes | memoryview) -> None:
        held = self._held
        if held is not None:
            if sum(map(len, held)) + len(data) <= HOLD_BYTES:
                held.append(bytes(data))
                return
            self.release()
        self._send(data)

    def send(self, data: bytes, *flags: int) -> int:
        self.sendall(data)
        return len(data)

    def _send(self, data: bytes | memoryview) -> None:
        view = memoryview(data).cast("B")
        while view.nbytes:
            if self.expired:
                raise DeadlineExceeded("the response was not read in time")
            try:
                count = self.sock.send(view)
            except BlockingIOError:
                count = 0
            if not count:
                self._hub.wait(self._writer)
                continue
            view = view[count:]
            self.sent += count

    def flush(self) -> None:
        """Wait until the client has acknowledged the whole response, under the write deadline: a
        response the kernel holds for a client that does not read is not delivered."""
        if self.deadline is None or not self.unacknowledged():
            return
        self._flushed = Event()
        self._flush_poll = 2 * TICK
        self._sweeper.watch(self, time.monotonic() + TICK)
        try:
            self._flushed.wait()
        finally:
            self._flushed = None
        if self.expired:
            raise DeadlineExceeded("the response was not read in time")

    # -- the rest, as the socket -------------------------------------------------------------

    def fileno(self) -> int:
        return self.sock.fileno()

    def getpeername(self) -> Any:
        return self.sock.getpeername()

    def getsockname(self) -> Any:
        return self.sock.getsockname()

    def reset(self) -> None:
        """Close with a reset: the kernel drops what the client has not read."""
        with contextlib.suppress(OSError):
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close()

    def answer_and_close(self, response: bytes) -> None:
        """Send a short response of the worker's own (within a second), then close lingering."""
        self._reuse()
        self.watch(Deadline(1.0, 1, max_extension=0), writing=True)
        with contextlib.suppress(OSError, DeadlineExceeded):
            self._send(response)
        self.linger_close()

    def _reuse(self) -> None:
        """Past a deadline, the connection may still say why and linger before it closes."""
        self.expired = False
        self._held = None
        self.on_first_bytes = None
        self.end_body()

    def linger_close(self) -> None:
        """Close after reading (and dropping) what the client still sends, for a short while."""
        self._reuse()
        self.watch(Deadline(LINGER_SECONDS, 1, max_extension=0))
        drained = 0
        with contextlib.suppress(OSError, DeadlineExceeded):
            self.sock.shutdown(socket.SHUT_WR)
            while drained < LINGER_BYTES:
                data = self.recv(RECV_BYTES)
                if not data:
                    break
                drained += len(data)
        self.close()

    def close(self) -> None:
        self.deadline = None
        self._sweeper.forget(self)
        self._reader.close()
        self._writer.close()
        self.sock.close()
