"""The supported-packages manifest (package data): names, versions, sizes and digests of the
Argos index's X→en packages, and checking a file against its entry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import ModelError


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
