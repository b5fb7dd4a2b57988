"""Installing an ``.argosmodel`` file: the archive held to :class:`Limits` (unpacked size,
compression ratio, metadata size, file count) before and while it is extracted, its layout and
``model.bin`` header checked, one package per language pair unless replacing is asked for."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath

from ..errors import ModelError
from .manifest import ManifestEntry, check_against_manifest, file_digests
from .modelfile import model_bin_problem
from .registry import INSTALL_RECORD, LIMITS, RECORDED_FILES, Limits, PackageInfo, check_metadata, installed


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
    existing = _replaced(path, models_dir, top, meta, replace)
    created = not models_dir.exists()
    installed_ok = False
    try:
        models_dir.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=".install-"))
    except OSError as exc:
        raise ModelError(f"cannot install into {models_dir}: {exc.strerror or exc}") from None
    try:
        package_dir = _staged(path, staging, top, limits)
        _move_in(package_dir, models_dir / top, existing, staging / ".replaced")
        installed_ok = True
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise ModelError(f"cannot install {path} into {models_dir}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not installed_ok:
            with contextlib.suppress(OSError):
                models_dir.rmdir()
    return PackageInfo.from_dir(models_dir / top)


def _replaced(
    path: Path, models_dir: Path, top: str, meta: dict[str, str], replace: bool
) -> list[PackageInfo]:
    """The installed packages the new one replaces: its pair's, or the one in its folder
    (refused with :class:`AlreadyInstalled` unless ``replace``)."""
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
    return existing


def _staged(path: Path, staging: Path, top: str, limits: Limits) -> Path:
    """The package extracted into ``staging`` (held to ``limits``), checked and recorded."""
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
    return package_dir


def _move_in(package_dir: Path, target: Path, existing: list[PackageInfo], aside: Path) -> None:
    """Move the package into place; what it replaces moves aside first, and comes back if the
    new package cannot move in."""
    aside.mkdir()
    moved = []
    for old in existing:
        os.replace(old.path, aside / old.path.name)
        moved.append(old.path)
    try:
        os.replace(package_dir, target)
    except OSError:
        for original in moved:
            os.replace(aside / original.name, original)
        raise
