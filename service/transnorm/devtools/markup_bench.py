"""Benchmark the HTML stage on one page: parse, extract (the reader's text with its source map), replace
one block, next to the reference and other HTML5 parsers when installed, and to the pipeline on the page's
text alone (detection and planning, no translation model).

    python -m transnorm.devtools.markup_bench [PAGE.html] [--repeat N]

Without a page: ``tests/data/pages/theverge.html`` (212 KB, an English news article). Times are the best
of N runs, CPU time of this process (the wall clock on a shared machine says more about the neighbours).
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ..markup import Replacement, extract, replace
from ..options import Options
from ..packages import PackageInfo
from ..pipeline import Pipeline
from ..settings import Settings
from ..translate import Request, Result

_DEFAULT = Path(__file__).resolve().parents[3] / "tests" / "data" / "pages" / "theverge.html"


class _NoModels:
    """An engine with no package: the pipeline detects and plans, and translates nothing."""

    def packages(self) -> Mapping[tuple[str, str], PackageInfo]:
        return {}

    def loaded(self) -> bool:
        return True

    def load(self) -> None:
        return None

    def translate(self, source: str, target: str, requests: list[Request]) -> list[Result]:
        raise AssertionError("nothing to translate without packages")


def _best(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("page", nargs="?", type=Path, default=_DEFAULT)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    source = args.page.read_text(encoding="utf-8")
    page = extract(source)
    block = max(page.blocks, key=lambda b: b.end - b.start)
    rows: list[tuple[str, float]] = []

    import turbohtml

    rows.append(
        (
            "turbohtml parse (source locations)",
            _best(lambda: turbohtml.parse(source, source_locations=True), args.repeat),
        )
    )
    rows.append(("markup.extract (parse + align + blocks)", _best(lambda: extract(source), args.repeat)))
    rows.append(
        (
            "markup.replace one block",
            _best(lambda: replace(page, [Replacement(block.start, block.end, "x")]), args.repeat),
        )
    )
    if importlib.util.find_spec("html5lib"):
        import html5lib

        rows.append(
            ("html5lib parse (reference)", _best(lambda: html5lib.parse(source), max(1, args.repeat // 2)))
        )
    if importlib.util.find_spec("selectolax"):
        from selectolax.lexbor import LexborHTMLParser

        rows.append(
            ("selectolax/lexbor parse (no positions)", _best(lambda: LexborHTMLParser(source), args.repeat))
        )
    if importlib.util.find_spec("justhtml"):
        import justhtml

        rows.append(
            (
                "justhtml parse (text positions)",
                _best(
                    lambda: justhtml.JustHTML(source, sanitize=False, track_node_locations=True), args.repeat
                ),
            )
        )
    pipeline = Pipeline(Settings.from_env(), engine=_NoModels())
    text = page.text
    pipeline(text, Options())  # langid loads once
    rows.append(
        (
            "pipeline on the page's text alone (no model)",
            _best(lambda: pipeline(text, Options()), args.repeat),
        )
    )

    print(f"page: {args.page} ({len(source.encode()):,} bytes, {len(source):,} chars)")
    print(f"text: {len(page.text):,} chars in {len(page.blocks)} blocks, {len(page.pieces):,} pieces")
    print(f"unaligned text nodes: {page.unaligned}")
    width = max(len(name) for name, _ in rows)
    for name, seconds in rows:
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms")


if __name__ == "__main__":
    main()
