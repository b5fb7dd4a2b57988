"""Markup stage: an HTML page → the text a reader sees, with where every character came from; and back.

:func:`extract` reads a page (the ``str`` as decoded) into a :class:`Page`: the reader's text, block by
block (paragraphs, headings, list items, cells, captions, the page title, the ``alt``, ``title`` and
``placeholder`` a reader sees), each character mapped to the source characters it came from, the inline
tags inside each block, and what the page says about each block: its language (``lang``/``xml:lang``),
whether it may be translated (``translate``, ITS 2.0 global rules) and whether it is page chrome, and why.
:func:`replace` is the inverse: the page with chosen ranges of that text replaced, every other character of
the source as it was; :func:`splice` puts the result back into the page's bytes, in its own charset.

Parser: turbohtml, a WHATWG HTML5 tree builder in C that records where each tag and attribute sat: on the
130 Readability test pages its text equals html5lib's, in ~1/100 of the time (devtools/markup_bench.py).
Text nodes carry no positions there, so each is aligned on the source here (between the tags the parser
located) and checked character by character: a text node that cannot be placed is left out, never guessed.

Modules: :mod:`.tokens` (references, markup ends, alignment), :mod:`.rules` (chrome, language menus, ITS),
:mod:`.builder` and :mod:`.reader` (the walk), :mod:`.rewrite` (the inverse), :mod:`.model` (the data).
"""

from .model import (
    BLOCK,
    OPAQUE,
    SEPARATOR,
    Block,
    BlockKind,
    Chrome,
    Edit,
    Page,
    Replacement,
    Rewrite,
    Run,
    Tag,
)
from .reader import extract
from .rewrite import ATTRIBUTE_KINDS, its_attributes, replace, splice
from .tokens import charref, markup_end

__all__ = [
    "ATTRIBUTE_KINDS",
    "BLOCK",
    "OPAQUE",
    "SEPARATOR",
    "Block",
    "BlockKind",
    "Chrome",
    "Edit",
    "Page",
    "Replacement",
    "Rewrite",
    "Run",
    "Tag",
    "charref",
    "extract",
    "its_attributes",
    "markup_end",
    "replace",
    "splice",
]
