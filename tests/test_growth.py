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
