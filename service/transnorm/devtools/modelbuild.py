"""Build real Argos packages with random weights, for tests and benchmarks.

A package made here has the official layout (``metadata.json``, ``sentencepiece.model``,
``model/`` in CTranslate2 format) and runs through the real engine; only its weights are random.
With an English-only target vocabulary its outputs are English words, so tests can tell a
translated span from an untouched one. It never claims to translate anything.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

SPECIALS = ["<unk>", "<s>", "</s>"]
#: Standard deviation of the random weights, times 1/sqrt(fan-in).
WEIGHT_SCALE = 1.0


def train_sentencepiece(texts: Iterable[str], prefix: Path, vocab_size: int = 1000) -> Path:
    """Train a SentencePiece model on ``texts``; returns ``prefix.model``."""
    import sentencepiece as spm

    lines = [line for text in texts for line in text.splitlines() if line.strip()]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        character_coverage=1.0,
        model_type="unigram",
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return Path(f"{prefix}.model")


def sentencepiece_vocabulary(model_path: Path) -> list[str]:
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(model_path))
    return [sp.id_to_piece(i) for i in range(sp.get_piece_size())]


def english_vocabulary(texts: Iterable[str], sentencepiece_model: Path, size: int = 400) -> list[str]:
    """Target pieces: the special pieces, then the most frequent lower-case English words of
    ``texts`` that are whole-word pieces (``▁word``) of the SentencePiece model, so that the
    model's own ``decode`` turns any output into text."""
    pieces = set(sentencepiece_vocabulary(sentencepiece_model))
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(w.lower() for w in re.findall(r"\b[A-Za-z]{2,}\b", text))
    words = [w for w, _ in counts.most_common() if "▁" + w in pieces][:size]
    return SPECIALS + ["▁" + w for w in words]


def build_transformer(
    out_dir: Path,
    source_vocab: Sequence[str],
    target_vocab: Sequence[str],
    layers: int = 1,
    d_model: int = 32,
    heads: int = 2,
    ffn: int = 64,
    seed: int = 0,
    quantization: str | None = None,
    shared_embeddings: bool = False,
    max_positions: int | None = None,
) -> Path:
    """Write a random-weight Transformer in CTranslate2 format with CTranslate2's model-spec API.

    ``shared_embeddings`` ties the source and target embeddings and the output projection, as
    OPUS-MT models do (the vocabularies must then be the same). ``max_positions`` stores
    sinusoidal position encodings for that many positions, as converted Marian models do: the
    model then refuses longer input ("No position encodings are defined for positions >= N").
    """
    from ctranslate2.specs import transformer_spec

    rng = np.random.default_rng(seed)

    def w(*shape: int) -> np.ndarray:
        return (WEIGHT_SCALE * rng.standard_normal(shape) / np.sqrt(shape[-1])).astype(np.float32)

    def norm(ln) -> None:
        ln.gamma = np.ones(d_model, np.float32)
        ln.beta = np.zeros(d_model, np.float32)

    def linear(spec, rows: int, cols: int) -> None:
        spec.weight = w(rows, cols)
        spec.bias = np.zeros(rows, np.float32)

    def feed_forward(spec) -> None:
        norm(spec.layer_norm)
        linear(spec.linear_0, ffn, d_model)
        linear(spec.linear_1, d_model, ffn)

    spec = transformer_spec.TransformerSpec.from_config(layers, heads)
    enc, dec = spec.encoder, spec.decoder
    enc.embeddings[0].weight = w(len(source_vocab), d_model)
    if shared_embeddings and list(source_vocab) != list(target_vocab):
        raise ValueError("shared embeddings need one vocabulary for source and target")
    norm(enc.layer_norm)
    for layer in enc.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)
        linear(layer.self_attention.linear[1], d_model, d_model)
        feed_forward(layer.ffn)
    dec.embeddings.weight = enc.embeddings[0].weight if shared_embeddings else w(len(target_vocab), d_model)
    norm(dec.layer_norm)
    linear(dec.projection, len(target_vocab), d_model)
    if "<unk>" in target_vocab:  # like a trained model, never answer "unknown"
        dec.projection.bias[list(target_vocab).index("<unk>")] = -1e4
    if shared_embeddings:
        dec.projection.weight = dec.embeddings.weight
    for layer in dec.layer:
        norm(layer.self_attention.layer_norm)
        linear(layer.self_attention.linear[0], 3 * d_model, d_model)
        linear(layer.self_attention.linear[1], d_model, d_model)
        norm(layer.attention.layer_norm)
        linear(layer.attention.linear[0], d_model, d_model)
        linear(layer.attention.linear[1], 2 * d_model, d_model)
        linear(layer.attention.linear[2], d_model, d_model)
        feed_forward(layer.ffn)
    if max_positions is not None:
        encodings = _sinusoids(max_positions, d_model)
        enc.position_encodings.encodings = encodings
        dec.position_encodings.encodings = encodings
    spec.register_source_vocabulary(list(source_vocab))
    spec.register_target_vocabulary(list(target_vocab))
    spec.validate()
    spec.optimize(quantization=quantization)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec.save(str(out_dir))
    return out_dir


