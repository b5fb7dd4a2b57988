"""Model packages: what is installed, what is supported, and how packages get installed.

Packages are Argos Translate ``.argosmodel`` files (a zip of one folder: ``metadata.json``,
``sentencepiece.model``, ``model/`` in CTranslate2 format). A module each: :mod:`.registry`
(the installed packages), :mod:`.manifest` (the supported ones), :mod:`.modelfile` (a
``model.bin`` header), :mod:`.install` (an archive, bounded and checked), :mod:`.sources`
(``models setup`` and the Argos index), :mod:`.verify`. Nothing here runs a model: inference is
:mod:`transnorm.engine`. Nothing is downloaded except by an explicit install of a package *name*.
"""

from .install import AlreadyInstalled, install_file, read_archive_metadata
from .manifest import ManifestEntry, file_digests, find_entry, language_names, load_manifest
from .modelfile import ModelHeader, model_bin_problem, read_model_header
from .registry import (
    INSTALL_RECORD,
    LIMITS,
    Limits,
    PackageInfo,
    broken,
    by_source,
    installed,
    read_small,
    scan,
)
from .sources import candidate_files, download, install_name, setup
from .verify import Check, verify

__all__ = [
    "INSTALL_RECORD",
    "LIMITS",
    "AlreadyInstalled",
    "Check",
    "Limits",
    "ManifestEntry",
    "ModelHeader",
    "PackageInfo",
    "broken",
    "by_source",
    "candidate_files",
    "download",
    "file_digests",
    "find_entry",
    "install_file",
    "install_name",
    "installed",
    "language_names",
    "load_manifest",
    "model_bin_problem",
    "read_archive_metadata",
    "read_model_header",
    "read_small",
    "scan",
    "setup",
    "verify",
]
