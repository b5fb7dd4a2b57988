"""The stage-growth benchmark (transnorm.devtools.growth) runs every stage on every shape, and
reads growth off its numbers; the timings themselves are the benchmark's, not the tests'."""

from __future__ import annotations

import pytest
from transnorm.devtools import growth


def test_every_shape_is_the_size_asked_for():
    for shape in growth.SHAPES:
        for size in (1_000, 10_000):
            data = growth.document(shape, size)
            assert size - 4 <= len(data) <= size, shape  # cut at a character boundary
            data.decode("utf-8")


def test_every_stage_is_measured_on_every_shape(detector):
    result = growth.run(sizes=(1_000, 2_000), limit=30)
    assert set(result["shapes"]) == set(growth.SHAPES)
    for shape, rows in result["shapes"].items():
        assert list(rows) == list(growth.STAGES)
        for stage, seconds in rows.items():
            assert all(isinstance(s, float) and s >= 0 for s in seconds), (shape, stage, seconds)
    report = growth.format_report(result)
    assert "== weak chrome lines" in report and "render html" in report


def test_a_stage_over_its_limit_is_stopped_and_skipped_after(monkeypatch, detector):
    def forever(*args):
        while True:
            pass

    monkeypatch.setattr(growth.chrome, "classify", forever)
    result = growth.run(sizes=(1_000, 2_000), shapes=("english",), limit=0.2)
    rows = result["shapes"]["english"]
    assert rows["chrome"] == rows["plan"] == [None, "skipped"]  # the planner classifies lines too
    assert rows["render json"] == ["skipped", "skipped"]  # there is no document to render
    assert all(isinstance(s, float) for s in rows["decode"] + rows["segment"])
    assert growth.verdict(result["sizes"], rows["chrome"]).startswith("SUPER-LINEAR")


@pytest.mark.parametrize(
    "seconds, k",
    [([0.1, 1.0, 10.0], 1.0), ([0.1, 1.0, 100.0], 2.0), ([0.0, 0.001, 0.002], None)],
)
def test_the_growth_exponent(seconds, k):
    got = growth.exponent([1_000, 10_000, 100_000], seconds)
    assert got == k if k is None else abs(got - k) < 1e-9


# -- stages linear in their input: counted in executed lines of the stage's module, not timed ----


def steps(module, call) -> int:
    """Lines of ``module`` executed while ``call()`` runs (deterministic, unlike a clock)."""
    import sys

    count = 0
    path = module.__file__

    def trace(frame, event, arg):
        nonlocal count
        if frame.f_code.co_filename != path:
            return None
        if event == "line":
            count += 1
        return trace

    sys.settrace(trace)
    try:
        call()
    finally:
        sys.settrace(None)
    return count


def _ratio(module, shape: str, stage) -> float:
    """How many times more lines ``stage`` runs on ``shape`` at 40 KB than at 10 KB (4 is linear)."""
    small, large = (growth.document(shape, size).decode() for size in (10_000, 40_000))
    return steps(module, lambda: stage(large)) / steps(module, lambda: stage(small))


def test_segmenting_a_hard_wrapped_paragraph_is_linear(monkeypatch):
    """Each join looked at the whole logical line so far (copied, and a caption-credit search
    anchored at its end tried from every position): a long wrapped paragraph took quadratic time.
    Counted: the characters each join looks at."""
    from transnorm import segment

    looked = 0
    original = segment._continuation

    def counted(current: str, following: str) -> str | None:
        nonlocal looked
        looked += len(current) + len(following)
        return original(current, following)

    monkeypatch.setattr(segment, "_continuation", counted)
    sizes = []
    for size in (10_000, 40_000):
        looked = 0
        segment.lines(growth.document("wrapped en", size).decode())
        sizes.append(looked)
    assert sizes[1] < 5 * sizes[0], sizes


def test_weak_chrome_lines_are_classified_in_linear_time():
    """A run of furniture words was settled one line per pass over the run: quadratic."""
    from transnorm import chrome, segment

    def stage(text: str) -> None:
        chrome.classify(text, segment.lines(text))

    assert _ratio(chrome, "weak chrome lines", stage) < 5


def test_splitting_a_long_wrapped_line_into_sentences_is_linear():
    """Each sentence filtered all the line's joins and addresses, and each cut was checked against
    every address: quadratic in a long wrapped paragraph (or one full of addresses)."""
    from transnorm import segment

    def stage(text: str) -> None:
        for line in segment.lines(text):
            segment.sentences(text, line)

    assert _ratio(segment, "wrapped en", stage) < 5
    assert _ratio(segment, "addresses", stage) < 5


def test_planning_a_long_wrapped_line_is_linear(fake_pipeline):
    """Each gap and piece of a sentence filtered all the line's joins, and a sentence's query was
    rebuilt with a copy of it per join: quadratic in a long wrapped paragraph."""
    from transnorm import plan

    def stage(text: str) -> None:
        fake_pipeline.plan(text)

    assert _ratio(plan, "wrapped en", stage) < 5
    assert _ratio(plan, "no punctuation fr", stage) < 5


def test_spacing_many_translations_is_linear():
    """Each translation looked ahead through a copy of every piece after it: quadratic. Counted:
    the pieces read, one at a time or in slices."""
    from transnorm import postnorm
    from transnorm.detect import NO_LANGUAGE
    from transnorm.document import Action
    from transnorm.plan import Unit

    class Counted(list):
        read = 0

        def __getitem__(self, key):
            got = super().__getitem__(key)
            Counted.read += len(got) if isinstance(key, slice) else 1
            return got

        def __iter__(self):
            for item in super().__iter__():
                Counted.read += 1
                yield item

    def read(n: int) -> int:
        Counted.read = 0
        kinds = (Action.TRANSLATED, Action.KEPT)
        pieces = Counted(Unit(i, i + 1, kinds[i % 2], NO_LANGUAGE, "Word.", None) for i in range(n))
        postnorm.space_translations(pieces)
        return Counted.read

    small, large = read(1_000), read(4_000)
    assert large < 5 * small, (small, large)
