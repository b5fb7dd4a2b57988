"""HTTP shell over the library: a Flask application factory with blueprints and error handlers.

Served by gunicorn (``transnorm serve``): each worker builds its own
:class:`~transnorm.server.state.State` after the fork and loads the models before it accepts
connections (see ``wsgi.py``). Embedded elsewhere, ``create_app(background=True)`` loads them in a
thread and the endpoints that translate answer 503 until they are loaded.

This module imports nothing at the top: gunicorn's master imports the package for its config,
and prometheus_client must first be imported after the multiprocess directory is set.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from ..pipeline import Pipeline
    from ..settings import Settings


def create_app(
    settings: Settings | None = None, pipeline: Pipeline | None = None, background: bool = True
) -> Flask:
    """Build the app. ``pipeline`` is for tests; by default models load from ``settings``."""
    from flask import Flask

    from ..settings import Settings
    from . import middleware
    from .api import api
    from .errors import JSONProvider, register_error_handlers
    from .libretranslate import lt
    from .ops import ops
    from .page import page
    from .state import State

    settings = settings or Settings.from_env()
    app = Flask("transnorm", static_folder=None)
    app.config["MAX_CONTENT_LENGTH"] = settings.pipeline.max_bytes + 64 * 1024  # JSON framing overhead
    app.json = JSONProvider(app)
    state = State(settings, pipeline)
    app.extensions["transnorm"] = state
    middleware.install(app)
    # In this order in /openapi.json and the README.
    app.register_blueprint(api, url_prefix="/v1")
    app.register_blueprint(page)
    app.register_blueprint(ops)
    app.register_blueprint(lt)
    register_error_handlers(app)
    if background:
        threading.Thread(target=state.load, name="transnorm-load-models", daemon=True).start()
    else:
        state.load()
    return app
