"""Files: reading documents, writing outputs atomically, finding the inputs of a batch.

Used by the CLI and the batch mode; nothing here knows about the pipeline.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import InputError, TooLargeError

TEMP_SUFFIX = ".tmp"


def read_input(path: str | Path, limit: int, regular_only: bool = True) -> bytes:
    """The bytes of a document file, at most ``limit + 1`` of them (the pipeline rejects the excess).

    A regular file larger than ``limit`` is refused before reading. With ``regular_only`` anything
    else is refused; the file is opened without blocking and checked after opening, so a file
    swapped for a FIFO after listing cannot hang a batch.
    """
    flags = os.O_RDONLY | (getattr(os, "O_NONBLOCK", 0) if regular_only else 0)
    with os.fdopen(os.open(path, flags), "rb") as f:
        info = os.fstat(f.fileno())
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:
                raise TooLargeError(
                    f"document is {info.st_size} bytes; the limit is {limit} (TRANSNORM_MAX_BYTES)"
                )
        elif regular_only:
            raise InputError("not a regular file (FIFO, socket or device)")
        return f.read(limit + 1)


def atomic_write(path: str | Path, data: bytes, durable: bool = True) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    ``durable`` also flushes it to disk before the rename (survives a power cut, at a cost per
    file). The batch skips that: its state files record each output's sha256, so a resumed run
    redoes any output that a crash left damaged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if durable:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def remove_partial_files(out_dir: Path) -> int:
    """Delete temporary files an interrupted run (kill -9, power cut) left behind; returns how many."""
    count = 0
    for path in out_dir.rglob(f".*{TEMP_SUFFIX}"):
        if path.is_file() and not path.is_symlink():
            path.unlink(missing_ok=True)
            count += 1
    return count


def find_inputs(
    input_dir: Path, out_dir: Path, follow_symlinks: bool = False
) -> Iterator[tuple[Path, str | None]]:
    """(path, reason to skip or None) for each non-hidden file under ``input_dir``, sorted."""
    out_resolved = out_dir.resolve()
    for root, dirs, files in os.walk(input_dir, followlinks=follow_symlinks):
        root_path = Path(root)
        dirs[:] = sorted(
            d for d in dirs if not d.startswith(".") and (root_path / d).resolve() != out_resolved
        )
        for name in sorted(files):
            if name.startswith("."):
                continue
            path = root_path / name
            if path.is_symlink() and not follow_symlinks:
                yield path, "symbolic link (not followed without --follow-symlinks)"
            elif not path.exists():
                yield path, "broken symbolic link"
            elif not path.is_file():
                # A FIFO would block the whole batch on read; devices and sockets are not documents.
                yield path, "not a regular file (FIFO, socket or device)"
            else:
                yield path, None
