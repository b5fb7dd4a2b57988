"""Stage 5, translate: foreign sentences → English with CTranslate2 + SentencePiece.

Inference runs directly on the files of installed Argos packages (what argostranslate does
underneath), without argostranslate's sentence splitters, which download models on first use.
All sentences of one language go to the model in one ``translate_batch`` call.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .config import Settings
from .errors import ModelError


@dataclass(frozen=True)
class ModelInfo:
    """An installed X→en package."""

    from_code: str
    to_code: str
    package: str
    version: str
    path: Path

    def to_dict(self) -> dict[str, str]:
        return {
            "package": self.package,
            "version": self.version,
            "from": self.from_code,
            "to": self.to_code,
        }


@dataclass(frozen=True, slots=True)
class Translation:
    text: str
    #: exp(mean log-probability per output token), in (0, 1].
    score: float
    tokens: int
    #: The model's next-best hypotheses, best first (only when asked for).
    alternatives: tuple[str, ...] = ()


class Engine(Protocol):
    """What the pipeline needs from a translation backend."""

    def models(self) -> Mapping[str, ModelInfo]:
        """Installed models translating into English, by source language."""
        ...

    def model_for(self, source: str, target: str) -> ModelInfo | None:
        """The installed model for ``source`` → ``target``, if any."""
        ...

    def pairs(self) -> Mapping[tuple[str, str], ModelInfo]:
        """Every installed model, by (source, target)."""
        ...

    def translate(
        self,
        lang: str,
        sentences: Sequence[str],
        beam_size: int | None = None,
        target: str = "en",
        alternatives: int = 0,
    ) -> list[Translation]:
        """Translate ``sentences`` (all in ``lang``) into ``target``, in order, each with up to
        ``alternatives`` next-best hypotheses (the pipeline passes it only when it is not 0)."""
        ...


class NoEngine:
    """An engine with no models: every foreign span stays untranslated (detection-only runs)."""

    def models(self) -> Mapping[str, ModelInfo]:
        return {}

    def model_for(self, source: str, target: str) -> ModelInfo | None:
        return None

    def pairs(self) -> Mapping[tuple[str, str], ModelInfo]:
        return {}

    def translate(
        self,
        lang: str,
        sentences: Sequence[str],
        beam_size: int | None = None,
        target: str = "en",
        alternatives: int = 0,
    ) -> list[Translation]:
        raise ModelError(f"no installed package translates {lang} into {target}")


def detokenize(pieces: Sequence[str]) -> str:
    """SentencePiece pieces → text, including byte-fallback pieces such as ``<0xE4>``."""
    out: list[str] = []
    pending = bytearray()
    for piece in pieces:
        if len(piece) == 6 and piece.startswith("<0x") and piece.endswith(">"):
            try:
                pending.append(int(piece[3:5], 16))
                continue
            except ValueError:
                pass
        if pending:
            out.append(pending.decode("utf-8", "replace"))
            pending.clear()
        out.append(piece)
    if pending:
        out.append(pending.decode("utf-8", "replace"))
    return "".join(out).replace("▁", " ").strip()


def decoding_limit(source_tokens: int, settings: Settings) -> int:
    """Most output tokens allowed for a source of ``source_tokens``: stops runaway repetition."""
    limit = int(source_tokens * settings.decoding_ratio) + settings.decoding_extra
    return max(1, min(settings.decoding_cap, limit))


class LRUCache:
    """A thread-safe least-recently-used map with hit/miss counters."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Any) -> Any | None:
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Any, value: Any) -> None:
        if self.size <= 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


class _Loaded:
    def __init__(self, info: ModelInfo, settings: Settings) -> None:
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
        except (RuntimeError, ValueError) as exc:
            raise ModelError(f"cannot load {info.package} {info.version} from {model_dir}: {exc}") from exc
        self.sp = sentencepiece.SentencePieceProcessor(model_file=str(sp_path))


class ArgosEngine:
    """Translates with the X→en Argos packages installed in ``settings.models_dir``.

    Models load on first use, or all at once with :meth:`load` (servers do this before they
    report ready). The LRU cache is keyed by (package, version, beam size, hypotheses, sentence).
    """

    def __init__(self, settings: Settings, infos: Sequence[ModelInfo] | None = None) -> None:
        from .models import installed

        self.settings = settings
        found = installed(settings.models_dir) if infos is None else list(infos)
        self._pairs = {(i.from_code, i.to_code): i for i in found}
        self._models = {i.from_code: i for i in found if i.to_code == "en"}
        self._loaded: dict[tuple[str, str], _Loaded] = {}
        self._lock = threading.Lock()
        self.cache = LRUCache(settings.cache_size)

    def models(self) -> Mapping[str, ModelInfo]:
        return self._models

    @property
    def loaded(self) -> bool:
        """Whether any CTranslate2 model is loaded in this process (it then must not fork)."""
        return bool(self._loaded)

    def model_for(self, source: str, target: str) -> ModelInfo | None:
        return self._pairs.get((source, target))

    def pairs(self) -> Mapping[tuple[str, str], ModelInfo]:
        return self._pairs

    def load(self) -> None:
        """Load every installed model now."""
        for pair in self._pairs:
            self._get(pair)

    def _get(self, pair: tuple[str, str]) -> _Loaded:
        loaded = self._loaded.get(pair)
        if loaded is None:
            with self._lock:
                loaded = self._loaded.get(pair)
                if loaded is None:
                    loaded = self._loaded[pair] = _Loaded(self._pairs[pair], self.settings)
        return loaded

    def translate(
        self,
        lang: str,
        sentences: Sequence[str],
        beam_size: int | None = None,
        target: str = "en",
        alternatives: int = 0,
    ) -> list[Translation]:
        info = self._pairs.get((lang, target))
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
            model = self._get((lang, target))
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
                texts = [detokenize(hyp[:limit]) for hyp in result.hypotheses]
                best = result.hypotheses[0][:limit]
                score = math.exp(result.scores[0]) if result.scores else 0.0
                others = tuple(dict.fromkeys(t for t in texts[1:] if t and t != texts[0]))
                translation = Translation(texts[0], round(min(1.0, score), 4), len(best), others)
                self.cache.put((info.package, info.version, beam, hypotheses, sentence), translation)
                for i in todo[sentence]:
                    results[i] = translation
        return [r for r in results if r is not None]
