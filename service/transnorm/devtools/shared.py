"""Data the steering repository keeps in its ``shared/`` folder, beside the checkout (never committed
here): the real-text evaluation set (``shared/eval/``), the real HTML test pages (``shared/pages/``)."""

from __future__ import annotations

from pathlib import Path


def shared_path(*parts: str) -> Path | None:
    """``shared/<parts>`` in the working directory, one of its parents or a parent of the source tree,
    the first that exists; None when there is none (a fresh machine: tests that need it skip)."""
    here = Path.cwd()
    for root in dict.fromkeys([here, *here.parents, *Path(__file__).resolve().parents]):
        candidate = root.joinpath("shared", *parts)
        if candidate.exists():
            return candidate
    return None
