"""Checking installed packages against the record made at install time (and, when asked,
loading each and translating a word)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError
from .manifest import file_digests
from .modelfile import model_bin_problem
from .registry import INSTALL_RECORD, LIMITS, PackageInfo, installed, read_small


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