def _sinusoids(positions: int, d_model: int) -> np.ndarray:
    position = np.arange(positions, dtype=np.float32)[:, None]
    scale = np.exp(-np.log(10000.0) * np.arange(0, d_model, 2, dtype=np.float32) / d_model)
    out = np.zeros((positions, d_model), dtype=np.float32)
    out[:, 0::2] = np.sin(position * scale)
    out[:, 1::2] = np.cos(position * scale)
    return out


def build_package_dir(
    out_dir: Path,
    from_code: str,
    corpus: Sequence[str],
    to_code: str = "en",
    version: str = "0.1",
    sentencepiece_model: Path | None = None,
    source_vocab: Sequence[str] | None = None,
    target_vocab: Sequence[str] | None = None,
    target_prefix: str = "",
    **model_args: object,
) -> Path:
    """Write an installed-layout package folder: metadata.json, sentencepiece.model, model/.

    The SentencePiece model is trained on ``corpus`` unless one is given; the source vocabulary is
    its pieces unless given; the target vocabulary defaults to English words from ``corpus``.
    ``target_prefix`` goes into metadata.json and the target vocabulary (argostranslate starts
    decoding from it).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    sp_path = sentencepiece_model or train_sentencepiece(corpus, out_dir / "sentencepiece")
    if sp_path != out_dir / "sentencepiece.model":
        shutil.copy(sp_path, out_dir / "sentencepiece.model")
    (out_dir / "sentencepiece.vocab").unlink(missing_ok=True)
    source = list(source_vocab) if source_vocab is not None else sentencepiece_vocabulary(sp_path)
    target = list(target_vocab) if target_vocab is not None else english_vocabulary(corpus, sp_path)
    if target_prefix and target_prefix not in target:
        target.append(target_prefix)
    build_transformer(out_dir / "model", source, target, **model_args)  # type: ignore[arg-type]
    metadata = {
        "package_version": version,
        "argos_version": "1.9.0",
        "from_code": from_code,
        "from_name": from_code,
        "to_code": to_code,
        "to_name": to_code,
        "type": "translate",
    }
    if target_prefix:
        metadata["target_prefix"] = target_prefix
    (out_dir / "metadata.json").write_text(json.dumps(metadata, indent=2))
    (out_dir / "README.md").write_text("Random-weight package built by transnorm. It translates nothing.\n")
    return out_dir


def build_package(
    out_path: Path, from_code: str, corpus: Sequence[str], work_dir: Path | None = None, **kwargs: Any
) -> Path:
    """Build ``out_path``, an ``.argosmodel`` zip: :func:`build_package_dir`, zipped in the Argos
    layout (``to_code``, ``version`` and the model arguments as there)."""
    to_code, version = kwargs.get("to_code", "en"), kwargs.get("version", "0.1")
    name = f"translate-{from_code}_{to_code}-{version.replace('.', '_')}"
    work = work_dir or out_path.parent / f".build-{name}"
    if work.exists():
        shutil.rmtree(work)
    build_package_dir(work, from_code, corpus, **kwargs)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for file in sorted(work.rglob("*")):
            if file.is_file():
                archive.write(file, f"{name}/{file.relative_to(work)}")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(buffer.getvalue())
    shutil.rmtree(work)
    return out_path


def language_copies(package_dir: Path, codes: Iterable[str], models_dir: Path) -> list[Path]:
    """Install ``package_dir`` once per source language of ``codes`` into ``models_dir``
    (``translate-<code>_en``): its files hard-linked where the file system allows (one build,
    and no disk, for 47 packages), its ``metadata.json`` rewritten. Each copy loads into memory
    of its own, as different packages do."""
    meta = json.loads((package_dir / "metadata.json").read_text())
    out = []
    for code in codes:
        target = models_dir / f"translate-{code}_{meta['to_code']}"
        if target.exists():
            shutil.rmtree(target)
        for file in sorted(package_dir.rglob("*")):
            if file.is_file() and file.name != "metadata.json":
                dest = target / file.relative_to(package_dir)
                dest.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.link(file, dest)
                except OSError:
                    shutil.copy2(file, dest)
        (target / "metadata.json").write_text(json.dumps({**meta, "from_code": code, "from_name": code}))
        out.append(target)
    return out


def argos_source_codes() -> list[str]:
    """The 47 source languages of the Argos index's X→en packages."""
    data = Path(__file__).parent / "data" / "argos-languages.json"
    return [p["from_code"] for p in json.loads(data.read_text())["packages"]]
