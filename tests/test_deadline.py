"""The per-document time budget (issue 23): past ``document_timeout`` the sentences not yet
translated are left untranslated with ``reason: deadline``, and nothing is lost. The clock is the
pipeline's own, moved by the engine here: no test waits."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Clock, FakeEngine
from transnorm import Pipeline, Settings
from transnorm.contract import Reason
from transnorm.translate import OVERDUE, Request, translate_within

SENTENCES = 200
SENTENCE = "会谈第{}轮将于下周继续进行。"
DOCUMENT = "An English opening line.\n" + "".join(SENTENCE.format(i) for i in range(SENTENCES)) + "\n"


class SlowEngine(FakeEngine):
    """Each call of the engine takes ``seconds`` on ``clock``."""

    def __init__(self, clock: Clock, seconds: float) -> None:
        super().__init__()
        self.clock, self.seconds = clock, seconds

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        self.clock.now += self.seconds
        return super().translate(lang, sentences, beam_size, target, alternatives)


def _pipeline(detector, timeout: float, seconds: float) -> tuple[Pipeline, SlowEngine]:
    clock = Clock(1000.0)
    engine = SlowEngine(clock, seconds)
    settings = Settings(models_dir=Path("/nonexistent"), document_timeout=timeout)
    return Pipeline(settings, engine=engine, detector=detector, clock=clock), engine


def test_past_its_budget_the_rest_of_a_document_is_left_untranslated_with_reason_deadline(detector):
    pipeline, engine = _pipeline(detector, timeout=10.0, seconds=4.0)
    doc = pipeline(DOCUMENT)
    assert "".join(s.source_text for s in doc.spans) == DOCUMENT  # nothing lost
    foreign = [s for s in doc.spans if s.lang == "zh"]
    actions = [s.action for s in foreign]
    translated = actions.count("translated")
    # Three calls fit in ten seconds (the third starts at 8 s); the rest never reached the engine.
    assert 0 < translated < len(foreign) and len(engine.calls) == 3
    assert sum(len(sentences) for _, sentences in engine.calls) == translated
    assert actions == ["translated"] * translated + ["untranslated"] * (len(foreign) - translated)
    assert {s.reason for s in foreign[translated:]} == {Reason.DEADLINE}
    assert not doc.complete
    assert any("time budget" in w and "TRANSNORM_DOCUMENT_TIMEOUT" in w for w in doc.warnings), doc.warnings
    assert doc.to_dict()["spans"][-2]["reason"] == "deadline"


@pytest.mark.parametrize("timeout", [0.0, 1e9])
def test_no_budget_or_a_large_one_translates_everything(detector, timeout):
    pipeline, engine = _pipeline(detector, timeout=timeout, seconds=4.0)
    doc = pipeline(DOCUMENT)
    assert doc.complete and all(s.action == "translated" for s in doc.spans if s.lang == "zh")
    assert len(engine.calls) == (1 if timeout == 0 else -(-SENTENCES // 64))


def test_a_document_planned_past_its_budget_translates_nothing(detector):
    clock = Clock(0.0)

    class SlowDetector:
        def __getattr__(self, name):
            clock.now += 1.0  # every look at the detector takes a second
            return getattr(detector, name)

    settings = Settings(models_dir=Path("/nonexistent"), document_timeout=1.0)
    engine = FakeEngine()
    pipeline = Pipeline(settings, engine=engine, detector=SlowDetector(), clock=clock)
    doc = pipeline(DOCUMENT)
    assert engine.calls == []
    assert {s.reason for s in doc.spans if s.lang == "zh"} == {Reason.DEADLINE}


def test_translate_within_sends_only_what_is_still_due():
    clock = Clock(0.0)
    sent: list[list[str]] = []

    def translate(requests):
        sent.append([r.text for r in requests])
        clock.now += 1.0
        return [f"T{r.text}" for r in requests]

    requests = [Request("zh", str(i)) for i in range(6)]
    deadlines = [10, 10, 10, 0.5, 10, 10]  # slices of 2 sent at 0 s, 1 s, 2 s
    results = translate_within(requests, deadlines, translate, clock, slice_size=2)
    assert sent == [["0", "1"], ["2"], ["4", "5"]]
    assert results == ["T0", "T1", "T2", OVERDUE, "T4", "T5"]


def test_a_document_of_one_long_sentence_stops_at_its_budget(detector):
    """One sentence of 5 × 64 passages without a mark was one request: the engine took it whole,
    past any budget. Its passages go in slices of 64, and the budget stops between them."""
    from transnorm.route import PASSAGE

    sentence = "会谈将于下周继续进行官员们在周一的声明中表示双方同意继续对话" * (5 * 64 * PASSAGE // 30 + 1)
    data = sentence[: 5 * 64 * PASSAGE] + "\n"
    pipeline, engine = _pipeline(detector, timeout=10.0, seconds=4.0)
    doc = pipeline(data)
    assert "".join(s.source_text for s in doc.spans) == data  # nothing lost
    foreign = [s for s in doc.spans if s.lang == "zh"]
    assert len(foreign) == 5 * 64
    # Slices sent at 0, 4 and 8 seconds; at 12 the budget has run out.
    assert [len(sentences) for _, sentences in engine.calls] == [64, 64, 64]
    assert [s.action for s in foreign] == ["translated"] * 192 + ["untranslated"] * 128
    assert {s.reason for s in foreign[192:]} == {Reason.DEADLINE}
    assert not doc.complete
