"""A CTranslate2 ``model.bin`` header, read without loading the model (CTranslate2 has no call
that checks a file without loading it whole): its variables, their shapes and sizes, checked
against the file's length."""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ModelError

#: CTranslate2 data types by id in ``model.bin`` (binary version 4 on), and their item sizes.
_DTYPE_SIZES = {0: 4, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2}  # float32 int8 int16 int32 float16 bfloat16

#: The newest ``model.bin`` binary version known here (CTranslate2 4.x writes 6).
MODEL_BINARY_VERSION = 6


@dataclass(frozen=True)
class ModelHeader:
    """What a CTranslate2 ``model.bin`` says it holds (its weights are skipped, not read)."""

    binary_version: int
    spec: str
    revision: int
    #: Variable names and shapes, in file order.
    variables: dict[str, tuple[int, ...]] = field(default_factory=dict)


def read_model_header(path: Path) -> ModelHeader:
    """Read and check the header of a CTranslate2 ``model.bin``, as CTranslate2 reads it: binary
    version, spec, then each variable's name, shape, data type and bytes (which must fit the shape
    and the file), then the aliases. :class:`ModelError` says what is wrong; the weights are not
    read, so this takes milliseconds whatever the size."""
    try:
        size = path.stat().st_size
        with path.open("rb") as f:
            return _read_header(f, size)
    except OSError as exc:
        raise ModelError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (struct.error, UnicodeDecodeError, ValueError) as exc:
        raise ModelError(f"{path} is not a CTranslate2 model: {exc}") from None


def model_bin_problem(path: Path) -> str | None:
    """What is wrong with the ``model.bin`` at ``path`` ("is not a CTranslate2 model: ..."), or
    None (a missing file is the caller's to report)."""
    if not path.is_file():
        return None
    try:
        read_model_header(path)
    except ModelError as exc:
        return str(exc).removeprefix(str(path)).removeprefix(":").strip()
    return None


def _read_header(f: Any, size: int) -> ModelHeader:
    def number(fmt: str) -> int:
        raw = f.read(struct.calcsize(fmt))
        if len(raw) != struct.calcsize(fmt):
            raise ValueError(f"the file ends at byte {size}, inside its header")
        return struct.unpack("<" + fmt, raw)[0]

    def string(what: str) -> str:
        length = number("H")
        raw = f.read(length)
        if length == 0 or len(raw) != length or raw[-1] != 0 or 0 in raw[:-1]:
            raise ValueError(f"{what} at byte {f.tell() - len(raw)} is not a string")
        return raw[:-1].decode("utf-8")

    version = number("I")
    if not 1 <= version <= MODEL_BINARY_VERSION:
        raise ValueError(
            f"binary version {version} (CTranslate2 writes 1 to {MODEL_BINARY_VERSION}; a newer "
            "CTranslate2 may write more)"
        )
    spec, revision = "", 1
    if version >= 2:
        spec = string("the model specification")
        revision = number("I")
    count = number("I")
    if count == 0:
        raise ValueError("it has no variables")
    variables: dict[str, tuple[int, ...]] = {}
    for _ in range(count):
        name = string("a variable name")
        shape = tuple(number("I") for _ in range(number("B")))
        if version >= 4:
            dtype = number("B")
            if dtype not in _DTYPE_SIZES:
                raise ValueError(f"variable {name!r} has an unknown data type ({dtype})")
            item = _DTYPE_SIZES[dtype]
            data = number("I")
        else:
            item = number("B")
            if item not in (1, 2, 4):
                raise ValueError(f"variable {name!r} has items of {item} bytes")
            data = number("I") * item
        if data != math.prod(shape) * item:
            raise ValueError(f"variable {name!r} of shape {list(shape)} holds {data} bytes")
        if f.tell() + data > size:
            raise ValueError(f"variable {name!r} runs past the end of the file (truncated?)")
        f.seek(data, 1)
        variables[name] = shape
    if version >= 3:
        for _ in range(number("I")):
            string("an alias")
            string("an aliased variable")
    return ModelHeader(version, spec, revision, variables)
