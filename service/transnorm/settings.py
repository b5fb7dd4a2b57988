"""Process-wide settings: ``TRANSNORM_*`` environment variables, overridable by CLI flags.

One typed model (pydantic-settings) is the single place a setting is declared: its type, default,
allowed range and description. The CLI derives its flags from these fields
(:func:`transnorm.cli` reads ``Settings.model_fields``), ``transnorm serve`` passes them on to
gunicorn's workers with :meth:`Settings.to_env`, and the README's table documents them.

Per-document choices (format, markers, chrome handling, beam size for one request) are
:class:`transnorm.options.Options`; everything here is fixed for the life of a loaded pipeline.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "TRANSNORM_"

#: CTranslate2's compute types (``ctranslate2.get_supported_compute_types`` says which run here).
ComputeType = Literal[
    "default",
    "auto",
    "int8",
    "int8_float32",
    "int8_float16",
    "int8_bfloat16",
    "int16",
    "float16",
    "bfloat16",
    "float32",
]


def default_models_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "transnorm" / "packages"


class SettingsError(ValueError):
    """A setting has a value that cannot be used; the message names the variable and the flag."""


def _list(separator: str):  # type: ignore[no-untyped-def]
    def split(value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(separator) if p.strip())
        return value

    return split


class Settings(BaseSettings):
    """Settings for loading and running the pipeline and the service.

    Each field is read from ``TRANSNORM_<FIELD NAME IN CAPITALS>``; keyword arguments win over
    the environment. Paths may be given as ``str`` or :class:`~pathlib.Path`. A field's ``cli``
    extra names the subcommands that take it as a flag (``--field-name``).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, frozen=True, extra="forbid", validate_default=True
    )

    # -- models and inference ------------------------------------------------------------------
    models_dir: Path = Field(
        default_factory=default_models_dir,
        description="installed model packages",
        json_schema_extra={"cli": ("normalize", "batch", "serve", "models")},
    )
    model_sources: Annotated[tuple[Path, ...], NoDecode] = Field(
        (Path("models"),),
        description="folders or .argosmodel files that `models setup` installs from "
        "(os.pathsep-separated; relative to the working directory)",
        json_schema_extra={"cli": ("models setup",)},
    )
    manifest: Path | None = Field(
        None,
        description="supported-packages manifest (default: the packaged one)",
        json_schema_extra={"cli": ("models",)},
    )
    beam_size: int = Field(
        2, ge=1, le=16, description="beam size", json_schema_extra={"cli": ("normalize", "batch", "serve")}
    )
    compute_type: ComputeType = Field(
        "int8",
        description="CTranslate2 compute type",
        json_schema_extra={"cli": ("normalize", "batch", "serve", "models verify")},
    )
    intra_threads: int = Field(
        0,
        ge=0,
        description="CTranslate2 threads per translation (0: CTranslate2 decides)",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    inter_threads: int = Field(
        1,
        ge=1,
        description="CTranslate2 translations run in parallel per model",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    max_batch_tokens: int = Field(
        4096,
        ge=1,
        description="source tokens per model batch (CTranslate2 batch_type tokens, as argostranslate)",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    decoding_ratio: float = Field(
        2.0,
        gt=0,
        description="output tokens allowed per source token",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    decoding_extra: int = Field(
        10,
        ge=0,
        description="output tokens allowed on top of the ratio",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    decoding_cap: int = Field(
        400,
        ge=1,
        description="most output tokens for any sentence",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    cache_size: int = Field(
        20000,
        ge=0,
        description="translation cache entries (0: off)",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    max_bytes: int = Field(
        10 * 1024 * 1024,
        ge=1,
        description="largest document, in bytes",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )
    languages: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="languages the detector may name, comma-separated Argos codes (none: every language "
        "it knows); English is always possible",
        json_schema_extra={"cli": ("normalize", "batch", "serve")},
    )

    # -- HTTP service --------------------------------------------------------------------------
    host: str = Field("127.0.0.1", description="address `serve` binds", json_schema_extra={"cli": ("serve",)})
    port: int = Field(
        8000, ge=0, le=65535, description="port `serve` binds", json_schema_extra={"cli": ("serve",)}
    )
    workers: int = Field(
        1, ge=1, description="gunicorn worker processes", json_schema_extra={"cli": ("serve",)}
    )
    http_threads: int = Field(
        16, ge=1, description="request threads per worker", json_schema_extra={"cli": ("serve",)}
    )
    request_timeout: int = Field(
        120,
        ge=1,
        description="seconds a request may take from its first byte to its response's last (408 while it "
        "is read, 503 if not answered, cut while it is written)",
        json_schema_extra={"cli": ("serve",)},
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds a request's headers may take, extended by one per min_rate bytes (408 after)",
        json_schema_extra={"cli": ("serve",)},
    )
    body_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds a request's body may take, extended by one per min_rate bytes (408 after)",
        json_schema_extra={"cli": ("serve",)},
    )
    min_rate: int = Field(
        500,
        ge=1,
        description="bytes per second a client must send (or read) to earn more time for its request "
        "(or response)",
        json_schema_extra={"cli": ("serve",)},
    )
    max_connections: int = Field(
        10000,
        ge=1,
        description="connections a worker holds at once, slow and idle ones included (503 beyond)",
        json_schema_extra={"cli": ("serve",)},
    )
    api_keys: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        repr=False,
        description="accepted API keys, comma-separated (none: no key needed); never logged, and no flag: "
        "a command line is visible to every user of the machine",
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="origins allowed by CORS, comma-separated, or * (none: CORS off)",
        json_schema_extra={"cli": ("serve",)},
    )
    max_batch_documents: int = Field(
        64, ge=1, description="documents per batch request", json_schema_extra={"cli": ("serve",)}
    )
    requests_per_minute: int = Field(
        0,
        ge=0,
        description="requests per minute per client to the translating endpoints (0: no limit)",
        json_schema_extra={"cli": ("serve",)},
    )
    debug: bool = Field(
        False, description="log document text (never in production)", json_schema_extra={"cli": ("serve",)}
    )

    # -- beyond one machine ----------------------------------------------------------------------
    engine: Literal["local", "ray"] = Field(
        "local",
        description="batch engine: local worker processes, or Ray Data (pip install 'transnorm[ray]')",
        json_schema_extra={"cli": ("batch",)},
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster to join, e.g. ray://head:10001 or auto (none: start one on this machine)",
        json_schema_extra={"cli": ("batch",)},
    )
    actors: int = Field(
        0,
        ge=0,
        description="Ray actors, each with its own loaded models (0: one per CPU of the cluster)",
        json_schema_extra={"cli": ("batch",)},
    )

    _split_paths = field_validator("model_sources", mode="before")(_list(os.pathsep))
    _split_words = field_validator("languages", "api_keys", "cors_origins", mode="before")(_list(","))

    @field_validator("models_dir", "manifest", "model_sources", mode="after")
    @classmethod
    def _expand(cls, value: Any) -> Any:
        if isinstance(value, tuple):
            return tuple(p.expanduser() for p in value)
        return value.expanduser() if isinstance(value, Path) else value

    @field_validator("languages", mode="after")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from .detect import all_languages

        unknown = sorted(set(value) - set(all_languages()) - {"en"})
        if unknown:
            raise ValueError(f"unknown language code(s) {', '.join(unknown)}")
        return value

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read ``TRANSNORM_*`` variables; ``overrides`` that are not None win (CLI flags use this)."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` (those not None) applied and validated."""
        values = {name: getattr(self, name) for name in type(self).model_fields}
        values.update({k: v for k, v in overrides.items() if v is not None})
        return type(self)(**values)

    def on_cores(self, cores: int) -> Settings:
        """These settings for a process that owns ``cores`` cores: that many translations at a
        time, one thread each (parallel sub-batches scale better than threads inside one batch:
        BENCHMARKS.md) — unless the threads were set explicitly."""
        if self.intra_threads == 0 and self.inter_threads == 1:
            return self.with_overrides(intra_threads=1, inter_threads=max(1, cores))
        return self

    def to_env(self) -> dict[str, str]:
        """These settings as ``TRANSNORM_*`` variables, for child processes (gunicorn workers)."""
        env = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, tuple):
                sep = os.pathsep if name == "model_sources" else ","
                value = sep.join(map(str, value))
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[env_name(name)] = str(value)
        return env


def commands(field: str) -> tuple[str, ...]:
    """The subcommands that take ``field`` as a flag (``models`` means every ``models`` action)."""
    extra = Settings.model_fields[field].json_schema_extra
    return tuple(extra["cli"]) if isinstance(extra, dict) else ()  # type: ignore[arg-type]


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def describe(exc: ValidationError) -> str:
    """One line per bad setting, naming its variable and flag, the allowed values and what was given."""
    lines = []
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "?"
        message = error["msg"]
        ctx = error.get("ctx") or {}
        spec = Settings.model_fields.get(field)
        if spec is not None and error["type"] in ("greater_than_equal", "less_than_equal", "greater_than"):
            low = next(
                (getattr(m, "ge", None) for m in spec.metadata if getattr(m, "ge", None) is not None), None
            )
            high = next(
                (getattr(m, "le", None) for m in spec.metadata if getattr(m, "le", None) is not None), None
            )
            if low is not None and high is not None:
                message = f"must be from {low} to {high}"
            elif low is not None:
                message = f"must be at least {low}"
            elif "gt" in ctx:
                message = f"must be greater than {ctx['gt']}"
        elif error["type"] == "literal_error":
            message = f"must be one of {ctx.get('expected', '')}"
        elif error["type"] == "extra_forbidden":
            lines.append(f"unknown setting {field!r}")
            continue
        lines.append(f"{field} ({env_name(field)}, {flag_name(field)}) {message}; got {error.get('input')!r}")
    return "invalid setting: " + "; ".join(lines)
