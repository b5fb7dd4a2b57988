"""HTML test pages.

Real pages are Mozilla Readability's test pages: third-party data, never committed. The steering repo keeps
them in ``shared/pages/`` (its ``manifest.json`` names each one's repository, path and commit);
:func:`~transnorm.devtools.shared.shared_path` finds that folder, and the tests that need it skip when it is
absent. Our own pages (``tests/data/html/``) were written for these tests, modelled on how news sites are
built, so the behaviour is proven on a fresh machine too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from transnorm.devtools.shared import shared_path

ROOT = Path(__file__).resolve().parent.parent
OWN = ROOT / "tests" / "data" / "html"
REAL = shared_path("pages")
_MANIFEST = REAL / "manifest.json" if REAL is not None else None
MANIFEST: list[dict] = (
    json.loads(_MANIFEST.read_text())["pages"] if _MANIFEST is not None and _MANIFEST.is_file() else []
)
_NO_REAL = "the real test pages are not here (shared/pages/ of the steering repo)"


def real_names(*names: str) -> list:
    """Parameters for a test over the real pages (``names``: only these), skipped when they are absent."""
    found = [m["file"] for m in MANIFEST if not names or m["file"] in names]
    return found or [pytest.param(None, marks=pytest.mark.skip(reason=_NO_REAL))]


def real_page(name: str) -> str:
    """A real page's text; skips the test when the real pages are absent."""
    if REAL is None or not (REAL / name).is_file():
        pytest.skip(_NO_REAL)
    return (REAL / name).read_text(encoding="utf-8")


def own_names() -> list[str]:
    return sorted(p.name for p in OWN.glob("*.html"))


def own_page(name: str) -> bytes:
    return (OWN / name).read_bytes()
