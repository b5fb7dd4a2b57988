"""The library call at the heart: bytes in, a :class:`~transnorm.document.Document` out.

:class:`Pipeline` holds what is loaded once (the translation engine, the langid model) and runs
the stages: plan (decode, segment, detect, chrome) → translate → assemble. The sequence is
written once, in :meth:`Pipeline.normalize_many`; every shell calls it, and the shells that
share translation across callers (the HTTP service, the batch mode) pass their own translate
strategy instead of copying it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

from .assemble import assemble
from .decode import decode
from .detect import Detector
from .document import Document
from .errors import OptionsError, TooLargeError, TransnormError
from .options import Options
from .packages import PackageInfo, by_source
from .plan import Plan, plan_document
from .settings import Settings
from .translate import Engine, Request, Result, Translate, translate_requests

#: One document to normalize: its bytes (or text), options (None: defaults) and id.
Item = tuple[bytes | str, Options | None, str | None]


class Pipeline:
    """Loaded models plus the stages; call it like a function.

    ``engine`` defaults to an :class:`~transnorm.engine.ArgosEngine` over ``settings.models_dir``
    (models load on first use); tests and detection-only runs pass their own.
    """

    def __init__(
        self, settings: Settings | None = None, engine: Engine | None = None, detector: Detector | None = None
    ) -> None:
        self.settings = settings or Settings.from_env()
        if engine is None:
            from .engine import ArgosEngine

            engine = ArgosEngine(self.settings)
        self.engine = engine
        self.detector = detector or Detector(self.settings.languages)

    def __call__(self, data: bytes | str, options: Options | None = None, id: str | None = None) -> Document:
        """Normalize one document; raises :class:`~transnorm.errors.TransnormError` for bad input."""
        result = self.normalize_many([(data, options, id)])[0]
        if isinstance(result, TransnormError):
            raise result
        return result

    def normalize_many(
        self, items: Sequence[Item], translate: Translate | None = None
    ) -> list[Document | TransnormError]:
        """Normalize several documents, translating all their sentences together.

        ``translate`` is the translation strategy (default: this pipeline's engine, directly).
        A document with bad input yields its error in place; the others are unaffected.
        """
        plans: list[Plan | TransnormError] = []
        for data, options, doc_id in items:
            try:
                plans.append(self.plan(data, options, doc_id))
            except TransnormError as exc:
                plans.append(exc)
        pending = [unit for plan in plans if isinstance(plan, Plan) for unit in plan.pending]
        if pending:
            results = (translate or self.translate)([unit.request for unit in pending])
            for unit, result in zip(pending, results, strict=True):
                unit.result = result
        return [plan if isinstance(plan, TransnormError) else self.assemble(plan) for plan in plans]

    def plan(self, data: bytes | str, options: Options | None = None, doc_id: str | None = None) -> Plan:
        """Decode and plan one document; raises :class:`~transnorm.errors.TransnormError` for bad input."""
        options = options or Options()
        size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
        if size > self.settings.max_bytes:
            raise TooLargeError.of(size, self.settings.max_bytes)
        if options.target not in self.targets():
            raise OptionsError(
                f"no installed package translates into {options.target!r}; targets: "
                + ", ".join(sorted(self.targets()))
            )
        return plan_document(
            decode(data, options.errors), options, self.detector, self.packages_for(options), doc_id
        )

    def translate(self, requests: Sequence[Request]) -> list[Result]:
        """The direct strategy: this pipeline's engine, one call per language and beam."""
        return translate_requests(self.engine, requests)

    def assemble(self, plan: Plan) -> Document:
        """Build the document of a plan whose translations are in."""
        return assemble(plan, list(self.engine.packages().values()))

    def targets(self) -> set[str]:
        """Languages this pipeline can write: English, and the targets of installed packages."""
        return {"en"} | {p.to_code for p in self.engine.packages().values()}

    def packages_for(self, options: Options) -> Mapping[str, PackageInfo]:
        """The packages that translate into ``options.target``, by source language."""
        packages = self.engine.packages().values()
        if options.target == "en":
            return by_source(packages)
        return {
            p.from_code: p for p in packages if (p.from_code, p.to_code) == (options.source, options.target)
        }


@functools.lru_cache(maxsize=1)
def default_pipeline() -> Pipeline:
    """The pipeline built from the environment's settings, loaded on first use."""
    return Pipeline(Settings.from_env())


def normalize(
    data: bytes | str, options: Options | Mapping[str, Any] | None = None, id: str | None = None
) -> Document:
    """Normalize one document with the default pipeline (settings from ``TRANSNORM_*``)."""
    if not isinstance(options, Options):
        options = Options.from_mapping(options)
    return default_pipeline()(data, options, id)
