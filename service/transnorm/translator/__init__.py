"""The translation process: the one process of a host that holds the loaded packages.

HTTP workers, batch workers, the JSON-lines stream and the library (when
``TRANSNORM_TRANSLATOR_SOCKET`` names it) plan and assemble their documents themselves and send
the sentences to translate here; so a package is in memory once per host however many processes
serve, and the sentences of every process waiting at a moment share one model call::

    worker: plan ─ Requests ─▶ Unix socket ─▶ translation process ─▶ SharedTranslator ─▶ engine
    worker: assemble ◀─ Results ─────────────────────────┘   (packages loaded on demand, LRU-bounded)

* :class:`TranslatorServer` runs in the translation process: a thread per connection (one per
  client process) hands each call to one :class:`~transnorm.translate.SharedTranslator` over the
  engine and writes the results back as they come (calls of one connection may overlap).
* :class:`TranslatorClient` *is* a translate strategy (``Pipeline.pipe(items, translate=client)``):
  one connection per client process, shared by its threads (or greenlets), each call a frame with
  an id. When the process dies with sentences in flight, or does not answer within
  ``translator_timeout``, those sentences come back as :class:`~transnorm.translate.Failure`
  (``untranslated``, ``reason: engine-error``): never a hung request.
* :class:`TranslatorProcess` starts the process (``python -m transnorm.translator serve``, or a fork
  carrying a given engine), restarts it when it dies and stops it: the gunicorn master (see
  ``server/host.py``) and each batch run own one.

Mechanism, chosen by measurement (``transnorm bench --only ipc``; the numbers in docs/benchmarks.md):
length-prefixed pickle frames over a Unix stream socket. A round trip costs tens of microseconds,
a sentence's translation tens of milliseconds or more, so the transport is never the bottleneck;
shared-memory queues would save microseconds but wait in ``sem_wait`` and
``multiprocessing.connection`` reads with ``os.read``: both block a gevent worker's event loop,
while a stdlib socket, monkey-patched, yields. One threaded process instead (all workers in one
process) measured slower: planning and assembling are Python, under one GIL. Frames carry only
tuples of strings and numbers, and the unpickler refuses every class; the socket is private to
its user (mode 0600, in a 0700 folder when transnorm picks it) and the peer's uid is checked.
"""

from .client import TranslatorClient, translate_strategy
from .process import TranslatorProcess
from .server import TranslatorServer, listen, reachable, serve
from .wire import START_TIMEOUT, TranslatorError, _decode_results, _encode_results, _Frames

__all__ = [
    "START_TIMEOUT",
    "TranslatorClient",
    "TranslatorError",
    "TranslatorProcess",
    "TranslatorServer",
    "_Frames",
    "_decode_results",
    "_encode_results",
    "listen",
    "reachable",
    "serve",
    "translate_strategy",
]
