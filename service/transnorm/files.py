"""Files: reading documents, writing outputs atomically, finding the inputs of a batch, naming
outputs, locking an output folder, and saying what an OS error means.

Used by the CLI and the batch mode; nothing here knows about the pipeline.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import secrets
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import InputError, TooLargeError, TransnormError

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


@contextlib.contextmanager
def atomic_writer(path: str | Path, durable: bool = True, parents: bool = True) -> Iterator[BinaryIO]:
    """A binary file that becomes ``path`` when the block ends without an error, all at once:
    readers see the old file or the whole new one; after an error nothing changes.

    The file gets the usual mode (0666 less the umask). Its temporary name is short, so a target
    name up to the file system's limit works. ``parents`` creates missing folders. ``durable``
    flushes the data to disk before the rename (survives a power cut, at a cost per file); the
    batch skips that: its state files record each output's sha256, so a resumed run redoes any
    output that a crash left damaged.
    """
    path = Path(path)
    if parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
            break
        except FileExistsError:
            continue
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


def atomic_write(path: str | Path, data: bytes, durable: bool = True, parents: bool = True) -> None:
    """Write ``data`` to ``path`` with :func:`atomic_writer`."""
    with atomic_writer(path, durable, parents) as f:
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

    def __init__(self, path: Path, reserve: int) -> None:
        self.path = path
        #: The temporary file holding the space (kept when a run cleans up after its workers).
        self.tmp = path.parent / f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"
        self._fd: int | None = None
        try:
            self._fd = os.open(
                self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666
            )
            reserve_space(self._fd, reserve)
        except OSError:
            self._fd = None  # write() falls back to an ordinary atomic write

    def write(self, data: bytes) -> None:
        if self._fd is None:
            atomic_write(self.path, data)
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
        self.tmp.unlink(missing_ok=True)


def remove_partial_files(out_dir: Path, keep: frozenset[Path] = frozenset()) -> int:
    """Delete temporary files an interrupted run (kill -9, power cut) left behind, except those in
    ``keep``; returns how many."""
    count = 0
    for path in out_dir.rglob(f".*{TEMP_SUFFIX}"):
        if path.is_file() and not path.is_symlink() and path not in keep:
            path.unlink(missing_ok=True)
            count += 1
    return count


def fit_name(name: str, suffix: str) -> str:
    """``name + suffix``, or, when that is longer than :data:`NAME_MAX` bytes, the start of
    ``name`` and a hash of all of it, then ``suffix``: distinct names stay distinct."""
    whole = name + suffix
    if len(os.fsencode(whole)) <= NAME_MAX:
        return whole
    digest = "~" + hashlib.sha256(os.fsencode(name)).hexdigest()[:16]
    room = NAME_MAX - len(os.fsencode(digest + suffix))
    head = os.fsencode(name)[:room]
    for cut in range(len(head), max(0, len(head) - 4), -1):  # not inside a UTF-8 character
        try:
            head[:cut].decode("utf-8")
            head = head[:cut]
            break
        except UnicodeDecodeError:
            continue
    return os.fsdecode(head) + digest + suffix


@dataclass(frozen=True)
class Entry:
    """Something found under a batch's input folder. ``skip`` says why it is not a document to
    read (hidden, a link not followed, a FIFO…); ``fail`` why it could not be looked at."""

    path: Path
    rel: Path
    skip: str | None = None
    fail: str | None = None


def find_inputs(input_dir: Path, out_dir: Path, follow_symlinks: bool = False) -> Iterator[Entry]:
    """Every entry under ``input_dir``, in name order, each once: documents to read, and what is
    skipped or failed with the reason. Folders are walked, never read."""
    out_real = os.path.realpath(out_dir)
    seen = {os.path.realpath(input_dir)}

    def walk(folder: Path, rel: Path) -> Iterator[Entry]:
        try:
            with os.scandir(folder) as listing:
                items = sorted(listing, key=lambda e: os.fsencode(e.name))
        except OSError as exc:
            yield Entry(folder, rel, fail=f"cannot list the folder: {os_reason(exc)}")
            return
        for item in items:
            path, item_rel = Path(item.path), rel / item.name
            try:
                is_link = item.is_symlink()
                is_dir = item.is_dir(follow_symlinks=follow_symlinks)
                is_file = item.is_file(follow_symlinks=follow_symlinks)
            except OSError as exc:
                yield Entry(path, item_rel, fail=f"cannot look at it: {os_reason(exc)}")
                continue
            kind = "folder" if item.is_dir(follow_symlinks=True) else "file"
            if item.name.startswith("."):
                yield Entry(path, item_rel, skip=f"hidden {kind}")
            elif is_link and not follow_symlinks:
                yield Entry(
                    path, item_rel, skip=f"symbolic link to a {kind} (not followed without --follow-symlinks)"
                )
            elif is_link and not os.path.exists(path):
                yield Entry(path, item_rel, fail="broken symbolic link")
            elif is_dir:
                real = os.path.realpath(path)
                if real == out_real:
                    yield Entry(path, item_rel, skip="the output folder")
                elif real in seen:
                    yield Entry(path, item_rel, skip="a folder already walked (symbolic link loop)")
                else:
                    seen.add(real)
                    yield from walk(path, item_rel)
            elif is_file:
                yield Entry(path, item_rel)
            else:
                yield Entry(path, item_rel, skip="not a regular file (FIFO, socket or device)")

    yield from walk(input_dir, Path())


class FolderLock:
    """An exclusive lock on an output folder (``flock`` on a file in it), so two runs never write
    the same folder. Released when the process ends, however it ends."""

    NAME = ".transnorm.lock"

    def __init__(self, folder: Path, wait: bool = False) -> None:
        self.path = folder / self.NAME
        self.wait = wait
        self._fd: int | None = None

    def __enter__(self) -> FolderLock:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not self.wait:
                        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
                        where = display(self.path.parent)
                        raise TransnormError(
                            f"another transnorm run (pid {holder}) is writing to {where}; "
                            "wait for it, or add --wait"
                        ) from None
                    time.sleep(0.2)
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing releases the lock; the file stays (removing it would race)
            self._fd = None
