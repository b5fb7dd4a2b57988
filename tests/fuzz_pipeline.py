"""Coverage-guided fuzzing of the pipeline with atheris (libFuzzer).

    python tests/fuzz_pipeline.py -max_total_time=60 -rss_limit_mb=4096

Half of the inputs are raw bytes; the other half drive the property tests' document strategies
(script runs joined by punctuation, controls and line breaks: ``tests/strategies.py``) through
hypothesis's ``fuzz_one_input``, so the fuzzer explores script boundaries, not only byte noise.
Every input must give a document whose spans tile the input and give it back byte for byte, or
a clear :class:`DecodeError`; anything else is a crash that libFuzzer reports with the input.
``tests/test_fuzz.py`` runs this with a fixed time budget.
"""

from __future__ import annotations

import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).parent))

with atheris.instrument_imports(include=["transnorm"]):
    from hypothesis import HealthCheck, given, settings
    from strategies import ANY_DOCUMENT, check
    from transnorm import Options, Pipeline, Settings
    from transnorm.errors import DecodeError
    from transnorm.packages import PackageInfo
    from transnorm.render import render
    from transnorm.translate import EngineStats, Translation

PACKAGES = {
    (lang, "en"): PackageInfo(lang, "en", f"translate-{lang}_en", "0", Path("/"))
    for lang in ("zh", "ru", "fr")
}


class _Engine:
    """Deterministic, instant translations, so fuzzing reaches assembly and rendering."""

    loaded = True

    def packages(self):
        return PACKAGES

    def load(self):
        pass

    def stats(self):
        return EngineStats()

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        return [Translation(f"({lang}:{len(s)})。" if len(s) % 3 else "", 0.5, 1) for s in sentences]


PIPELINE = Pipeline(Settings(max_bytes=1 << 20), engine=_Engine())
OPTIONS = [Options(), Options(chrome="keep"), Options(errors="replace"), Options(source="zh")]


def raw_bytes(data: bytes) -> None:
    options = OPTIONS[data[0] % len(OPTIONS)] if data else OPTIONS[0]
    try:
        doc = PIPELINE(data[1:], options)
    except DecodeError:
        if options.errors == "replace":
            raise
        return
    doc.check()
    for fmt in ("json", "text", "html"):
        render(doc, fmt)
    render(doc, "text", "footnotes")
    if options.errors == "strict":
        check(doc, data[1:])


@settings(database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(ANY_DOCUMENT)
def generated(text: str) -> None:
    data = text.encode("utf-8")
    for options in OPTIONS[:2] + OPTIONS[3:]:
        check(PIPELINE(data, options), data)


def test_one_input(data: bytes) -> None:
    if data and data[0] & 0x80:
        generated.hypothesis.fuzz_one_input(data[1:])
    else:
        raw_bytes(data)


if __name__ == "__main__":
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()
