"""langid's model, loaded once per process from an already-decompressed copy.

langid ships its naive-Bayes model as a base64 string of a bz2-compressed pickle: turning it
into arrays costs about 2.7 s of CPU, in every process that detects. :func:`load` does it once per
machine and keeps the result as a plain ``.npz`` (numpy arrays only, no pickle) in the user's
cache folder, ``$XDG_CACHE_HOME/transnorm`` (default ``~/.cache/transnorm``), named after a hash
of langid's model string, so another langid version gets its own file. Every later process reads
that file in a few milliseconds; a forked worker inherits the arrays already loaded (the call is
cached), and a spawned or forkserver worker reads the file instead of decompressing again.

Why a cache file rather than a file shipped in the wheel: the model belongs to the installed
langid, not to this package, and no installer hook runs at install time. Why ``.npz``: numpy is
already loaded for detection, the arrays load without unpickling anything, and the file is
written to a temporary name and renamed into place, so a reader never sees half a file.
Where nothing can be written (a read-only container root, no home folder) or the file cannot be
read, :func:`load` decompresses as langid does and goes on: the cache is an optimisation only.
A container image can create the file at build time by calling :func:`load` once.
"""

from __future__ import annotations

import array
import contextlib
import functools
import hashlib
import logging
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: The arrays kept in the cache file.
_FIELDS = ("nb_ptc", "nb_pc", "nb_classes", "tk_nextmove", "tk_keys", "tk_offsets", "tk_values")


def cache_dir() -> Path | None:
    """Where the decompressed model is kept (None when there is no home folder to put it in)."""
    base = os.environ.get("XDG_CACHE_HOME")
    try:
        return Path(base) / "transnorm" if base else Path.home() / ".cache" / "transnorm"
    except RuntimeError:  # no HOME and no password-database entry
        return None


@functools.lru_cache(maxsize=1)
def load() -> tuple[Any, ...]:
    """langid's model as :class:`langid.langid.LanguageIdentifier` takes it:
    ``(nb_ptc, nb_pc, nb_numfeats, nb_classes, tk_nextmove, tk_output)``. Once per process."""
    from langid.langid import model

    raw = model.encode("ascii") if isinstance(model, str) else model
    folder = cache_dir()
    path = folder / f"langid-{hashlib.blake2b(raw, digest_size=12).hexdigest()}.npz" if folder else None
    arrays = _read(path) if path is not None else None
    if arrays is None:
        arrays = _decompress(raw)
        if path is not None:
            _write(path, arrays)
    return _assemble(arrays)


def _decompress(raw: bytes) -> dict[str, Any]:
    """langid's own decoding (base64 → bz2 → pickle), as flat numpy arrays."""
    import base64
    import bz2
    import pickle

    import numpy as np

    nb_ptc, nb_pc, nb_classes, tk_nextmove, tk_output = pickle.loads(bz2.decompress(base64.b64decode(raw)))
    keys = sorted(tk_output)
    offsets = np.zeros(len(keys) + 1, dtype=np.uint32)
    for i, key in enumerate(keys):
        offsets[i + 1] = offsets[i] + len(tk_output[key])
    values = [v for key in keys for v in tk_output[key]]
    nb_pc = np.array(nb_pc)
    return {
        "nb_ptc": np.array(nb_ptc).reshape(len(nb_ptc) // len(nb_pc), len(nb_pc)),
        "nb_pc": nb_pc,
        "nb_classes": np.array(nb_classes),
        "tk_nextmove": np.frombuffer(tk_nextmove.tobytes(), dtype=np.dtype(tk_nextmove.typecode)),
        "tk_keys": np.array(keys, dtype=np.uint32),
        "tk_offsets": offsets,
        "tk_values": np.array(values, dtype=np.uint32),
    }


def _read(path: Path) -> dict[str, Any] | None:
    import numpy as np

    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in _FIELDS}
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        log.warning("langid model cache %s unreadable (%s); decompressing langid's model", path, exc)
        return None


def _write(path: Path, arrays: dict[str, Any]) -> None:
    """Write the cache file atomically; any failure only means the next process decompresses too."""
    import numpy as np

    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            dir=path.parent, prefix=".langid-", suffix=".tmp", delete=False
        ) as f:
            tmp = f.name
            np.savez(f, **arrays)
        os.chmod(tmp, 0o644)  # other users of the machine (or of the image) may read it too
        os.replace(tmp, path)
        tmp = None
    except OSError as exc:
        log.debug("langid model cache not written to %s: %s", path, exc)
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)


def _assemble(arrays: dict[str, Any]) -> tuple[Any, ...]:
    nb_ptc, nb_pc = arrays["nb_ptc"], arrays["nb_pc"]
    # langid walks the tokenizer's automaton byte by byte: an array.array indexes faster than numpy.
    nextmove = arrays["tk_nextmove"]
    tk_nextmove = array.array(nextmove.dtype.char, nextmove.tobytes())
    keys, offsets, values = (
        arrays["tk_keys"].tolist(),
        arrays["tk_offsets"].tolist(),
        arrays["tk_values"].tolist(),
    )
    tk_output = {key: tuple(values[offsets[i] : offsets[i + 1]]) for i, key in enumerate(keys)}
    nb_classes = [str(c) for c in arrays["nb_classes"]]
    return nb_ptc, nb_pc, nb_ptc.shape[0], nb_classes, tk_nextmove, tk_output
