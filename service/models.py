"""Model package management: list, install (local file or by name), verify, set up.

Packages are Argos Translate ``.argosmodel`` files, handled through argostranslate's package API
(``Package``, ``install_from_path``) inside ``Settings.models_dir``. Nothing here runs at
translation time, and nothing is downloaded except by an explicit install of a package *name*.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .config import PROJECT_ROOT, Settings
from .errors import ModelError
from .translate import ModelInfo

_install_lock = threading.Lock()


@dataclass(frozen=True)
class ManifestEntry:
    """A supported official package, as listed in ``models/manifest.json``."""

    name: str
    from_code: str
    to_code: str
    version: str
    url: str | None = None
    size: int | None = None
    sha256: str | None = None
    git_blob_sha1: str | None = None

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version.replace('.', '_')}.argosmodel"


def load_manifest(path: Path | None = None) -> list[ManifestEntry]:
    """The supported packages; an empty list when the manifest file is absent."""
    path = path or PROJECT_ROOT / "models" / "manifest.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text(encoding="utf-8"))
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
        )
        for p in data["packages"]
    ]


def installed(models_dir: Path) -> list[ModelInfo]:
    """Installed packages in ``models_dir`` (folders without valid metadata are skipped)."""
    from argostranslate.package import Package, argospm_package_name

    if not models_dir.is_dir():
        return []
    found = []
    for path in sorted(models_dir.iterdir()):
        if not path.is_dir() or path.name.startswith("."):
            continue
        try:
            pkg = Package(path)
        except (OSError, ValueError, KeyError):
            continue
        found.append(
            ModelInfo(pkg.from_code, pkg.to_code, argospm_package_name(pkg), pkg.package_version, path)
        )
    return found


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


def read_package_metadata(path: Path) -> tuple[str, dict[str, str]]:
    """(top folder, metadata.json) of an ``.argosmodel`` file, after checking its layout."""
    if not zipfile.is_zipfile(path):
        raise ModelError(f"{path} is not an Argos package (not a zip archive)")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        tops = set()
        for name in names:
            parts = PurePosixPath(name).parts
            if not parts or name.startswith("/") or ".." in parts or "\\" in name:
                raise ModelError(f"{path}: unsafe path inside the archive: {name!r}")
            tops.add(parts[0])
        if len(tops) != 1:
            raise ModelError(f"{path}: expected one top-level folder, found {sorted(tops)}")
        top = tops.pop()
        try:
            metadata = json.loads(archive.read(f"{top}/metadata.json"))
        except KeyError:
            raise ModelError(f"{path}: {top}/metadata.json is missing") from None
        except ValueError as exc:
            raise ModelError(f"{path}: metadata.json is not valid JSON: {exc}") from None
    for key in ("from_code", "to_code", "package_version"):
        if not isinstance(metadata.get(key), str):
            raise ModelError(f"{path}: metadata.json has no {key}")
    return top, metadata


def check_against_manifest(path: Path, entry: ManifestEntry) -> None:
    """Raise unless the file matches every checksum the manifest knows for it."""
    if entry.size is not None and path.stat().st_size != entry.size:
        raise ModelError(
            f"{path}: size {path.stat().st_size} does not match {entry.size} in the manifest "
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


@contextmanager
def _argos_packages_dir(models_dir: Path) -> Iterator[None]:
    """Point argostranslate's install location at ``models_dir`` for one call."""
    from argostranslate import settings as argos_settings

    with _install_lock:
        saved = argos_settings.package_data_dir
        argos_settings.package_data_dir = models_dir
        try:
            yield
        finally:
            argos_settings.package_data_dir = saved


def install_file(path: Path, models_dir: Path, manifest: Iterable[ManifestEntry] = ()) -> ModelInfo:
    """Install a local ``.argosmodel`` file, replacing an installed package of the same pair.

    The file is checked against the manifest's checksums where it lists that package version.
    """
    from argostranslate.package import install_from_path

    path = Path(path)
    if not path.is_file():
        raise ModelError(f"{path}: no such file")
    top, meta = read_package_metadata(path)
    for entry in manifest:
        if (entry.from_code, entry.to_code, entry.version) == (
            meta["from_code"],
            meta["to_code"],
            meta["package_version"],
        ):
            check_against_manifest(path, entry)
    models_dir.mkdir(parents=True, exist_ok=True)
    for old in installed(models_dir):
        if (old.from_code, old.to_code) == (
            meta["from_code"],
            meta["to_code"],
        ) or old.path.name == top:
            shutil.rmtree(old.path)
    with _argos_packages_dir(models_dir):
        install_from_path(path)
    for info in installed(models_dir):
        if info.path.name == top:
            return info
    raise ModelError(f"{path}: installed, but {models_dir / top} is not a readable package")


