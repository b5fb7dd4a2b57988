"""The wire between a client process and the translation process: length-prefixed frames of plain
tuples (the unpickler refuses every class), requests and results encoded as such, the peer's uid.
"""

from __future__ import annotations

import io
import logging
import pickle
import socket
import struct
from collections.abc import Sequence
from typing import Any

from ..errors import ModelError
from ..translate import Failure, Request, Result, Translation

log = logging.getLogger("transnorm.translator")

_HEADER = struct.Struct("!I")
#: How long a write may stall before the peer is taken for hung, and how often an idle reader wakes.
_IO_TIMEOUT = 10.0
#: How long a starting translation process may take to listen.
START_TIMEOUT = 120.0


class TranslatorError(ModelError):
    """The translation process cannot be started or reached."""


# -- the wire: frames of plain tuples --------------------------------------------------------------


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"refused: {module}.{name} (frames carry plain values only)")


def _send(sock: socket.socket, message: Any) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    sock.sendall(_HEADER.pack(len(payload)))
    sock.sendall(payload)


class _Frames:
    """Reads frames from a socket; a partial frame survives a timeout."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def read(self) -> Any:
        """The next message; ``EOFError`` when the peer has closed."""
        while True:
            if len(self.buffer) >= _HEADER.size:
                (size,) = _HEADER.unpack_from(self.buffer)
                end = _HEADER.size + size
                if len(self.buffer) >= end:
                    payload = bytes(self.buffer[_HEADER.size : end])
                    del self.buffer[:end]
                    return _PlainUnpickler(io.BytesIO(payload)).load()
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk


def _encode_requests(requests: Sequence[Request]) -> list[tuple[Any, ...]]:
    return [(r.lang, r.text, r.target, r.beam_size, r.alternatives) for r in requests]


def _decode_requests(rows: Any) -> list[Request]:
    out = []
    for lang, text, target, beam, alternatives in rows:
        if not all(isinstance(v, str) for v in (lang, text, target)):
            raise ValueError("a request's language, text and target are strings")
        if not (beam is None or isinstance(beam, int)) or not isinstance(alternatives, int):
            raise ValueError("a request's beam size and alternatives are integers")
        out.append(Request(lang, text, target, beam, alternatives))
    return out


def _encode_results(results: Sequence[Result]) -> list[tuple[Any, ...]]:
    return [
        ("t", r.text, r.score, r.tokens, r.alternatives, r.cached)
        if isinstance(r, Translation)
        else ("f", r.error, r.model)
        for r in results
    ]


def _decode_results(rows: Any) -> list[Result]:
    return [Translation(*row[1:]) if row[0] == "t" else Failure(*row[1:]) for row in rows]


def _peer(sock: socket.socket) -> tuple[int | None, int | None]:
    """The (pid, uid) of the process at the other end (Linux), else (None, None)."""
    try:
        pid, uid, _ = struct.unpack("3i", sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    except (AttributeError, OSError):
        return None, None
    return pid, uid
