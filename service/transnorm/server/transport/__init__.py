"""Connections: an evented gunicorn worker where a slow or idle client holds a greenlet, never a thread.

:class:`Worker` (:mod:`.worker`) is gunicorn's gevent worker with its request path replaced, and
without monkey-patching: the app keeps real OS threads and real locks. On the event loop, each
connection (:mod:`.connection`) is a greenlet that (:mod:`.exchange`)

* reads the request's headers within ``header_timeout`` seconds, extended by one second per
  ``min_rate`` bytes up to three times that (Apache ``mod_reqtimeout``'s ``header=10-30,MinRate``);
  a connection that sends nothing at all is closed silently then, an idle keep-alive connection
  after ``keepalive`` seconds;
* answers framing errors itself (:mod:`.replies`): 400 (an HTTP/1.1 request without exactly one
  valid Host, as RFC 9112 requires, or malformed), 414, 431, 501 (a transfer coding other than
  chunked);
* reads and buffers the whole body within ``body_timeout`` seconds, extended by one second per
  ``min_rate`` bytes without a cap, with Content-Length or chunked alike (a body past 64 KiB waits
  in a temporary file), as a buffering proxy would; a body too slow is answered 408 in the format
  of the route it addresses, without taking a thread;
* hands the complete request to a pool of ``http_threads`` OS threads (gevent's threadpool), which
  run the WSGI app and render the whole response;
* writes the response within ``body_timeout`` seconds, extended by one second per ``min_rate``
  bytes the client has acknowledged (the kernel's count, so buffers it has not read earn
  nothing): a slow reader is cut with a reset, which frees the kernel's buffers too.

No connection arms a timer of its own: one sweep per worker enforces every deadline
(:mod:`.deadlines`). ``request_timeout`` bounds every request from its first byte to its last: a
body or response still moving then is cut (408 while reading), an app that has not answered gets
503. A worker holds ``max_connections`` connections; more are answered 503 at once. Under
pressure (over 90 % of them) and after 1,000 requests a connection is not kept alive. On SIGTERM
the worker accepts what is already queued on its listener, closes it, closes idle connections and
finishes every request in flight (``graceful_timeout``). Every response the worker writes itself
carries the app's security headers (:mod:`..headers`).

The app's side of the contract is below: the body is read before the app runs; a malformed
chunked body raises its gunicorn error when the app reads it (:func:`framing_errors`), and the app
answers 400 in its route's format; :func:`close_after` closes the connection after the response.
"""

from __future__ import annotations

from typing import Any

from gunicorn.http.errors import NoMoreData, ParseException

from .exchange import CLOSE_KEY
from .worker import Worker

__all__ = ["CLOSE_KEY", "Worker", "close_after", "framing_errors"]


def close_after(environ: dict[str, Any]) -> None:
    """Close the connection after this response (gunicorn ignores a Connection header set by the
    application)."""
    environ[CLOSE_KEY] = True


def framing_errors() -> tuple[type[BaseException], ...]:
    """The exceptions reading a malformed body raises in the app (gunicorn's, werkzeug's)."""
    from werkzeug.exceptions import ClientDisconnected

    return (ParseException, NoMoreData, ClientDisconnected)