def find_entry(name: str, manifest: Iterable[ManifestEntry]) -> ManifestEntry:
    """Resolve ``translate-zh_en``, ``zh_en``, ``zh`` or ``translate-zh_en-1_9`` to a manifest entry."""
    wanted = name.strip().lower().removesuffix(".argosmodel")
    entries = list(manifest)
    for entry in entries:
        pair = f"{entry.from_code}_{entry.to_code}"
        if wanted in (
            entry.name,
            pair,
            entry.from_code,
            entry.filename.removesuffix(".argosmodel"),
        ):
            return entry
    known = ", ".join(e.name for e in entries) or "none (manifest missing)"
    raise ModelError(f"unknown package {name!r}; the manifest lists: {known}")


def download(entry: ManifestEntry, dest: Path, timeout: float = 30.0) -> Path:
    """Download ``entry`` into the folder ``dest`` and check it; a clear error when offline."""
    if not entry.url:
        raise ModelError(f"the manifest has no download address for {entry.name} {entry.version}")
    target = dest / entry.filename
    partial = target.with_suffix(".part")
    try:
        with (
            urllib.request.urlopen(entry.url, timeout=timeout) as response,
            partial.open("wb") as out,
        ):
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


def install_name(name: str, settings: Settings, timeout: float = 30.0) -> ModelInfo:
    """Download a package named in the manifest and install it (explicit, online only)."""
    manifest = load_manifest(settings.manifest)
    entry = find_entry(name, manifest)
    with tempfile.TemporaryDirectory(prefix="transnorm-download-") as tmp:
        path = download(entry, Path(tmp), timeout)
        return install_file(path, settings.models_dir, manifest)


@dataclass(frozen=True)
class Check:
    info: ModelInfo
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(settings: Settings, load: bool = False) -> list[Check]:
    """Check each installed package's files (and, with ``load``, that CTranslate2 loads it)."""
    checks = []
    for info in installed(settings.models_dir):
        problems = []
        for rel in ("model/model.bin", "model/config.json", "sentencepiece.model"):
            if not (info.path / rel).is_file():
                problems.append(f"{rel} is missing")
        if info.to_code != "en":
            problems.append(f"translates into {info.to_code}, not English: transnorm will not use it")
        if load and not problems:
            from .translate import ArgosEngine

            try:
                engine = ArgosEngine(settings, [info])
                engine.load()
                engine.translate(info.from_code, ["test"])
            except Exception as exc:  # any failure to load is a finding, not a crash
                problems.append(f"does not load: {exc}")
        checks.append(Check(info, tuple(problems)))
    return checks


def candidate_files(settings: Settings) -> list[Path]:
    """Local ``.argosmodel`` files that ``setup`` installs: ``models/`` and the model sources."""
    found: list[Path] = []
    for source in (settings.manifest.parent, *settings.model_sources):
        if source.is_file() and source.suffix == ".argosmodel":
            found.append(source)
        elif source.is_dir():
            found.extend(sorted(source.glob("*.argosmodel")))
    return found


def setup(settings: Settings, online: bool = True, timeout: float = 10.0) -> list[str]:
    """Install what can be installed; return one line of report per action. Never raises."""
    report: list[str] = []
    have = {(m.from_code, m.version) for m in installed(settings.models_dir)}
    manifest = load_manifest(settings.manifest)
    for path in candidate_files(settings):
        try:
            _, meta = read_package_metadata(path)
            if (meta["from_code"], meta["package_version"]) in have:
                report.append(f"already installed: {path.name}")
                continue
            info = install_file(path, settings.models_dir, manifest)
            have.add((info.from_code, info.version))
            report.append(f"installed {info.package} {info.version} from {path}")
        except ModelError as exc:
            report.append(f"skipped {path}: {exc}")
    if not installed(settings.models_dir) and online:
        for lang in ("zh", "ru"):
            try:
                info = install_name(lang, settings, timeout)
                report.append(f"installed {info.package} {info.version} from the Argos index")
            except ModelError as exc:
                report.append(f"could not install {lang}→en from the Argos index: {exc}")
                break
    if not installed(settings.models_dir):
        report.append(
            "no translation package is installed: foreign spans will be detected and marked "
            "untranslated (reason no-model). Install one with `transnorm models install PATH|NAME`."
        )
    return report
