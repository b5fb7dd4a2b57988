"""Detection evaluation: span-level precision, recall, F1, language accuracy (overall and per
language) and the confusion pairs, on labelled sets written for this project.

Gold spans are marked ``⟦lang|text⟧`` in the datasets (``data/*.txt``: the breadth set covers
every Argos source language, close neighbours and English hard negatives). Predicted spans are
the foreign spans the pipeline finds (chrome kept, so it is detected too). Adjacent spans of one
language on one line, separated only by spaces or punctuation, count as one region, on both sides; a
predicted region matches a gold one when they share at least half of their non-space characters
(intersection over union). A predicted region that matches nothing is English text flagged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..detect import Detector
from ..document import Action
from ..options import Options

DATA = Path(__file__).parent / "data"
DEFAULT_DATASETS = (DATA / "detection_eval.txt", DATA / "breadth_eval.txt", DATA / "heldout_eval.txt")
_MARK = re.compile(r"⟦([a-z]{2,3})\|(.*?)⟧", re.S)


@dataclass
class Example:
    text: str
    gold: list[tuple[int, int, str]]


@dataclass
class Result:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    lang_correct: int = 0
    mistakes: list[str] = field(default_factory=list)
    baseline: dict[str, float] = field(default_factory=dict)
    #: Per gold language: regions found, and found with the right language.
    found: Counter[str] = field(default_factory=Counter)
    right: Counter[str] = field(default_factory=Counter)
    gold_count: Counter[str] = field(default_factory=Counter)
    #: (gold, predicted) for regions found with the wrong language.
    confusions: Counter[tuple[str, str]] = field(default_factory=Counter)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def language_accuracy(self) -> float:
        return self.lang_correct / self.tp if self.tp else 1.0

    def per_language(self) -> dict[str, dict[str, float | int]]:
        """For each gold language: its regions, the share found, the share named right."""
        return {
            lang: {
                "gold": n,
                "recall": round(self.found[lang] / n, 4),
                "accuracy": round(self.right[lang] / n, 4),
            }
            for lang, n in sorted(self.gold_count.items())
        }

    def summary(self) -> dict[str, object]:
        return {
            "gold_spans": self.tp + self.fn,
            "predicted_spans": self.tp + self.fp,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
            "language_accuracy": round(self.language_accuracy, 4),
            "english_flagged": self.fp,
            "languages": len(self.gold_count),
            "per_language": self.per_language(),
            "confusions": [
                {"gold": g, "predicted": p, "count": n} for (g, p), n in self.confusions.most_common()
            ],
            "baseline_per_line_langid": self.baseline,
        }


def load_dataset(path: Path | None = None) -> list[Example]:
    """The examples of one labelled set, or of all the built-in ones."""
    if path is None:
        return [e for p in DEFAULT_DATASETS for e in load_dataset(p)]
    raw = path.read_text(encoding="utf-8")
    docs = re.split(r"^=====\n", raw, flags=re.M)[1:]
    examples = []
    for doc in docs:
        text_parts: list[str] = []
        gold: list[tuple[int, int, str]] = []
        pos = 0
        length = 0
        for m in _MARK.finditer(doc):
            plain = doc[pos : m.start()]
            text_parts.append(plain)
            length += len(plain)
            gold.append((length, length + len(m.group(2)), m.group(1)))
            text_parts.append(m.group(2))
            length += len(m.group(2))
            pos = m.end()
        text_parts.append(doc[pos:])
        examples.append(Example("".join(text_parts), gold))
    return examples


def merge_regions(text: str, spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    merged: list[tuple[int, int, str]] = []
    for s, e, lang in sorted(spans):
        gap = text[merged[-1][1] : s] if merged else ""
        if merged and merged[-1][2] == lang and not re.search(r"\w", gap) and "\n" not in gap:
            merged[-1] = (merged[-1][0], e, lang)
        else:
            merged.append((s, e, lang))
    return merged


def _chars(text: str, s: int, e: int) -> set[int]:
    return {i for i in range(s, e) if not text[i].isspace()}


def score(text: str, gold: list, predicted: list, result: Result, label: str = "") -> None:
    gold = merge_regions(text, gold)
    predicted = merge_regions(text, predicted)
    result.gold_count.update(lang for _, _, lang in gold)
    unmatched = list(range(len(gold)))
    for ps, pe, plang in predicted:
        pchars = _chars(text, ps, pe)
        best, best_iou = None, 0.0
        for gi in unmatched:
            gs, ge, _ = gold[gi]
            gchars = _chars(text, gs, ge)
            iou = len(pchars & gchars) / max(1, len(pchars | gchars))
            if iou > best_iou:
                best, best_iou = gi, iou
        if best is not None and best_iou >= 0.5:
            unmatched.remove(best)
            result.tp += 1
            glang = gold[best][2]
            result.found[glang] += 1
            if glang == plang:
                result.lang_correct += 1
                result.right[glang] += 1
            else:
                result.confusions[(glang, plang)] += 1
                result.mistakes.append(
                    f"{label}wrong language {plang} (gold {gold[best][2]}): {text[ps:pe]!r}"
                )
        else:
            result.fp += 1
            result.mistakes.append(f"{label}false positive {plang}: {text[ps:pe]!r}")
    for gi in unmatched:
        gs, ge, glang = gold[gi]
        result.fn += 1
        result.mistakes.append(f"{label}missed {glang}: {text[gs:ge]!r}")


def evaluate(examples: list[Example], detector: Detector | None = None) -> Result:
    from ..engine import NoEngine
    from ..pipeline import Pipeline

    detector = detector or Detector()
    pipeline = Pipeline(engine=NoEngine(), detector=detector)
    options = Options(chrome="keep")
    result = Result()
    baseline = Result()
    for n, example in enumerate(examples):
        doc = pipeline(example.text, options)
        predicted = [
            (s.source_start, s.source_end, s.lang)
            for s in doc.spans
            if s.action in (Action.TRANSLATED, Action.UNTRANSLATED)
        ]
        score(doc.source, example.gold, predicted, result, f"[{n}] ")
        score(doc.source, example.gold, _per_line_langid(doc.source), baseline)
    result.baseline = {
        k: v for k, v in baseline.summary().items() if k in ("precision", "recall", "f1", "language_accuracy")
    }
    return result


def _per_line_langid(text: str) -> list[tuple[int, int, str]]:
    """The naive baseline: unrestricted langid on every line; anything not English is foreign."""
    import langid

    out = []
    pos = 0
    for line in text.split("\n"):
        if line.strip():
            lang, _ = langid.classify(line)
            if lang != "en":
                out.append((pos, pos + len(line), lang))
        pos += len(line) + 1
    return out


def format_report(result: Result) -> str:
    s = result.summary()
    lines = [
        f"gold spans {s['gold_spans']} in {s['languages']} languages, predicted {s['predicted_spans']}",
        f"precision {s['precision']:.4f}  recall {s['recall']:.4f}  F1 {s['f1']:.4f}  "
        f"language accuracy {s['language_accuracy']:.4f}  English flagged {s['english_flagged']}",
        "baseline (per-line langid): " + "  ".join(f"{k} {v:.4f}" for k, v in result.baseline.items()),
        "per language (gold regions: recall / accuracy):",
    ]
    row = []
    for lang, v in result.per_language().items():
        row.append(f"{lang} {v['gold']}: {v['recall']:.2f}/{v['accuracy']:.2f}")
        if len(row) == 6:
            lines.append("  " + "   ".join(row))
            row = []
    if row:
        lines.append("  " + "   ".join(row))
    if result.confusions:
        lines.append(
            "confusions (gold → predicted): "
            + ", ".join(f"{g}→{p} ×{n}" for (g, p), n in result.confusions.most_common())
        )
    if result.mistakes:
        lines += ["mistakes:"] + [f"  {m}" for m in result.mistakes]
    return "\n".join(lines)
