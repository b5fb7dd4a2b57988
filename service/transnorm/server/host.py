"""What the gunicorn master does for the host's models: it starts the translation process before
the workers (:func:`on_starting`), restarts it whenever it dies, and stops it at exit
(:func:`on_exit`). Workers find it through ``TRANSNORM_TRANSLATOR_SOCKET``, set here before they
fork, and connect after the fork (see :mod:`transnorm.translator`).

With ``TRANSNORM_TRANSLATOR_SOCKET`` set and a translation process already answering there (the
host's, shared with batch runs and the JSON-lines stream), the workers use it and this master
starts none; else it starts one there, or in a private folder when the setting is empty.
"""

from __future__ import annotations

import os

from ..settings import Settings, env_name
from ..translator import TranslatorProcess, reachable

_owned: list[TranslatorProcess] = []


def on_starting(settings: Settings) -> None:
    """Start (or find) the translation process; the workers, forked next, inherit where it is."""
    path = settings.pipeline.translator_socket
    if path is not None and reachable(path):
        return
    process = TranslatorProcess(settings, path).start().watch()
    _owned.append(process)
    os.environ[env_name("translator_socket")] = str(process.path)


def on_exit() -> None:
    """Stop the translation process this master started (the workers have stopped)."""
    while _owned:
        _owned.pop().stop()
