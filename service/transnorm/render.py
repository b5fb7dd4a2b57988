"""Render stage: a :class:`Document` as ``json``, ``text`` or ``html``.

Inline text markers (``markers="inline"``), one per non-kept span:

* ``⟦tr:LANG|ENGLISH⟧``: translated from LANG;
* ``⟦un:LANG|ORIGINAL⟧``: foreign text left as it was (no model, or the model gave nothing);
* ``⟦rm:REASON|ORIGINAL⟧``: removed (chrome, title-repeat, comment-form, upstream-mt-notice).

Literal ``⟦``, ``⟧`` and ``\\`` anywhere in the output are escaped with a backslash, so markers
are unambiguous: dropping ``rm`` markers and unwrapping the others gives the document's text.

An HTML page rendered as ``html`` is the page itself with its translated passages replaced in place
(:func:`transnorm.htmlspans.write_page`; ``markers`` other than none add ITS 2.0 provenance), in its own
charset (:func:`render_bytes`, :func:`media_type`).
"""

from __future__ import annotations

import html

from .document import Action, Document, Span, printable, to_json

FORMAT_MEDIA_TYPES = {
    "json": "application/json",
    "text": "text/plain; charset=utf-8",
    "html": "text/html; charset=utf-8",
}


def render(doc: Document, fmt: str = "json", markers: str = "none", pretty: bool = True) -> str:
    """Render ``doc``; ``markers`` (inline, footnotes, none) applies to ``text``."""
    if fmt == "json":
        return to_json(doc.to_dict(), pretty)
    if fmt == "text":
        return render_text(doc, markers)
    if fmt == "html":
        return _write_page(doc, markers)[0] if doc.page is not None else render_html(doc)
    raise ValueError(f"unknown format {fmt!r}")


def render_bytes(doc: Document, fmt: str = "json", markers: str = "none", pretty: bool = True) -> bytes:
    """:func:`render` as bytes: UTF-8, except an HTML page as ``html``, which is in its own charset (every
    byte outside the translated passages the input's)."""
    if fmt == "html" and doc.page is not None:
        return _write_page(doc, markers)[1]
    return render(doc, fmt, markers, pretty).encode("utf-8")


def _write_page(doc: Document, markers: str) -> tuple[str, bytes]:
    from .htmlspans import write_page  # the HTML stack only for pages (start-up of text-only processes)

    assert doc.page is not None
    return write_page(doc.page, markers != "none")


def media_type(doc: Document, fmt: str) -> str:
    """The media type of :func:`render_bytes`'s output."""
    if fmt == "html" and doc.page is not None:
        return f"text/html; charset={doc.page.source.decoded.encoding}"
    return FORMAT_MEDIA_TYPES[fmt]


def escape_markers(text: str) -> str:
    return text.replace("\\", "\\\\").replace("⟦", "\\⟦").replace("⟧", "\\⟧")


def render_text(doc: Document, markers: str = "inline") -> str:
    if markers == "none":
        return doc.text
    if markers == "inline":
        page = doc.page is not None
        return "".join(_inline(span, page) for span in doc.spans if span.attribute is None)
    if markers == "footnotes":
        return _footnotes(doc)
    raise ValueError(f"unknown markers {markers!r}")


def _inline(span: Span, page: bool = False) -> str:
    if span.action in (Action.KEPT, Action.NORMALIZED):
        return escape_markers(span.text)
    if span.action == Action.TRANSLATED:
        lead = span.text[: len(span.text) - len(span.text.lstrip())]
        tail = span.text[len(span.text.rstrip()) :]
        return f"{lead}⟦tr:{span.lang}|{escape_markers(span.text.strip())}⟧{tail}"
    if span.action == Action.UNTRANSLATED:
        return f"⟦un:{span.lang}|{escape_markers(span.text)}⟧"
    removed = span.text if page else span.source_text  # (a page's source is HTML)
    return f"⟦rm:{span.reason}|{escape_markers(removed.rstrip())}⟧"


