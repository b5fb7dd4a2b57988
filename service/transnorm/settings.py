"""Process-wide settings: ``TRANSNORM_*`` environment variables, overridable by CLI flags.

One typed model (pydantic-settings) in sections is the single place a setting is declared: its
type, default, allowed range and description. Each section (:class:`PipelineSettings`,
:class:`ModelsSettings`, :class:`ServiceSettings`, :class:`BatchSettings`) reads its fields from
``TRANSNORM_<FIELD>`` -- the environment is read here and nowhere else -- and the CLI derives a
subcommand's flags from the sections it takes (pydantic-settings' CLI source on argparse:
``beam_size`` is ``--beam-size``; booleans are ``--debug/--no-debug``; ``SECTIONS`` says which
subcommand takes which). ``transnorm serve`` passes them on to gunicorn's workers with
:meth:`Settings.to_env`; docs/settings.md is generated from them.

Per-document choices (format, markers, chrome handling, beam size for one request) are
:class:`transnorm.options.Options`; everything here is fixed for the life of a loaded pipeline.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    CliSuppress,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

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


def _split(separator: str) -> Any:
    def split(value: Any) -> Any:
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(separator) if p.strip())
        if isinstance(value, list) and all(isinstance(v, str) for v in value):  # a flag given twice
            return tuple(p.strip() for v in value for p in v.split(separator) if p.strip())
        return value

    return split


class _Section(BaseSettings):
    """A section: its fields read from ``TRANSNORM_<FIELD>``; keyword arguments win."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_ignore_empty=True,
        frozen=True,
        extra="forbid",
        validate_default=True,
        cli_kebab_case=True,
        cli_implicit_flags=True,
    )

    @field_validator("*", mode="after")
    @classmethod
    def _expand_user(cls, value: Any) -> Any:
        if isinstance(value, tuple) and value and all(isinstance(v, Path) for v in value):
            return tuple(p.expanduser() for p in value)
        return value.expanduser() if isinstance(value, Path) else value


