"""Files: reading documents, writing outputs atomically (with disk space set aside where it
must not run out), and saying what an OS error means.

Used by the CLI and the batch mode; nothing here knows about the pipeline.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, TooLargeError

TEMP_PREFIX = ".transnorm-"
TEMP_SUFFIX = ".tmp"
#: The longest file name (in bytes) the common Linux file systems take.
NAME_MAX = 255

_REASONS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.ENAMETOOLONG: "file name too long",
    errno.ENOENT: "no such file or folder",
    errno.EISDIR: "is a folder",
    errno.ENOTDIR: "not a folder",
    errno.EIO: "input/output error",
    errno.ELOOP: "too many levels of symbolic links",
}


def os_reason(exc: OSError) -> str:
    """What an OS error means, in a few words ("no space left on device")."""
    return _REASONS.get(exc.errno or 0, exc.strerror or type(exc).__name__)


def display(path: str | Path) -> str:
    """A path as text for reports, messages and ids: bytes that are not UTF-8 as ``\\xNN``."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


# C0 and C1 controls (ESC, CR, LF, BEL ...), DEL, and the invisible marks that reorder or split a
# line: a name holding them would rewrite the terminal or break a one-line message.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def terminal(text: str) -> str:
    """``text`` safe to print as (part of) one line of a terminal: control characters, line
    separators and bidirectional controls as ``\\xNN``/``\\uNNNN`` escapes."""
    return _UNPRINTABLE.sub(_escape, text)


def _escape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def read_input(path: str | Path, limit: int, regular_only: bool = True) -> bytes:
    """The bytes of a document file, at most ``limit + 1`` of them (the pipeline rejects the excess).

    A regular file larger than ``limit`` is refused before reading; a folder is refused. With
    ``regular_only`` anything else is refused too; the file is opened without blocking and checked
    after opening, so a file swapped for a FIFO after listing cannot hang a batch.
    """
    flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) if regular_only else 0)
    fd = os.open(path, flags)
    if stat.S_ISDIR(os.fstat(fd).st_mode):
        os.close(fd)
        raise InputError(f"{display(path)} is a folder, not a document")
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise TooLargeError.of(info.st_size, limit)
        elif regular_only:
            raise InputError("not a regular file (FIFO, socket or device)")
        return f.read(limit + 1)


def read_stream(stream: object, limit: int) -> bytes:
    """All of a stream up to ``limit`` bytes; past that, the rest is read and counted (a pipeline's
    writer is not left blocked) and the error says the real size."""
    data = stream.read(limit + 1)  # type: ignore[attr-defined]
    if len(data) <= limit:
        return data  # type: ignore[no-any-return]
    size = len(data)
    while chunk := stream.read(1 << 20):  # type: ignore[attr-defined]
        size += len(chunk)
    raise TooLargeError.of(size, limit)


def _temporary(folder: Path) -> tuple[Path, int]:
    """A new file with a short unique name in ``folder``, opened for writing."""
    while True:
        tmp = folder / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue


@contextlib.contextmanager
def atomic_writer(
    path: str | Path, durable: bool = True, parents: bool = True, tmp_dir: Path | None = None
) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error, all at once:
    readers see the old file or the whole new one; after an error nothing changes.

    The file gets the usual mode (0666 less the umask). Its temporary name is short, so a target
    name up to the file system's limit works; it is made in ``tmp_dir`` (on the same file system;
    a batch keeps its temporary files in a folder of its own) or beside ``path``. ``parents``
    creates missing folders. ``durable`` flushes the data to disk before the rename (survives a
    power cut, at a cost per file); the batch skips that: its state files record each output's
    sha256, so a resumed run redoes any output that a crash left damaged.
    """
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp, fd = _temporary(tmp_dir or path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(
    path: str | Path, data: bytes, durable: bool = True, parents: bool = True, tmp_dir: Path | None = None
) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_writer`."""
    with atomic_writer(path, durable, parents, tmp_dir) as f:
        f.write(data)


def reserve_space(fd: int, size: int) -> bool:
    """Set ``size`` bytes of disk aside for the file ``fd`` without changing its length (Linux
    ``fallocate`` with ``FALLOC_FL_KEEP_SIZE``), so that writing that much later cannot fail for
    lack of space. False where the system or file system cannot."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fallocate = libc.fallocate
        fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
        return bool(fallocate(fd, 1, 0, size) == 0)  # 1: FALLOC_FL_KEEP_SIZE
    except (OSError, AttributeError):
        return False


class ReservedFile:
    """A file written once, at the end, atomically — into disk space set aside at the start, so a
    disk that fills up in between cannot keep it from being written (a run's summary)."""

    def __init__(self, path: Path, reserve: int, tmp_dir: Path | None = None) -> None:
        self.path = path
        self.tmp_dir = tmp_dir or path.parent
        #: The temporary file holding the space (None: none could be made).
        self.tmp: Path | None = None
        self._fd: int | None = None
        try:
            self.tmp, self._fd = _temporary(self.tmp_dir)
            reserve_space(self._fd, reserve)
        except OSError:
            pass  # write() falls back to an ordinary atomic write

    def write(self, data: bytes) -> None:
        if self._fd is None or self.tmp is None:
            atomic_write(self.path, data, tmp_dir=self.tmp_dir)
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
            os.ftruncate(self._fd, len(data))  # gives back what was set aside and not used
            os.fsync(self._fd)
            os.replace(self.tmp, self.path)
        finally:
            self.discard()

    def discard(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self.tmp is not None:
            self.tmp.unlink(missing_ok=True)