def _footnotes(doc: Document) -> str:
    body: list[str] = []
    notes: list[str] = []
    for span in doc.spans:
        if not span.in_text:
            continue
        body.append(span.text)
        if span.action == Action.TRANSLATED:
            model = f"{span.engine.package} {span.engine.version}" if span.engine else "?"
            notes.append(
                f"[^{len(notes) + 1}]: translated from {span.lang} by {model} (mt_score {span.mt_score}): "
                + " ".join(span.source_text.split())
            )
            body.append(f"[^{len(notes)}]")
        elif span.action == Action.UNTRANSLATED:
            notes.append(f"[^{len(notes) + 1}]: left in {span.lang}, not translated ({span.reason})")
            body.append(f"[^{len(notes)}]")
    removed = [s for s in doc.spans if s.action == Action.REMOVED]
    out = "".join(body).rstrip("\n") + "\n"
    if notes or removed or doc.upstream_translation:
        out += "\n---\n"
    if notes:
        out += "\n".join(notes) + "\n"
    if removed:
        what = (lambda s: s.text) if doc.page is not None else (lambda s: s.source_text)
        out += "\nRemoved:\n" + "".join(f"- ({s.reason}) {what(s).strip()}\n" for s in removed)
    for notice in doc.upstream_translation:
        out += f"\nUpstream machine translation: {notice.service} ({notice.evidence})\n"
    return out


#: The one inline style of the HTML output (the HTTP service allows exactly it).
HTML_STYLE = """
body{font:16px/1.5 system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#222}
.doc{white-space:pre-wrap}
.tr{background:#e6f0ff;border-bottom:2px solid #4a7bd0;cursor:help}
.un{background:#fff3cd;border-bottom:2px solid #c99a00;cursor:help}
.rm{color:#999;text-decoration:line-through;font-size:.85em}
.rm::before{content:"✂ " attr(data-reason) ": ";font-style:italic;text-decoration:none}
.meta{font-size:.9em;color:#555;border-bottom:1px solid #ddd;margin-bottom:1rem}
"""


def render_html(doc: Document) -> str:
    esc = html.escape
    parts = []
    for span in doc.spans:
        if span.action in (Action.KEPT, Action.NORMALIZED):
            parts.append(esc(span.text))
        elif span.action == Action.TRANSLATED:
            engine = span.engine
            ref = (
                f"urn:transnorm:{engine.name}:{engine.package}:{engine.version}"
                if engine
                else "urn:transnorm"
            )
            parts.append(
                f'<span class="tr" lang="en-x-mtfrom-{esc(span.lang)}" '
                f'its-annotators-ref="mt-confidence|{esc(ref)}" its-mt-confidence="{span.mt_score}" '
                f'data-source-lang="{esc(span.lang)}" '
                f'title="{esc(span.lang)}: {esc(span.source_text)}">{esc(span.text)}</span>'
            )
        elif span.action == Action.UNTRANSLATED:
            parts.append(
                f'<span class="un" lang="{esc(span.lang)}" title="not translated: {esc(span.reason or "")}">'
                f"{esc(span.text)}</span>"
            )
        else:
            parts.append(
                f'<del class="rm" data-reason="{esc(span.reason or "")}" '
                f'title="removed: {esc(span.reason or "")}">{esc(span.source_text.rstrip())}</del>'
                + ("\n" if span.source_text.endswith("\n") else "")
            )
    stats = doc.stats["actions"]
    notices = "".join(
        f"<li>upstream machine translation: {esc(n.service)} (“{esc(n.evidence)}”)</li>"
        for n in doc.upstream_translation
    ) + "".join(f'<li class="warning">warning: {esc(w)}</li>' for w in doc.warnings)
    summary = ", ".join(f"{v} {k}" for k, v in stats.items() if v)
    title = esc(printable(doc.id or "document"))
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>transnorm: {title}</title>'
        f"<style>{HTML_STYLE}</style></head><body>\n"
        f'<div class="meta"><p>{"complete" if doc.complete else "incomplete: foreign text left untranslated"}'
        f" · {esc(summary)}</p><ul>{notices}</ul></div>\n"
        f'<article class="doc">{"".join(parts)}</article>\n</body></html>\n'
    )