class PipelineSettings(_Section):
    """How documents are read, detected and translated (the translation engine's settings among them)."""

    models_dir: Path = Field(default_factory=default_models_dir, description="installed model packages")
    beam_size: int = Field(2, ge=1, le=16, description="beam size")
    compute_type: ComputeType = Field("int8", description="CTranslate2 compute type")
    intra_threads: int = Field(
        0,
        ge=0,
        description="CTranslate2 threads per translation (0, with inter_threads 1: one replica per core, "
        "one thread each)",
    )
    inter_threads: int = Field(1, ge=1, description="CTranslate2 translations run in parallel per model")
    max_batch_tokens: int = Field(
        4096,
        ge=1,
        description="source tokens per model batch (CTranslate2 batch_type tokens, as argostranslate)",
    )
    decoding_ratio: float = Field(2.0, gt=0, description="output tokens allowed per source token")
    decoding_extra: int = Field(10, ge=0, description="output tokens allowed on top of the ratio")
    decoding_cap: int = Field(400, ge=1, description="most output tokens for any sentence")
    cache_size: int = Field(20000, ge=0, description="translation cache entries (0: off)")
    max_bytes: int = Field(10 * 1024 * 1024, ge=1, description="largest document, in bytes")
    document_timeout: float = Field(300.0, ge=0, description="seconds per document, then deadline (0: none)")
    languages: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="languages the detector may name, comma-separated Argos codes (none: every language "
        "it knows); English is always possible",
    )

    preload: Annotated[tuple[str, ...], NoDecode] = Field(
        (),
        description="source languages whose packages load at start, comma-separated, or all (none: each "
        "loads when a sentence first needs it)",
    )
    max_loaded_models: int = Field(
        0, ge=0, description="most packages loaded at once; the least recently used is unloaded (0: no limit)"
    )
    max_models_memory: int = Field(
        0,
        ge=0,
        description="most megabytes of loaded packages (their files' size); the least recently used is "
        "unloaded (0: no limit)",
    )
    translator_socket: Path | None = Field(
        None,
        description="the host's translation process, its Unix socket: serve starts it there if none runs; "
        "normalize, batch and the library send it their sentences (none: serve and batch start their "
        "own, normalize and the library translate in-process)",
    )
    translator_timeout: float = Field(
        120.0,
        gt=0,
        description="seconds a call may wait for the translation process (restarts included) before its "
        "sentences are left untranslated (engine-error)",
    )

    _split_words = field_validator("languages", "preload", mode="before")(_split(","))

    @field_validator("languages", mode="after")
    @classmethod
    def _known_languages(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from .detect import all_languages

        unknown = sorted(set(value) - set(all_languages()) - {"en"})
        if unknown:
            raise ValueError(f"unknown language code(s) {', '.join(unknown)}")
        return value

    @field_validator("preload", mode="after")
    @classmethod
    def _preload_codes(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        bad = [code for code in value if not re.fullmatch(r"[a-z]{2,3}", code) and code != "all"]
        if bad:
            raise ValueError(f"not a language code: {', '.join(bad)} (Argos source codes such as zh, or all)")
        return value


class ModelsSettings(_Section):
    """Where ``transnorm models`` finds packages to install, and what it supports."""

    model_sources: Annotated[tuple[Path, ...], NoDecode] = Field(
        (Path("models"),),
        description="folders or .argosmodel files that `models setup` installs from "
        "(os.pathsep-separated; relative to the working directory)",
    )
    manifest: Path | None = Field(None, description="supported-packages manifest (default: the packaged one)")

    _split_paths = field_validator("model_sources", mode="before")(_split(os.pathsep))


class ServiceSettings(_Section):
    """The HTTP service."""

    host: str = Field("127.0.0.1", description="address `serve` binds")
    port: int = Field(8000, ge=0, le=65535, description="port `serve` binds")
    workers: int = Field(1, ge=1, description="gunicorn worker processes")
    http_threads: int = Field(16, ge=1, description="request threads per worker")
    request_timeout: int = Field(
        120,
        ge=1,
        description="seconds a request may take from its first byte to its response's last (408 while it "
        "is read, 503 if not answered, cut while it is written)",
    )
    header_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds a request's headers may take, extended by one per min_rate bytes (408 after)",
    )
    body_timeout: float = Field(
        10.0,
        gt=0,
        description="seconds a request's body may take, extended by one per min_rate bytes (408 after)",
    )
    min_rate: int = Field(
        500,
        ge=1,
        description="bytes per second a client must send (or read) to earn more time for its request "
        "(or response)",
    )
    max_connections: int = Field(
        10000,
        ge=1,
        description="connections a worker holds at once, slow and idle ones included (503 beyond)",
    )
    api_keys: CliSuppress[Annotated[tuple[str, ...], NoDecode]] = Field(
        (),
        repr=False,
        description="accepted API keys, comma-separated (none: no key needed); never logged, and no flag: "
        "a command line is visible to every user of the machine",
        json_schema_extra={"flag": False},
    )
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        (), description="origins allowed by CORS, comma-separated, or * (none: CORS off)"
    )
    max_batch_documents: int = Field(64, ge=1, description="documents per batch request")
    requests_per_minute: int = Field(
        0, ge=0, description="requests per minute per client to the translating endpoints (0: no limit)"
    )
    debug: bool = Field(False, description="log document text (never in production)")

    _split_words = field_validator("api_keys", "cors_origins", mode="before")(_split(","))


class BatchSettings(_Section):
    """Where ``transnorm batch`` runs."""

    engine: Literal["local", "ray"] = Field(
        "local",
        description="batch engine: local worker processes, or Ray Data (pip install 'transnorm[ray]')",
    )
    ray_address: str | None = Field(
        None,
        description="Ray cluster to join, e.g. ray://head:10001 or auto (none: start one on this machine)",
    )
    actors: int = Field(
        0, ge=0, description="Ray actors, each with its own loaded models (0: one per CPU of the cluster)"
    )


#: The sections of :class:`Settings`, and the subcommands that take their fields as flags.
SECTIONS: dict[str, tuple[type[_Section], tuple[str, ...]]] = {
    "pipeline": (PipelineSettings, ("normalize", "batch", "serve", "models")),
    "models": (ModelsSettings, ("models",)),
    "service": (ServiceSettings, ("serve",)),
    "batch": (BatchSettings, ("batch",)),
}


