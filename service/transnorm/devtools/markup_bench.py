"""Benchmark the HTML stage on one page: parse, extract (the reader's text with its source map), replace
one block, next to the reference and other HTML5 parsers when installed; and the throughput row of issue
20: the page with one foreign paragraph through the whole pipeline (read, planned, translated, assembled,
rendered as JSON and as the page), against the same page's text alone through the text path (the same
paragraph translated). The translation engine answers at once (no model): what is measured is
transnorm's own work.

    python -m transnorm.devtools.markup_bench [PAGE.html] [--repeat N]

Without a page: Readability's ``theverge.html`` (212 KB, an English news article) from the steering repo's
``shared/pages/`` when it is there, else our own ``tests/data/html/world-news.html`` with its article
repeated to 200 KB. Times are the best of N runs, CPU time of this process (the wall clock on a shared
machine says more about the neighbours).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from ..markup import Replacement, extract, replace
from ..options import Options
from ..packages import PackageInfo
from ..pipeline import Pipeline
from ..render import render_bytes
from ..settings import Settings
from ..translate import Request, Result, Translation
from .shared import shared_path

# A paragraph with foreign letters in it (of our own page, which has a few).
_FOREIGN_P = re.compile(r"<p\b[^>]*>(?:(?!</p>).)*?[\u0400-\u9fff](?:(?!</p>).)*?</p>", re.S)
_OWN = Path(__file__).resolve().parents[3] / "tests" / "data" / "html" / "world-news.html"
#: The foreign paragraph put into the page's article.
FOREIGN = (
    '<p>据新华社报道，<a href="https://example.com/a">国务院</a>周一宣布了新的<b>经济</b>政策，'
    "<em>预计</em>明年实施。该政策旨在支持中小企业发展，并进一步扩大内需。</p>\n"
)


class _Instant:
    """An engine with a zh→en package that answers at once: one English sentence per sentence."""

    _info = PackageInfo("zh", "en", "translate-zh_en", "0.0", Path("/nonexistent"))

    def packages(self) -> Mapping[tuple[str, str], PackageInfo]:
        return {("zh", "en"): self._info}

    def loaded(self) -> bool:
        return True

    def load(self) -> None:
        return None

    def translate(self, lang: str, sentences: list[str], **_: object) -> list[Result]:
        return [Translation("The policy was announced on Monday.", 0.9, 7) for _ in sentences]


def default_page() -> tuple[Path, str]:
    """The benchmark page: Readability's theverge.html from shared/pages/, else our own page (its foreign
    paragraphs taken out) with its article repeated to 200 KB."""
    real = shared_path("pages", "theverge.html")
    if real is not None:
        return real, real.read_text(encoding="utf-8")
    source = _FOREIGN_P.sub("", _OWN.read_text(encoding="utf-8"))
    head, sep, tail = source.partition("</article>")
    body = head[head.index("<article") :]
    copies = max(1, (200_000 - len(source)) // len(body.encode()))
    section = body.replace("<article", "<section", 1) + "</section>"
    return _OWN, head + sep + "\n".join(section for _ in range(copies)) + tail


def with_foreign(source: str) -> str:
    """The page with :data:`FOREIGN` before the first paragraph of its article."""
    page = extract(source)
    block = next(
        (b for b in page.blocks if b.element == "p" and b.translatable and b.end - b.start >= 80), None
    )
    at = source.rfind("<p", 0, block.src_start) if block is not None else source.find("</body")
    return source[:at] + FOREIGN + source[at:]


def throughput(source: str, repeat: int) -> list[tuple[str, float]]:
    """The page with one foreign paragraph, as a page and as its text alone: seconds per run."""
    pipeline = Pipeline(Settings.from_env(), engine=_Instant())
    data = with_foreign(source).encode("utf-8")
    text = extract(data.decode("utf-8")).text.encode("utf-8")
    as_page, as_text = Options(input_format="html"), Options(input_format="text")
    pipeline(text, as_text)  # langid loads once

    def page_json() -> None:
        render_bytes(pipeline(data, as_page), "json", pretty=False)

    def page_html() -> None:
        render_bytes(pipeline(data, as_page), "html")

    def text_json() -> None:
        render_bytes(pipeline(text, as_text), "json", pretty=False)

    return [
        (f"page ({len(data):,} B) → JSON", _best(page_json, repeat)),
        (f"page ({len(data):,} B) → the page", _best(page_html, repeat)),
        (f"its text alone ({len(text):,} B) → JSON", _best(text_json, repeat)),
    ]


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
    parser.add_argument("page", nargs="?", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    if args.page is None:
        args.page, source = default_page()
    else:
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
    print("throughput, one foreign paragraph translated (an engine that answers at once):")
    timed = throughput(source, args.repeat)
    width = max(len(name) for name, _ in timed)
    pages = len(with_foreign(source).encode("utf-8"))
    for name, seconds in timed:
        print(f"  {name:<{width}}  {seconds * 1000:8.1f} ms  {pages / seconds / 1e6:6.2f} MB/s of page")
    print(f"  page → JSON / text alone → JSON: {timed[0][1] / timed[2][1]:.2f}x the time (target: within 2x)")


if __name__ == "__main__":
    main()
