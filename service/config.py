"""Process-wide settings: environment variables with a ``TRANSNORM_`` prefix, overridable by CLI flags.

Per-document choices (output format, markers, chrome handling, beam size for one request) live in
:class:`service.options.Options`; everything here is fixed for the life of a loaded pipeline.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent

DEFAULT_LATIN_CANDIDATES = ("en", "fr", "de", "es", "it", "pt", "nl")


def _default_models_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "transnorm" / "packages"


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


@dataclass(frozen=True)
class Settings:
    """Settings for loading and running the pipeline.

    Each field can be set from the environment as ``TRANSNORM_<FIELD NAME IN CAPITALS>``.
    """

    models_dir: Path = field(default_factory=_default_models_dir)
    #: Folders or ``.argosmodel`` files that ``transnorm models setup`` installs from.
    model_sources: tuple[Path, ...] = ()
    manifest: Path = PROJECT_ROOT / "models" / "manifest.json"
    beam_size: int = 2
    compute_type: str = "int8"
    #: CTranslate2 threads per translation (0: let CTranslate2 decide).
    intra_threads: int = 0
    #: CTranslate2 translations run in parallel per loaded model.
    inter_threads: int = 1
    max_batch_size: int = 32
    #: Output tokens allowed per source token, plus a constant, capped: stops runaway repetition.
    decoding_ratio: float = 2.0
    decoding_extra: int = 10
    decoding_cap: int = 400
    cache_size: int = 20000
    max_bytes: int = 10 * 1024 * 1024
    latin_candidates: tuple[str, ...] = DEFAULT_LATIN_CANDIDATES
    # HTTP service
    #: API keys accepted by the HTTP service (empty: no key needed). Never logged.
    api_keys: tuple[str, ...] = field(default=(), repr=False)
    #: Origins allowed by CORS (empty: CORS off; "*" allows any).
    cors_origins: tuple[str, ...] = ()
    max_batch_documents: int = 64
    #: Requests per minute per client (API key, else address) to the translating endpoints; 0: no limit.
    requests_per_minute: int = 0
    #: Log document text (off by default: documents may be confidential).
    debug: bool = False

    def __post_init__(self) -> None:
        checks = {
            "beam_size": self.beam_size >= 1,
            "intra_threads": self.intra_threads >= 0,
            "inter_threads": self.inter_threads >= 1,
            "max_batch_size": self.max_batch_size >= 1,
            "decoding_ratio": self.decoding_ratio > 0,
            "decoding_cap": self.decoding_cap >= 1,
            "cache_size": self.cache_size >= 0,
            "max_bytes": self.max_bytes >= 1,
            "max_batch_documents": self.max_batch_documents >= 1,
            "requests_per_minute": self.requests_per_minute >= 0,
            "latin_candidates": "en" in self.latin_candidates,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise SettingsError(f"invalid setting(s): {', '.join(bad)}")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read ``TRANSNORM_*`` variables from ``env`` (default: the process environment).

        ``overrides`` whose value is not None win over the environment (CLI flags use this).
        """
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            raw = env.get("TRANSNORM_" + f.name.upper())
            if raw is not None and raw != "":
                values[f.name] = _parse(f.name, f.type, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        unknown = set(values) - {f.name for f in fields(cls)}
        if unknown:
            raise SettingsError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        return cls(**values)  # type: ignore[arg-type]

    def with_overrides(self, **overrides: object) -> Settings:
        return replace(self, **{k: v for k, v in overrides.items() if v is not None})


def _parse(name: str, type_name: object, raw: str) -> object:
    type_name = str(type_name)
    try:
        if type_name == "bool":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
                raise ValueError("expected true or false")
            return raw.lower() in ("1", "true", "yes", "on")
        if type_name == "int":
            return int(raw)
        if type_name == "float":
            return float(raw)
        if type_name == "Path":
            return Path(raw).expanduser()
        if type_name.startswith("tuple[Path"):
            return tuple(Path(p).expanduser() for p in raw.split(os.pathsep) if p)
        if type_name.startswith("tuple[str"):
            return tuple(p.strip() for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise SettingsError(f"TRANSNORM_{name.upper()}={raw!r}: {exc}") from None
    return raw
