"""Where packages come from: local ``.argosmodel`` files and folders (``models setup``), or the
Argos index -- downloaded only by an explicit install of a package *name*."""

from __future__ import annotations

import shutil
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterable
from pathlib import Path

from ..errors import ModelError
from .install import AlreadyInstalled, install_file, read_archive_metadata
from .manifest import ManifestEntry, check_against_manifest, find_entry
from .registry import PackageInfo, installed


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


def candidate_files(sources: Iterable[str | Path]) -> list[Path]:
    """Local ``.argosmodel`` files that ``setup`` installs: the files and folder contents named."""
    found: list[Path] = []
    for source in map(Path, sources):
        if source.is_file() and source.suffix == ".argosmodel":
            found.append(source)
        elif source.is_dir():
            found.extend(sorted(source.glob("*.argosmodel")))
    return found


def _install_local(
    path: Path, models_dir: str | Path, manifest: list[ManifestEntry], have: set[tuple[str, str, str]]
) -> tuple[str, PackageInfo | None]:
    """Install one local file unless its version is installed: the report line, and what was
    installed (None: nothing)."""
    try:
        _, meta = read_archive_metadata(path)
        if (meta["from_code"], meta["to_code"], meta["package_version"]) in have:
            return f"already installed: {path.name}", None
        info = install_file(path, models_dir, manifest)
    except AlreadyInstalled as exc:
        old = exc.installed
        return (
            f"skipped {path}: {old.package} {old.version} is installed for {old.from_code}→{old.to_code} "
            f"(to use this one instead: transnorm models install --replace {path})"
        ), None
    except ModelError as exc:
        return f"skipped {path}: {exc}", None
    return f"installed {info.package} {info.version} from {path}", info


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
        line, info = _install_local(path, models_dir, manifest, have)
        report.append(line)
        if info is not None:
            have.add((info.from_code, info.to_code, info.version))
            changed = True
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
