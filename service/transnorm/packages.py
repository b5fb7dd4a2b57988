"""Model packages: what is installed, what is supported, and how packages get installed.

Packages are Argos Translate ``.argosmodel`` files (a zip of one folder: ``metadata.json``,
``sentencepiece.model``, ``model/`` in CTranslate2 format). This module reads their metadata,
lists the installed ones (the registry), reads the supported-packages manifest (package data),
and installs, verifies and sets them up. It never runs a model: inference is
:mod:`transnorm.engine`. Nothing is downloaded except by an explicit install of a package *name*.

An archive is held to :class:`Limits` (unpacked size, compression ratio, metadata size, file count)
and its ``model.bin`` header is read and checked (our own reader: CTranslate2 has no call that
checks a file without loading the whole model) before a package is installed; one package per
language pair is installed, and replacing it is asked for explicitly.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from .errors import ModelError

#: Written into each installed package: sizes and sha256 of its files at install time.
INSTALL_RECORD = ".transnorm-install.json"
#: The files whose digests the install record keeps (the vocabulary files where present).
RECORDED_FILES = (
    "model/model.bin",
    "sentencepiece.model",
    "model/shared_vocabulary.json",
    "model/shared_vocabulary.txt",
    "model/source_vocabulary.json",
    "model/source_vocabulary.txt",
    "model/target_vocabulary.json",
    "model/target_vocabulary.txt",
)


#: Limits on what an ``.argosmodel`` may unpack to, checked from the archive's directory before
#: anything is written, and again while extracting (a directory can lie). They are constants, not
#: settings: they bound damage from a malformed or hostile file, and no real package comes near
#: them (the largest of the Argos index, ru→en 1.9, is 156 MB; packages compress about 1.3 : 1).
@dataclass(frozen=True)
class Limits:
    #: All files of a package, unpacked: 13 times the largest package of the Argos index.
    unpacked_bytes: int = 2 * 1024**3
    #: Unpacked bytes per byte of archive, once the package unpacks to more than ``ratio_floor``:
    #: model weights barely compress (1.1 : 1), vocabularies 4 : 1; zeros compress 1000 : 1.
    ratio: float = 10.0
    ratio_floor: int = 32 * 1024**2
    #: ``metadata.json`` and ``model/config.json``, read whole into memory: real ones are under
    #: 2 KB. Installed packages are held to it too, so no command reads a huge one.
    metadata_bytes: int = 1024**2
    #: Files and folders in the archive: real packages have under 50 (with stanza's).
    members: int = 10_000


LIMITS = Limits()
#: CTranslate2 data types by id in ``model.bin`` (binary version 4 on), and their item sizes.
_DTYPE_SIZES = {0: 4, 1: 1, 2: 2, 3: 4, 4: 2, 5: 2}  # float32 int8 int16 int32 float16 bfloat16
#: The newest ``model.bin`` binary version known here (CTranslate2 4.x writes 6).
MODEL_BINARY_VERSION = 6


@dataclass(frozen=True)
class PackageInfo:
    """An installed translation package, from its ``metadata.json``."""

    from_code: str
    to_code: str
    package: str
    version: str
    path: Path
    #: A token argostranslate puts before the target (``metadata.json`` ``target_prefix``), or "".
    target_prefix: str = ""

    @classmethod
    def from_dir(cls, path: str | Path) -> PackageInfo:
        """Read an installed package folder; raises :class:`ModelError` if it is not one."""
        path = Path(path)
        try:
            meta = json.loads(read_small(path / "metadata.json", LIMITS.metadata_bytes))
        except OSError as exc:
            raise ModelError(f"{path}: no readable metadata.json ({exc.strerror or exc})") from None
        except ValueError as exc:
            raise ModelError(f"{path}: metadata.json is not valid JSON ({exc})") from None
        check_metadata(meta, path)
        return cls(
            from_code=meta["from_code"],
            to_code=meta["to_code"],
            package=f"translate-{meta['from_code']}_{meta['to_code']}",
            version=meta["package_version"],
            path=path,
            target_prefix=meta.get("target_prefix") or "",
        )

    def to_dict(self) -> dict[str, str]:
        return {"package": self.package, "version": self.version, "from": self.from_code, "to": self.to_code}


def check_metadata(meta: object, where: object) -> None:
    if not isinstance(meta, dict):
        raise ModelError(f"{where}: metadata.json is not an object")
    for key in ("from_code", "to_code", "package_version"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            raise ModelError(f"{where}: metadata.json has no {key}")
    if not isinstance(meta.get("target_prefix", ""), str):
        raise ModelError(f"{where}: metadata.json target_prefix is not a string")


def read_small(path: Path, limit: int) -> bytes:
    """The bytes of a file that should be small, without reading more than ``limit`` of them;
    :class:`ModelError` if it is larger."""
    with path.open("rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ModelError(f"{path} is larger than {limit} bytes: not a package's {path.name}")
    return data


def installed(models_dir: str | Path) -> list[PackageInfo]:
    """Installed packages in ``models_dir``, sorted by folder (folders that are not packages are
    skipped: :func:`broken` names them). :class:`ModelError` if the folder cannot be read."""
    return scan(models_dir)[0]


def broken(models_dir: str | Path) -> list[tuple[Path, str]]:
    """Folders of ``models_dir`` with a ``metadata.json`` that are not usable packages, and why."""
    return scan(models_dir)[1]


def scan(models_dir: str | Path) -> tuple[list[PackageInfo], list[tuple[Path, str]]]:
    """(installed packages, broken package folders with the reason), sorted by folder."""
    models_dir = Path(models_dir)
    found: list[PackageInfo] = []
    bad: list[tuple[Path, str]] = []
    try:
        if not models_dir.is_dir():
            if models_dir.exists():
                raise ModelError(f"the models folder {models_dir} is not a folder")
            return [], []
        paths = sorted(models_dir.iterdir())
    except OSError as exc:
        raise ModelError(f"cannot read the models folder {models_dir}: {exc.strerror or exc}") from None
    for path in paths:
        try:
            if not path.is_dir() or path.name.startswith("."):
                continue
            found.append(PackageInfo.from_dir(path))
        except (ModelError, OSError) as exc:
            with contextlib.suppress(OSError):
                if not (path / "metadata.json").exists():
                    continue  # not a package folder at all
            bad.append((path, str(exc)))
    return found, bad


def by_source(packages: Iterable[PackageInfo], target: str = "en") -> dict[str, PackageInfo]:
    """The packages translating into ``target``, by source language."""
    return {p.from_code: p for p in packages if p.to_code == target}


# -- the manifest of supported packages -------------------------------------------------------


@dataclass(frozen=True)
class ManifestEntry:
    """A supported official package, as the manifest lists it."""

    name: str
    from_code: str
    to_code: str
    version: str
    url: str | None = None
    size: int | None = None
    sha256: str | None = None
    git_blob_sha1: str | None = None
    from_name: str = ""

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version.replace('.', '_')}.argosmodel"


def load_manifest(path: str | Path | None = None) -> list[ManifestEntry]:
    """The supported packages: ``path``, or the manifest shipped in the package."""
    if path is None:
        raw = resources.files("transnorm").joinpath("data/manifest.json").read_text(encoding="utf-8")
    else:
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ModelError(f"cannot read the manifest {path}: {exc.strerror}") from None
    data = json.loads(raw)
    return [
        ManifestEntry(
            name=p["name"],
            from_code=p["from"],
            to_code=p["to"],
            version=p["version"],
            url=p.get("url"),
            size=p.get("size"),
            sha256=p.get("sha256"),
            git_blob_sha1=p.get("git_blob_sha1"),
            from_name=p.get("from_name", ""),
        )
        for p in data["packages"]
    ]


def language_names(manifest: Iterable[ManifestEntry]) -> dict[str, str]:
    """Language names by Argos code, from the manifest (English included)."""
    return {"en": "English", **{e.from_code: e.from_name for e in manifest if e.from_name}}


def find_entry(name: str, manifest: Iterable[ManifestEntry]) -> ManifestEntry:
    """Resolve ``translate-zh_en``, ``zh_en``, ``zh`` or ``translate-zh_en-1_9`` to a manifest entry."""
    wanted = name.strip().lower().removesuffix(".argosmodel")
    entries = list(manifest)
    for entry in entries:
        if wanted in (
            entry.name,
            f"{entry.from_code}_{entry.to_code}",
            entry.from_code,
            entry.filename.removesuffix(".argosmodel"),
        ):
            return entry
    known = ", ".join(e.name for e in entries) or "none (manifest missing)"
    raise ModelError(f"unknown package {name!r}; the manifest lists: {known}")


# -- files and checksums ----------------------------------------------------------------------


def file_digests(path: Path) -> dict[str, str]:
    """sha256 and git blob id (``git hash-object``) of a file, read once."""
    size = path.stat().st_size
    sha256 = hashlib.sha256()
    blob = hashlib.sha1(f"blob {size}\0".encode())
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha256.update(chunk)
            blob.update(chunk)
    return {"sha256": sha256.hexdigest(), "git_blob_sha1": blob.hexdigest()}


def check_against_manifest(path: Path, entry: ManifestEntry) -> None:
    """Raise unless the file matches every checksum the manifest knows for it."""
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        raise ModelError(
            f"{path}: size {size} does not match {entry.size} in the manifest "
            f"for {entry.name} {entry.version}"
        )
    if entry.sha256 or entry.git_blob_sha1:
        digests = file_digests(path)
        for field in ("sha256", "git_blob_sha1"):
            expected = getattr(entry, field)
            if expected and digests[field] != expected:
                raise ModelError(
                    f"{path}: {field} {digests[field]} does not match the manifest "
                    f"({expected}) for {entry.name} {entry.version}"
                )


def read_archive_metadata(path: Path, limits: Limits = LIMITS) -> tuple[str, dict[str, str]]:
    """(top folder, metadata.json) of an ``.argosmodel`` file, after checking its layout and, from
    its directory, what it unpacks to (:class:`Limits`); nothing large is read."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not an Argos package (not a zip archive)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            top = _check_layout(path, members)
            small = {f"{top}/metadata.json", f"{top}/model/config.json"}
            for info in members:
                if info.filename in small and info.file_size > limits.metadata_bytes:
                    raise ModelError(
                        f"{path}: {info.filename} unpacks to {info.file_size} bytes; a package's "
                        f"{PurePosixPath(info.filename).name} is a few KB (the limit is "
                        f"{limits.metadata_bytes})"
                    )
            _check_sizes(path, members, limits)
            try:
                with archive.open(f"{top}/metadata.json") as f:
                    raw = f.read(limits.metadata_bytes + 1)
            except KeyError:
                raise ModelError(f"{path}: {top}/metadata.json is missing") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"{path}: cannot read the archive: {exc}") from None
    if len(raw) > limits.metadata_bytes:
        raise ModelError(f"{path}: metadata.json is larger than its directory says")
    try:
        metadata = json.loads(raw)
    except ValueError as exc:
        raise ModelError(f"{path}: metadata.json is not valid JSON: {exc}") from None
    check_metadata(metadata, path)
    return top, metadata


