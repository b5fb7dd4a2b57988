"""HTTP shell over the library: a Flask application factory with blueprints and error handlers.

Served by gunicorn (``transnorm serve``): each worker builds its own :class:`State` after the
fork and loads the models before it accepts connections (see ``wsgi.py``). Embedded elsewhere,
``create_app(background=True)`` loads them in a thread and ``/readyz`` and the ``/v1`` endpoints
answer 503 until they are loaded.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from flask import Flask

from ..config import Settings
from ..pipeline import Pipeline
from .batching import Batcher


@dataclass
class State:
    """What one worker process holds: settings, the pipeline once loaded, readiness."""

    settings: Settings
    pipeline: Pipeline | None = None
    batcher: Batcher | None = None
    ready: threading.Event = field(default_factory=threading.Event)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)

    def load(self) -> None:
        try:
            pipeline = self.pipeline or Pipeline(self.settings)
            load = getattr(pipeline.engine, "load", None)
            if load is not None:
                load()
            self.pipeline = pipeline
            self.batcher = Batcher(pipeline)
            self.ready.set()
        except Exception as exc:  # reported by /readyz; the worker stays up to say so
            self.error = f"{type(exc).__name__}: {exc}"


def create_app(
    settings: Settings | None = None, pipeline: Pipeline | None = None, background: bool = True
) -> Flask:
    """Build the app. ``pipeline`` is for tests; by default models load from ``settings``."""
    from . import middleware
    from .api import api
    from .errors import register_error_handlers
    from .libretranslate import lt
    from .ops import ops
    from .page import page

    settings = settings or Settings.from_env()
    app = Flask("transnorm")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_bytes + 64 * 1024  # JSON framing overhead
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    state = State(settings, pipeline)
    app.extensions["transnorm"] = state
    middleware.install(app)
    app.register_blueprint(ops)
    app.register_blueprint(page)
    app.register_blueprint(api, url_prefix="/v1")
    app.register_blueprint(lt)
    register_error_handlers(app)
    if background:
        threading.Thread(target=state.load, name="transnorm-load-models", daemon=True).start()
    else:
        state.load()
    return app
