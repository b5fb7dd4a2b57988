"""Model packages: what is installed, what is supported, and how packages get installed.

Packages are Argos Translate ``.argosmodel`` files (a zip of one folder: ``metadata.json``,
``sentencepiece.model``, ``model/`` in CTranslate2 format). This module reads their metadata,
lists the installed ones (the registry), reads the supported-packages manifest (package data),
and installs, verifies and sets them up. It never runs a model: inference is
:mod:`transnorm.engine`. Nothing is downloaded except by an explicit install of a package *name*.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath

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
            meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise ModelError(f"{path}: no readable metadata.json ({exc})") from None
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


def installed(models_dir: str | Path) -> list[PackageInfo]:
    """Installed packages in ``models_dir``, sorted by folder (folders that are not packages are skipped)."""
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            found.append(PackageInfo.from_dir(path))
        except ModelError:
            continue
    return found


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


def read_archive_metadata(path: Path) -> tuple[str, dict[str, str]]:
    """(top folder, metadata.json) of an ``.argosmodel`` file, after checking its layout."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not an Argos package (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        tops = set()
        for name in archive.namelist():
            parts = PurePosixPath(name).parts
            if not parts or name.startswith("/") or ".." in parts or "\\" in name:
                raise ModelError(f"{path}: unsafe path inside the archive: {name!r}")
            tops.add(parts[0])
        if len(tops) != 1:
            raise ModelError(f"{path}: expected one top-level folder, found {sorted(tops)}")
        top = tops.pop()
        if top.startswith("."):
            raise ModelError(f"{path}: the top-level folder {top!r} is hidden")
        try:
            metadata = json.loads(archive.read(f"{top}/metadata.json"))
        except KeyError:
            raise ModelError(f"{path}: {top}/metadata.json is missing") from None
        except ValueError as exc:
            raise ModelError(f"{path}: metadata.json is not valid JSON: {exc}") from None
    check_metadata(metadata, path)
    return top, metadata


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


def install_file(
    path: str | Path, models_dir: str | Path, manifest: Iterable[ManifestEntry] = ()
) -> PackageInfo:
    """Install a local ``.argosmodel`` file, replacing an installed package of the same pair.

    The file is checked against the manifest's checksums where it lists that package version,
    extracted into a hidden staging folder beside the installed packages, read back with
    argostranslate's package reader, and only then moved into place; what it replaces is removed
    after that. Sizes and sha256 of the model files are recorded for :func:`verify`.
    """
    path, models_dir = Path(path), Path(models_dir)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    top, meta = read_archive_metadata(path)
    for entry in manifest:
        if (entry.from_code, entry.to_code, entry.version) == (
            meta["from_code"],
            meta["to_code"],
            meta["package_version"],
        ):
            check_against_manifest(path, entry)
    models_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=models_dir, prefix=".install-"))
    try:
        with zipfile.ZipFile(path) as archive:
            archive.extractall(staging)
        package_dir = staging / top
        _argos_reads(package_dir)
        PackageInfo.from_dir(package_dir)
        (package_dir / INSTALL_RECORD).write_text(json.dumps({"files": _record(package_dir)}, indent=1))
        replaced = [
            old.path
            for old in installed(models_dir)
            if (old.from_code, old.to_code) == (meta["from_code"], meta["to_code"]) or old.path.name == top
        ]
        for old in replaced:
            shutil.rmtree(old)
        os.replace(package_dir, models_dir / top)
    except (OSError, zipfile.BadZipFile) as exc:
        raise ModelError(f"cannot install {path} into {models_dir}: {exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
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
    name: str, models_dir: str | Path, manifest: Iterable[ManifestEntry], timeout: float = 30.0
) -> PackageInfo:
    """Download a package named in the manifest and install it (explicit, online only)."""
    entries = list(manifest)
    entry = find_entry(name, entries)
    with tempfile.TemporaryDirectory(prefix="transnorm-download-") as tmp:
        return install_file(download(entry, Path(tmp), timeout), models_dir, entries)


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
        try:
            record = json.loads((info.path / INSTALL_RECORD).read_text())["files"]
        except (OSError, ValueError, KeyError, TypeError):
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
    """Install what can be installed; return one line of report per action. Never raises.

    Local files come first; if nothing is installed afterwards and ``online``, the ``fallback``
    languages are downloaded from the index.
    """
    report: list[str] = []
    try:
        Path(models_dir).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        return [f"cannot create the models folder {models_dir}: {exc.strerror}"]
    have = {(m.from_code, m.to_code, m.version) for m in installed(models_dir)}
    for path in candidate_files(sources):
        try:
            _, meta = read_archive_metadata(path)
            if (meta["from_code"], meta["to_code"], meta["package_version"]) in have:
                report.append(f"already installed: {path.name}")
                continue
            info = install_file(path, models_dir, manifest)
            have.add((info.from_code, info.to_code, info.version))
            report.append(f"installed {info.package} {info.version} from {path}")
        except ModelError as exc:
            report.append(f"skipped {path}: {exc}")
    if not installed(models_dir) and online:
        for lang in fallback:
            try:
                info = install_name(lang, models_dir, manifest, timeout)
                report.append(f"installed {info.package} {info.version} from the Argos index")
            except ModelError as exc:
                report.append(f"could not install {lang}→en from the Argos index: {exc}")
                break
    if not installed(models_dir):
        report.append(
            "no translation package is installed: foreign spans will be detected and marked "
            "untranslated (reason no-model). Install one with `transnorm models install PATH|NAME`."
        )
    return report
