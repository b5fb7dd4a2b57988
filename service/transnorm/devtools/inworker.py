"""The HTTP service as it was before the translation process: each gunicorn worker loads every
package and translates its own requests (a :class:`~transnorm.translate.SharedTranslator` per
worker). ``transnorm bench`` serves it side by side with ``transnorm serve``::

    gunicorn -c python:transnorm.server.gunicorn_conf transnorm.devtools.inworker:app
"""

from __future__ import annotations

from ..engine import ArgosEngine
from ..pipeline import Pipeline
from ..server import create_app
from ..settings import Settings

_settings = Settings.from_env()
_engine = ArgosEngine(_settings.pipeline)
_engine.load(["all"])
app = create_app(_settings, Pipeline(_settings, engine=_engine), background=False)