def _check_layout(path: Path, members: list[zipfile.ZipInfo]) -> str:
    """The one top-level folder of the archive, after checking every name is safe to extract."""
    tops = set()
    for info in members:
        name = info.filename
        parts = PurePosixPath(name).parts
        if not parts or name.startswith("/") or ".." in parts or "\\" in name:
            raise ModelError(f"{path}: unsafe path inside the archive: {name!r}")
        tops.add(parts[0])
    if len(tops) != 1:
        raise ModelError(f"{path}: expected one top-level folder, found {sorted(tops)}")
    top = tops.pop()
    if top.startswith("."):
        raise ModelError(f"{path}: the top-level folder {top!r} is hidden")
    return top


def _check_sizes(path: Path, members: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse an archive whose directory says it unpacks to too much, or compresses like a bomb."""
    if len(members) > limits.members:
        raise ModelError(
            f"{path} holds {len(members)} files; a package has a few dozen (the limit is {limits.members})"
        )
    unpacked = sum(info.file_size for info in members)
    archive_bytes = max(1, path.stat().st_size)
    if unpacked > limits.ratio_floor and unpacked > limits.ratio * archive_bytes:
        raise ModelError(
            f"{path} unpacks to {_mib(unpacked)} from {_mib(archive_bytes)}: compressed "
            f"{unpacked / archive_bytes:.0f} : 1, more than {limits.ratio:g} : 1; model weights barely "
            "compress, so this is not a model package (a zip bomb?)"
        )
    if unpacked > limits.unpacked_bytes:
        raise ModelError(
            f"{path} unpacks to {_mib(unpacked)}; packages are limited to {_mib(limits.unpacked_bytes)} "
            "unpacked (the largest Argos package is about 160 MB)"
        )


def _mib(n: int) -> str:
    return f"{n / 1024**2:.1f} MiB"


def _extract(path: Path, archive: zipfile.ZipFile, into: Path, limits: Limits) -> None:
    """Extract every member (names checked by :func:`_check_layout`), holding each to the size
    its directory entry declares and the whole to ``limits.unpacked_bytes``."""
    total = 0
    for info in archive.infolist():
        target = into.joinpath(*PurePosixPath(info.filename).parts)
        if info.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        written = 0
        with archive.open(info) as source, target.open("wb") as out:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                total += len(chunk)
                if written > info.file_size or total > limits.unpacked_bytes:
                    raise ModelError(f"{path}: {info.filename} unpacks to more than the archive declares")
                out.write(chunk)


# -- the model.bin header -----------------------------------------------------------------------


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


def _record(package_dir: Path) -> dict[str, dict[str, int | str]]:
    files = {}
    for rel in RECORDED_FILES:
        path = package_dir / rel
        if path.is_file():
            files[rel] = {"size": path.stat().st_size, "sha256": file_digests(path)["sha256"]}
    return files


def _argos_reads(package_dir: Path) -> None:
    """argostranslate's own reader must accept the package (its format is the reference).

    Imported here only: importing argostranslate creates folders in the home directory.
    """
    try:
        from argostranslate.package import Package
    except OSError:  # a read-only home: our own reader above has checked the metadata
        return
    try:
        pkg = Package(package_dir)
    except (OSError, ValueError, KeyError) as exc:
        raise ModelError(f"argostranslate cannot read the package: {exc}") from None
    if getattr(pkg, "tokenizer", None) is None:
        raise ModelError("the package has neither sentencepiece.model nor bpe.model")


class AlreadyInstalled(ModelError):
    """A package for the same language pair is installed (``installed``), and replacing it was not
    asked for."""

    def __init__(self, message: str, installed: PackageInfo) -> None:
        super().__init__(message)
        self.installed = installed


def install_file(
    path: str | Path,
    models_dir: str | Path,
    manifest: Iterable[ManifestEntry] = (),
    replace: bool = False,
    limits: Limits = LIMITS,
) -> PackageInfo:
    """Install a local ``.argosmodel`` file.

    One package per language pair is used, so a package installed for the same pair (or in the
    folder this one unpacks to) is replaced only when ``replace`` is given; otherwise
    :class:`AlreadyInstalled`. The file is checked against the manifest's checksums where it lists
    that package version and against :class:`Limits` (from its directory), extracted into a hidden
    staging folder beside the installed packages (held to those limits), its ``model.bin`` header
    checked, read back with argostranslate's package reader, and only then moved into place. A
    refused package leaves nothing behind. Sizes and sha256 of the model files are recorded for
    :func:`verify`.
    """
    path, models_dir = Path(path), Path(models_dir)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    top, meta = read_archive_metadata(path, limits)
    for entry in manifest:
        if (entry.from_code, entry.to_code, entry.version) == (
            meta["from_code"],
            meta["to_code"],
            meta["package_version"],
        ):
            check_against_manifest(path, entry)
    pair = (meta["from_code"], meta["to_code"])
    existing = [
        old for old in installed(models_dir) if (old.from_code, old.to_code) == pair or old.path.name == top
    ]
    if existing and not replace:
        old = existing[0]
        raise AlreadyInstalled(
            f"{old.package} {old.version} ({old.from_code}→{old.to_code}) is already installed in "
            f"{old.path}; one package per language pair is used: add --replace to replace it with "
            f"{meta['package_version']} from {path.name}",
            old,
        )
    created = not models_dir.exists()
    installed_ok = False
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=".install-"))
    except OSError as exc:
        raise ModelError(f"cannot install into {models_dir}: {exc.strerror or exc}") from None
    try:
        with zipfile.ZipFile(path) as archive:
            _extract(path, archive, staging, limits)
        package_dir = staging / top
        model_bin = package_dir / "model" / "model.bin"
        if not model_bin.is_file():
            raise ModelError(f"{path}: {top}/model/model.bin is missing")
        why = model_bin_problem(model_bin)
        if why:
            raise ModelError(f"{path}: {top}/model/model.bin {why}")
        _argos_reads(package_dir)
        PackageInfo.from_dir(package_dir)
        (package_dir / INSTALL_RECORD).write_text(json.dumps({"files": _record(package_dir)}, indent=1))
        # What is replaced moves aside first, and comes back if the new package cannot move in.
        aside = staging / ".replaced"
        aside.mkdir()
        moved = []
        for old in existing:
            os.replace(old.path, aside / old.path.name)
            moved.append(old.path)
        try:
            os.replace(package_dir, models_dir / top)
        except OSError:
            for original in moved:
                os.replace(aside / original.name, original)
            raise
        installed_ok = True
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"cannot install {path} into {models_dir}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not installed_ok:
            with contextlib.suppress(OSError):
                models_dir.rmdir()
    return PackageInfo.from_dir(models_dir / top)


def download(entry: ManifestEntry, dest: Path, timeout: float = 30.0) -> Path:
    """Download ``entry`` into the folder ``dest`` and check it; a clear error when offline."""
    if not entry.url:
        raise ModelError(f"the manifest has no download address for {entry.name} {entry.version}")
    target = dest / entry.filename
    partial = target.with_suffix(".part")
    try:
        with urllib.request.urlopen(entry.url, timeout=timeout) as response, partial.open("wb") as out:
            shutil.copyfileobj(response, out, 1 << 20)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        partial.unlink(missing_ok=True)
        raise ModelError(
            f"could not download {entry.name} {entry.version} from {entry.url}: {exc}. "
            "If this machine is offline, fetch the .argosmodel file elsewhere and run "
            "`transnorm models install PATH`."
        ) from None
    partial.replace(target)
    check_against_manifest(target, entry)
    return target


def install_name(
    name: str,
    models_dir: str | Path,
    manifest: Iterable[ManifestEntry],
    timeout: float = 30.0,
    replace: bool = False,
) -> PackageInfo:
    """Download a package named in the manifest and install it (explicit, online only)."""
    entries = list(manifest)
    entry = find_entry(name, entries)
    if not replace:
        for old in installed(models_dir):
            if (old.from_code, old.to_code) == (entry.from_code, entry.to_code):
                raise AlreadyInstalled(
                    f"{old.package} {old.version} ({old.from_code}→{old.to_code}) is already installed "
                    f"in {old.path}; add --replace to replace it with {entry.version} from the index",
                    old,
                )
    with tempfile.TemporaryDirectory(prefix="transnorm-download-") as tmp:
        return install_file(download(entry, Path(tmp), timeout), models_dir, entries, replace)


# -- verification and set-up ------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """What :func:`verify` found about one installed package."""

    info: PackageInfo
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(models_dir: str | Path, load: Callable[[PackageInfo], None] | None = None) -> list[Check]:
    """Check each installed package's files against what was recorded when it was installed.

    ``load``, when given, is called for each package whose files are intact (the CLI passes one
    that loads the model and translates a word); any exception it raises is reported.
    """
    checks = []
    for info in installed(models_dir):
        problems = []
        for rel in ("model/model.bin", "model/config.json", "sentencepiece.model"):
            if not (info.path / rel).is_file():
                problems.append(f"{rel} is missing")
        why = model_bin_problem(info.path / "model" / "model.bin")
        if why:
            problems.append(f"model/model.bin {why}")
        try:
            record = json.loads(read_small(info.path / INSTALL_RECORD, LIMITS.metadata_bytes))["files"]
        except (OSError, ValueError, KeyError, TypeError, ModelError):
            record = None
            problems.append(
                f"no install record ({INSTALL_RECORD}): reinstall it with `transnorm models install`"
            )
        for rel, expected in (record or {}).items():
            path = info.path / rel
            if not path.is_file():
                continue  # reported above, or an optional file
            size = path.stat().st_size
            if size != expected.get("size"):
                problems.append(f"{rel} is {size} bytes; {expected.get('size')} when installed")
            elif file_digests(path)["sha256"] != expected.get("sha256"):
                problems.append(f"{rel} has changed since it was installed (sha256 differs)")
        if info.to_code != "en":
            problems.append(f"translates into {info.to_code}: used only with an explicit source and target")
        if load is not None and not problems:
            try:
                load(info)
            except Exception as exc:  # any failure to load is a finding, not a crash
                problems.append(f"does not load: {exc}")
        checks.append(Check(info, tuple(problems)))
    return checks


def candidate_files(sources: Iterable[str | Path]) -> list[Path]:
    """Local ``.argosmodel`` files that ``setup`` installs: the files and folder contents named."""
    found: list[Path] = []
    for source in map(Path, sources):
        if source.is_file() and source.suffix == ".argosmodel":
            found.append(source)
        elif source.is_dir():
            found.extend(sorted(source.glob("*.argosmodel")))
    return found


def setup(
    models_dir: str | Path,
    sources: Iterable[str | Path],
    manifest: list[ManifestEntry],
    online: bool = True,
    fallback: Iterable[str] = ("zh", "ru"),
    timeout: float = 10.0,
) -> list[str]:
    """Install what can be installed; return one line of report per action, and always a last
    line saying what is installed. A package that cannot be installed is reported and skipped
    (one already installed for its language pair is kept: replacing it is ``models install
    --replace``); only a models folder that cannot be created or read raises :class:`ModelError`.

    Local files come first; if nothing is installed afterwards and ``online``, the ``fallback``
    languages are downloaded from the index.
    """
    report: list[str] = []
    try:
        Path(models_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ModelError(f"cannot create the models folder {models_dir}: {exc.strerror or exc}") from None
    have = {(m.from_code, m.to_code, m.version) for m in installed(models_dir)}
    sources = list(sources)
    candidates = candidate_files(sources)
    if not candidates:
        report.append(f"no .argosmodel files in {', '.join(map(str, sources)) or '(no sources given)'}")
    changed = False
    for path in candidates:
        try:
            _, meta = read_archive_metadata(path)
            if (meta["from_code"], meta["to_code"], meta["package_version"]) in have:
                report.append(f"already installed: {path.name}")
                continue
            info = install_file(path, models_dir, manifest)
            have.add((info.from_code, info.to_code, info.version))
            report.append(f"installed {info.package} {info.version} from {path}")
            changed = True
        except AlreadyInstalled as exc:
            old = exc.installed
            report.append(
                f"skipped {path}: {old.package} {old.version} is installed for {old.from_code}→{old.to_code} "
                f"(to use this one instead: transnorm models install --replace {path})"
            )
        except ModelError as exc:
            report.append(f"skipped {path}: {exc}")
    if not installed(models_dir) and online:
        for lang in fallback:
            try:
                info = install_name(lang, models_dir, manifest, timeout)
                report.append(f"installed {info.package} {info.version} from the Argos index")
                changed = True
            except ModelError as exc:
                report.append(f"could not install {lang}→en from the Argos index: {exc}")
                break
    found = installed(models_dir)
    if not found:
        report.append(
            "no translation package is installed: foreign spans will be detected and marked "
            "untranslated (reason no-model). Install one with `transnorm models install PATH|NAME`."
        )
    else:
        names = ", ".join(f"{p.package} {p.version} ({p.from_code}→{p.to_code})" for p in found)
        some = f"{len(found)} package{'s' if len(found) > 1 else ''} installed in {models_dir}: {names}"
        report.append(some if changed else f"nothing to do: {some}")
    return report