class Settings(BaseSettings):
    """All settings, in sections: ``settings.pipeline.beam_size``, ``settings.service.port`` ...

    Each section reads its fields from the environment; keyword arguments win, either by
    section (``Settings(pipeline={"beam_size": 4})``) or flat (``Settings(beam_size=4)``: every
    field name is unique across sections).
    """

    model_config = SettingsConfigDict(frozen=True, extra="forbid")
    SECTION_NAMES: ClassVar[tuple[str, ...]] = tuple(SECTIONS)

    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    models: ModelsSettings = Field(default_factory=ModelsSettings)
    service: ServiceSettings = Field(default_factory=ServiceSettings)
    batch: BatchSettings = Field(default_factory=BatchSettings)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource, *_: Any, **__: Any
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)  # the sections read the environment, field by field

    @model_validator(mode="before")
    @classmethod
    def _by_section(cls, values: Any) -> Any:
        """Flat keyword arguments go to the section that declares them."""
        if not isinstance(values, dict):
            return values
        out: dict[str, Any] = {}
        for name, value in values.items():
            if name in SECTIONS:
                given = value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value
                out.setdefault(name, {}).update(given)
                continue
            section = section_of(name)
            if section is None:
                raise ValueError(f"unknown setting {name!r}")
            out.setdefault(section, {})[name] = value
        return out

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Read ``TRANSNORM_*`` variables; flat ``overrides`` that are not None win."""
        return cls(**{k: v for k, v in overrides.items() if v is not None})

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with flat ``overrides`` (those not None) applied and validated."""
        values = {name: getattr(self, name).model_dump() for name in SECTIONS}
        for name, value in overrides.items():
            if value is not None:
                section = section_of(name)
                if section is None:
                    raise SettingsError(f"invalid setting: unknown setting {name!r}")
                values[section][name] = value
        return type(self)(**values)

    def on_cores(self, cores: int) -> Settings:
        """These settings for a process that owns ``cores`` cores: that many translations at a
        time, one thread each (parallel sub-batches scale better than threads inside one batch:
        docs/benchmarks.md) — unless the threads were set explicitly."""
        if self.pipeline.intra_threads == 0 and self.pipeline.inter_threads == 1:
            return self.with_overrides(intra_threads=1, inter_threads=max(1, cores))
        return self

    def to_env(self) -> dict[str, str]:
        """These settings as ``TRANSNORM_*`` variables, for child processes (gunicorn workers)."""
        env = {}
        for section, name, _ in setting_fields():
            value = getattr(getattr(self, section), name)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = (os.pathsep if name == "model_sources" else ",").join(map(str, value))
            elif isinstance(value, bool):
                value = "true" if value else "false"
            env[env_name(name)] = str(value)
        return env


def setting_fields() -> Iterator[tuple[str, str, FieldInfo]]:
    """Every setting: (section, field name, field)."""
    for section, (model, _) in SECTIONS.items():
        for name, spec in model.model_fields.items():
            yield section, name, spec


def section_of(field: str) -> str | None:
    return next((section for section, name, _ in setting_fields() if name == field), None)


def commands(field: str) -> tuple[str, ...]:
    """The subcommands that take ``field`` as a flag (``models`` means every ``models`` action)."""
    section = section_of(field)
    if section is None:
        return ()
    extra = SECTIONS[section][0].model_fields[field].json_schema_extra
    if isinstance(extra, dict) and extra.get("flag") is False:
        return ()
    return SECTIONS[section][1]


def env_name(field: str) -> str:
    return ENV_PREFIX + field.upper()


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def describe(exc: ValidationError) -> str:
    """One line per bad setting, naming its variable and flag, the allowed values and what was given."""
    lines = []
    for error in exc.errors(include_url=False):
        loc = [str(x) for x in error["loc"]]
        field = loc[-1] if loc else "?"
        if loc and loc[0] in SECTIONS and len(loc) == 1:
            field = loc[0]
        message = error["msg"].removeprefix("Value error, ")
        ctx = error.get("ctx") or {}
        section = section_of(field)
        spec = SECTIONS[section][0].model_fields[field] if section else None
        if spec is not None and error["type"] in ("greater_than_equal", "less_than_equal", "greater_than"):
            low = next((m.ge for m in spec.metadata if getattr(m, "ge", None) is not None), None)
            high = next((m.le for m in spec.metadata if getattr(m, "le", None) is not None), None)
            if low is not None and high is not None:
                message = f"must be from {low} to {high}"
            elif low is not None:
                message = f"must be at least {low}"
            elif "gt" in ctx:
                message = f"must be greater than {ctx['gt']}"
        elif error["type"] == "literal_error":
            message = f"must be one of {ctx.get('expected', '')}"
        elif error["type"] == "extra_forbidden" or spec is None:
            lines.append(message if "unknown setting" in message else f"unknown setting {field!r}")
            continue
        lines.append(f"{field} ({env_name(field)}, {flag_name(field)}) {message}; got {error.get('input')!r}")
    return "invalid setting: " + "; ".join(lines)
