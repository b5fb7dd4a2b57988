"""One loaded Argos package: its CTranslate2 translator and its SentencePiece model, which owns the
round trip (sentence → source pieces → target pieces → text, as argostranslate decodes), and what the
model can take (its positions: longer sentences are cut into pieces it can translate).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

from .errors import ModelError
from .packages import PackageInfo, read_model_header
from .settings import PipelineSettings

#: Positions assumed when a model stores none (CTranslate2 itself cuts inputs at 1024).
DEFAULT_POSITIONS = 512
# Where a long sentence may be cut first: after clause punctuation.
_CLAUSE = re.compile(r"(?<=[，、；：,;:])")


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


class LoadedPackage:
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
