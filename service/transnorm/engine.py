"""Inference: CTranslate2 + SentencePiece on installed Argos packages.

What argostranslate does underneath, without its sentence splitters (they download models on
first use): the package's SentencePiece model encodes each sentence, ``translate_batch`` decodes
the whole list in one call, and the same SentencePiece model decodes the target pieces.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .errors import ModelError
from .packages import PackageInfo, installed
from .settings import Settings
from .translate import EngineStats, Translation


def decoding_limit(source_tokens: int, settings: Settings) -> int:
    """Most output tokens allowed for a source of ``source_tokens``: stops runaway repetition."""
    limit = int(source_tokens * settings.decoding_ratio) + settings.decoding_extra
    return max(1, min(settings.decoding_cap, limit))


class LRUCache:
    """A thread-safe least-recently-used map with hit/miss counters."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)


class NoEngine:
    """An engine with no packages: every foreign span stays untranslated (detection-only runs)."""

    loaded = False

    def packages(self) -> Mapping[tuple[str, str], PackageInfo]:
        return {}

    def load(self) -> None:
        pass

    def stats(self) -> EngineStats:
        return EngineStats()

    def translate(
        self,
        lang: str,
        sentences: Sequence[str],
        beam_size: int | None = None,
        target: str = "en",
        alternatives: int = 0,
    ) -> list[Translation]:
        raise ModelError(f"no installed package translates {lang} into {target}")


class _Model:
    """One loaded package: its CTranslate2 translator and SentencePiece processor."""

    def __init__(self, info: PackageInfo, settings: Settings) -> None:
        import ctranslate2
        import sentencepiece

        model_dir = info.path / "model"
        sp_path = info.path / "sentencepiece.model"
        if not (model_dir / "model.bin").is_file():
            raise ModelError(f"package {info.package} {info.version}: {model_dir}/model.bin is missing")
        if not sp_path.is_file():
            raise ModelError(
                f"package {info.package} {info.version}: only SentencePiece packages are supported "
                f"({sp_path} is missing)"
            )
        try:
            self.translator = ctranslate2.Translator(
                str(model_dir),
                device="cpu",
                compute_type=settings.compute_type,
                inter_threads=settings.inter_threads,
                intra_threads=settings.intra_threads,
            )
            self.sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))
        except (RuntimeError, ValueError, OSError) as exc:
            raise ModelError(f"cannot load {info.package} {info.version} from {info.path}: {exc}") from exc

    def detokenize(self, pieces: Sequence[str]) -> str:
        """Target pieces → text with the package's own SentencePiece model (byte fallback included)."""
        return self.sp.decode(list(pieces)).strip()


class ArgosEngine:
    """Translates with the Argos packages installed in a models folder.

    Models load on first use, or all at once with :meth:`load`. The LRU cache is keyed by
    (package, version, beam size, hypotheses, sentence).
    """

    def __init__(self, settings: Settings, packages: Sequence[PackageInfo] | None = None) -> None:
        self.settings = settings
        found = installed(settings.models_dir) if packages is None else list(packages)
        self._packages = {(p.from_code, p.to_code): p for p in found}
        self._models: dict[tuple[str, str], _Model] = {}
        self._lock = threading.Lock()
        self.cache = LRUCache(settings.cache_size)

    @classmethod
    def from_folder(cls, models_dir: str | Path, settings: Settings | None = None) -> ArgosEngine:
        """An engine over the packages installed in ``models_dir``."""
        settings = (settings or Settings.from_env()).with_overrides(models_dir=models_dir)
        return cls(settings)

    def packages(self) -> Mapping[tuple[str, str], PackageInfo]:
        return self._packages

    @property
    def loaded(self) -> bool:
        return bool(self._models)

    def load(self) -> None:
        for pair in self._packages:
            self._model(pair)

    def stats(self) -> EngineStats:
        return EngineStats(self.cache.hits, self.cache.misses, len(self._models))

    def _model(self, pair: tuple[str, str]) -> _Model:
        model = self._models.get(pair)
        if model is None:
            with self._lock:
                model = self._models.get(pair)
                if model is None:
                    model = self._models[pair] = _Model(self._packages[pair], self.settings)
        return model

    def translate(
        self,
        lang: str,
        sentences: Sequence[str],
        beam_size: int | None = None,
        target: str = "en",
        alternatives: int = 0,
    ) -> list[Translation]:
        info = self._packages.get((lang, target))
        if info is None:
            raise ModelError(f"no installed package translates {lang} into {target}")
        hypotheses = 1 + alternatives
        # n-best lists come from the beam: it must be at least as wide as the list.
        beam = max(beam_size or self.settings.beam_size, hypotheses)
        results: list[Translation | None] = []
        todo: dict[str, list[int]] = {}
        for i, sentence in enumerate(sentences):
            hit = self.cache.get((info.package, info.version, beam, hypotheses, sentence))
            results.append(hit)
            if hit is None:
                todo.setdefault(sentence, []).append(i)
        if todo:
            model = self._model((lang, target))
            unique = list(todo)
            tokens = model.sp.encode(unique, out_type=str)
            longest = max(len(t) for t in tokens)
            output = model.translator.translate_batch(
                tokens,
                beam_size=beam,
                num_hypotheses=hypotheses,
                max_batch_size=self.settings.max_batch_size,
                max_decoding_length=decoding_limit(longest, self.settings),
                return_scores=True,
            )
            for sentence, src, result in zip(unique, tokens, output, strict=True):
                limit = decoding_limit(len(src), self.settings)
                texts = [model.detokenize(hyp[:limit]) for hyp in result.hypotheses]
                best = result.hypotheses[0][:limit]
                score = math.exp(result.scores[0]) if result.scores else 0.0
                others = tuple(dict.fromkeys(t for t in texts[1:] if t and t != texts[0]))
                translation = Translation(texts[0], round(min(1.0, score), 4), len(best), others)
                self.cache.put(
                    (info.package, info.version, beam, hypotheses, sentence),
                    Translation(translation.text, translation.score, translation.tokens, others, cached=True),
                )
                for i in todo[sentence]:
                    results[i] = translation
        return [r for r in results if r is not None]
