"""Inference: CTranslate2 + SentencePiece on installed Argos packages.

What argostranslate does underneath, without its sentence splitters (they download models on
first use): the package's SentencePiece model encodes each sentence, ``translate_batch`` decodes
the whole list in one call — with the package's ``target_prefix``, ``replace_unknowns``, length
penalty 0.2 and token-based batches, as argostranslate calls it — and the same SentencePiece
model decodes the target pieces. Deliberate differences: an output-length guard, beam 2 by
default, and sentences longer than the model's positions split into pieces it can take.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cachetools

from .errors import ModelError
from .packages import PackageInfo, installed, read_model_header
from .settings import PipelineSettings, Settings, default_models_dir
from .translate import EngineStats, Translation

#: argostranslate's length penalty (scores are cumulative log-probabilities / length ** this).
LENGTH_PENALTY = 0.2
#: Positions assumed when a model stores none (CTranslate2 itself cuts inputs at 1024).
DEFAULT_POSITIONS = 512
# Where a long sentence may be cut first: after clause punctuation.
_CLAUSE = re.compile(r"(?<=[，、；：,;:])")


#: The search bounds (see ``ArgosEngine._run``): a rung of this ladder, each about 1.5 times the
#: one below, in steps of 8 tokens.
FIRST_RUNG = 16
RUNG_RATIO = 1.5
LIMIT_STEP = 8


def decoding_limit(source_tokens: int, settings: PipelineSettings) -> int:
    """Most output tokens allowed for a source of ``source_tokens``: stops runaway repetition."""
    limit = int(source_tokens * settings.decoding_ratio) + settings.decoding_extra
    return max(1, min(settings.decoding_cap, limit))


def search_bound(limit: int, settings: PipelineSettings) -> int:
    """How far the beam search of a piece with this output ``limit`` runs: the first rung of the
    ladder 16, 24, 40, 64, 96, 144 ... at or above it (at most the decoding cap). A function of
    the piece alone, so its words never depend on its company, and few distinct values, so a
    call's pieces share few searches (each search step costs about the same whatever its batch)."""
    rung = FIRST_RUNG
    while rung < limit:
        rung = -(-int(rung * RUNG_RATIO) // LIMIT_STEP) * LIMIT_STEP
    return min(rung, settings.decoding_cap)


def model_positions(model_dir: Path) -> int:
    """How many positions the model has: the rows of its stored position encodings (read from
    ``model.bin`` without loading it), else :data:`DEFAULT_POSITIONS`."""
    try:
        variables = read_model_header(model_dir / "model.bin").variables
    except ModelError:
        return DEFAULT_POSITIONS
    rows = [
        dims[0] for name, dims in variables.items() if name.endswith("position_encodings/encodings") and dims
    ]
    return min(rows) if rows else DEFAULT_POSITIONS


class TranslationCache:
    """Translations by (package, version, beam, hypotheses, sentence): a thread-safe
    least-recently-used cache (cachetools') with hit and miss counters."""

    def __init__(self, size: int) -> None:
        self._data: cachetools.LRUCache[Hashable, Translation] | None = (
            cachetools.LRUCache(size) if size > 0 else None
        )
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Translation | None:
        with self._lock:
            value = self._data.get(key) if self._data is not None else None
            if value is None:
                self.misses += 1
            else:
                self.hits += 1
            return value

    def put(self, key: Hashable, value: Translation) -> None:
        if self._data is not None:
            with self._lock:
                self._data[key] = value


def _release_freed_memory() -> None:
    """Give the memory of unloaded models back to the system: glibc keeps freed heap pages
    (measured: 144 of 267 MB kept after unloading three 76 MB models, 10 MB after a trim)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


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

    def __init__(self, info: PackageInfo, settings: PipelineSettings) -> None:
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
        self.prefix = [info.target_prefix] if info.target_prefix else []
        try:
            config = json.loads((model_dir / "config.json").read_text())
        except (OSError, ValueError):
            config = {}
        positions = model_positions(model_dir)
        added = bool(config.get("add_source_bos")) + bool(config.get("add_source_eos"))
        #: The most source tokens one call may carry; longer sentences are split.
        self.max_source_tokens = max(8, positions - added)
        #: The most output tokens the decoder has positions for.
        self.max_output_tokens = max(1, positions - len(self.prefix) - 1)

    def detokenize(self, pieces: Sequence[str]) -> str:
        """Target pieces → text with the package's own SentencePiece model (byte fallback included).

        Like argostranslate, a ``▁`` left over (a target piece the SentencePiece model does not
        know) is a space.
        """
        return " ".join(self.sp.decode(list(pieces)).replace("▁", " ").split())

    def pieces(self, sentence: str, tokens: list[str]) -> list[list[str]]:
        """``tokens`` of ``sentence`` in pieces the model can take: whole if it fits; else clauses
        packed up to the limit; a clause still too long, in windows of the limit."""
        limit = self.max_source_tokens
        if len(tokens) <= limit:
            return [tokens]
        out: list[list[str]] = []
        current: list[str] = []
        for clause in filter(None, _CLAUSE.split(sentence)):
            clause_tokens = self.sp.encode(clause, out_type=str)
            if len(clause_tokens) > limit:
                if current:
                    out.append(current)
                    current = []
                out.extend(clause_tokens[i : i + limit] for i in range(0, len(clause_tokens), limit))
            elif len(current) + len(clause_tokens) > limit:
                out.append(current)
                current = clause_tokens
            else:
                current = current + clause_tokens
        if current:
            out.append(current)
        return out


class ArgosEngine:
    """Translates with the Argos packages installed in a models folder.

    A package loads when a sentence first needs it (or before serving: :meth:`load`, the
    ``preload`` setting); with ``max_loaded_models`` or ``max_models_memory`` set, the least
    recently used packages are unloaded to stay within them. Loads, unloads and load time are
    in :meth:`stats`. The translation cache is keyed by (package, version, beam size,
    hypotheses, sentence).
    """

    def __init__(self, settings: PipelineSettings, packages: Sequence[PackageInfo] | None = None) -> None:
        self.settings = settings
        folder = Path(settings.models_dir)
        # A folder named by the user must exist; the default one is simply empty until set up.
        if packages is None and not folder.is_dir() and folder != default_models_dir():
            raise ModelError(
                f"the models folder {settings.models_dir} does not exist (--models-dir, "
                "TRANSNORM_MODELS_DIR); create it, or install packages into it with `transnorm models setup`"
            )
        found = installed(settings.models_dir) if packages is None else list(packages)
        self._packages = {(p.from_code, p.to_code): p for p in found}
        # Loaded models, least recently used first; _lock guards it and the counters, and a
        # package being loaded holds its own lock (other packages load and translate meanwhile).
        self._models: OrderedDict[tuple[str, str], _Model] = OrderedDict()
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self._sizes: dict[tuple[str, str], int] = {}
        self._counts = {"loads": 0, "unloads": 0, "failures": 0}
        self._load_seconds = 0.0
        self.cache = TranslationCache(settings.cache_size)

    @classmethod
    def from_folder(cls, models_dir: str | Path, settings: Settings | None = None) -> ArgosEngine:
        """An engine over the packages installed in ``models_dir``."""
        settings = (settings or Settings.from_env()).with_overrides(models_dir=models_dir)
        return cls(settings.pipeline)

    def packages(self) -> Mapping[tuple[str, str], PackageInfo]:
        return self._packages

    @property
    def loaded(self) -> bool:
        return bool(self._models)

    def preload_pairs(self, languages: Sequence[str] | None = None) -> list[tuple[str, str]]:
        """The packages to load before serving: those from ``languages`` (source codes, or
        ``all``; default: ``settings.preload``). Raises :class:`ModelError` for a code with no
        package, or more packages than ``max_loaded_models`` allows."""
        codes = self.settings.preload if languages is None else tuple(languages)
        if "all" in codes:
            pairs = list(self._packages)
        else:
            missing = sorted(c for c in codes if not any(f == c for f, _ in self._packages))
            if missing:
                raise ModelError(f"preload: no installed package translates from {', '.join(missing)}")
            pairs = [pair for pair in self._packages if pair[0] in codes]
        bound = self.settings.max_loaded_models
        if bound and len(pairs) > bound:
            raise ModelError(
                f"preload names {len(pairs)} packages but at most {bound} may be loaded at once "
                "(TRANSNORM_PRELOAD, TRANSNORM_MAX_LOADED_MODELS)"
            )
        return pairs

    def load(self, languages: Sequence[str] | None = None) -> None:
        """Load the packages of :meth:`preload_pairs` now; the others load when first needed."""
        for pair in self.preload_pairs(languages):
            self._model(pair)

    def stats(self) -> EngineStats:
        with self._lock:
            return EngineStats(
                self.cache.hits,
                self.cache.misses,
                len(self._models),
                self._counts["loads"],
                self._counts["unloads"],
                round(self._load_seconds, 3),
                self._counts["failures"],
                tuple(self._packages[pair].package for pair in self._models),
                sum(self._size(pair) for pair in self._models),
            )

    def _size(self, pair: tuple[str, str]) -> int:
        """The package's size on disk (its model files and SentencePiece model), in bytes."""
        if pair not in self._sizes:
            path = self._packages[pair].path
            files = [*(path / "model").glob("*"), path / "sentencepiece.model"]
            self._sizes[pair] = sum(f.stat().st_size for f in files if f.is_file())
        return self._sizes[pair]

    def _model(self, pair: tuple[str, str]) -> _Model:
        """The loaded model of ``pair``, loaded now if it is not (unloading the least recently
        used first when the bound would be passed)."""
        with self._lock:
            model = self._models.get(pair)
            if model is not None:
                self._models.move_to_end(pair)
                return model
            gate = self._loading.setdefault(pair, threading.Lock())
        with gate:
            with self._lock:
                model = self._models.get(pair)
                if model is not None:
                    self._models.move_to_end(pair)
                    return model
                evicted = self._make_room(pair)
            if evicted:
                del evicted
                _release_freed_memory()
            started = time.perf_counter()
            try:
                model = _Model(self._packages[pair], self.settings)
            except ModelError:
                with self._lock:
                    self._counts["failures"] += 1
                raise
            with self._lock:
                self._models[pair] = model
                self._counts["loads"] += 1
                self._load_seconds += time.perf_counter() - started
            return model

    def _make_room(self, pair: tuple[str, str]) -> list[_Model]:
        """Unload the least recently used models until ``pair`` fits the bounds (under _lock);
        returns them (a call still translating with one keeps it until it ends)."""
        most = self.settings.max_loaded_models
        budget = self.settings.max_models_memory * 1_000_000
        incoming = self._size(pair) if budget else 0
        evicted = []
        while self._models and (
            (most and len(self._models) >= most)
            or (budget and sum(map(self._size, self._models)) + incoming > budget)
        ):
            evicted.append(self._models.popitem(last=False)[1])
            self._counts["unloads"] += 1
        return evicted

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
            for sentence, translation in zip(unique, self._run(model, unique, beam, hypotheses), strict=True):
                self.cache.put(
                    (info.package, info.version, beam, hypotheses, sentence),
                    Translation(
                        translation.text,
                        translation.score,
                        translation.tokens,
                        translation.alternatives,
                        True,
                    ),
                )
                for i in todo[sentence]:
                    results[i] = translation
        return [r for r in results if r is not None]

    def _run(self, model: _Model, sentences: list[str], beam: int, hypotheses: int) -> list[Translation]:
        """Translate every piece of ``sentences`` (grouped by search bound); pieces are joined back."""
        pieces: list[list[str]] = []
        owners: list[int] = []
        for i, (sentence, tokens) in enumerate(
            zip(sentences, model.sp.encode(sentences, out_type=str), strict=True)
        ):
            for piece in model.pieces(sentence, tokens):
                pieces.append(piece)
                owners.append(i)
        prefix = model.prefix
        # How long a piece's beam search may run depends on the piece alone, never on what it is
        # batched with (a longer search can end on other words): its limit, rounded up to a rung
        # of the ladder (search_bound), and each rung is a call of its own; the output is then cut
        # to the piece's own limit. Rungs 1.5x apart, rather than every 8 tokens, reach what one
        # call over all the sentences costs (docs/benchmarks: a search step costs about the same
        # for 4 sentences as for 40, so fewer, fuller calls win).
        groups: dict[int, list[int]] = {}
        for i, piece in enumerate(pieces):
            limit = decoding_limit(len(piece), self.settings)
            groups.setdefault(search_bound(limit, self.settings), []).append(i)
        # Every group is queued at once (asynchronous calls), the largest first, so that the
        # translator's replicas (inter_threads) work on groups side by side. A group is cut only
        # where it is more than a replica's share of the whole: on a CPU, a small batch costs
        # about what a large one does (each step reads all the weights), so halving small groups
        # doubles the work.
        share = math.ceil(sum(map(len, pieces)) / self.settings.inter_threads)
        pending: list[tuple[list[int], list[Any]]] = []
        for bound, members in sorted(groups.items(), key=lambda g: -sum(len(pieces[i]) for i in g[1])):
            batch = [pieces[i] for i in members]
            futures = model.translator.translate_batch(
                batch,
                target_prefix=[prefix] * len(batch) if prefix else None,
                replace_unknowns=True,
                length_penalty=LENGTH_PENALTY,
                batch_type="tokens",
                max_batch_size=min(self.settings.max_batch_tokens, max(max(map(len, batch)), share)),
                beam_size=beam,
                num_hypotheses=hypotheses,
                max_decoding_length=min(model.max_output_tokens, bound + len(prefix)),
                return_scores=True,
                asynchronous=True,
            )
            pending.append((members, futures))
        output: list[Any] = [None] * len(pieces)
        for members, futures in pending:
            for i, future in zip(members, futures, strict=True):
                output[i] = future.result()
        parts: list[list[tuple[list[str], float, list[str]]]] = [[] for _ in sentences]
        for owner, source, result in zip(owners, pieces, output, strict=True):
            limit = decoding_limit(len(source), self.settings)
            hyps = [h[len(prefix) :] if h[: len(prefix)] == prefix else h for h in result.hypotheses]
            best = hyps[0][:limit]
            length = max(1, len(result.hypotheses[0]))
            mean = result.scores[0] * length**LENGTH_PENALTY / length if result.scores else -math.inf
            others = [model.detokenize(h[:limit]) for h in hyps[1:]]
            parts[owner].append((best, mean, others))
        out = []
        for owner_parts in parts:
            tokens = sum(len(best) for best, _, _ in owner_parts)
            text = " ".join(model.detokenize(best) for best, _, _ in owner_parts).strip()
            mean = sum(m * max(1, len(best)) for best, m, _ in owner_parts) / max(1, tokens)
            score = round(min(1.0, math.exp(mean)), 4) if mean > -math.inf else 0.0
            # n-best lists of a sentence translated in pieces are not combined.
            others = owner_parts[0][2] if len(owner_parts) == 1 else []
            alternatives = tuple(dict.fromkeys(t for t in others if t and t != text))
            out.append(Translation(text, score, tokens, alternatives))
        return out
