"""The installed packages: what a models folder holds (the registry), each package's metadata
read within bounds, and the packages that translate into a target, by source language."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError


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
