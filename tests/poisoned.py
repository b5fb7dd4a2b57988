"""A translation engine that fails on any batch holding a poisoned sentence (one with 毒), as
CTranslate2 fails a whole ``translate_batch`` on one input it cannot take; and a WSGI app over
it for a real gunicorn (``--pythonpath tests poisoned:app``). Each engine call is logged to
``$POISON_LOG`` as ``<sentences> <poisoned>``, so a test can see batches were shared."""

from __future__ import annotations

import os
import time


class Poisoned:
    def __init__(self, engine, delay: float = 0.0):
        self.engine, self.delay = engine, delay

    @property
    def loaded(self):
        return self.engine.loaded

    def packages(self):
        return self.engine.packages()

    def load(self):
        self.engine.load()

    def stats(self):
        return self.engine.stats()

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        poisoned = any("毒" in s for s in sentences)
        if os.environ.get("POISON_LOG"):
            with open(os.environ["POISON_LOG"], "a") as log:
                log.write(f"{len(sentences)} {int(poisoned)}\n")
        time.sleep(self.delay)
        if poisoned:
            raise RuntimeError("No position encodings are defined for positions >= 256")
        return self.engine.translate(lang, sentences, beam_size, target, alternatives)


def _app():
    from transnorm import Pipeline, Settings
    from transnorm.engine import ArgosEngine
    from transnorm.server import create_app

    settings = Settings.from_env()
    pipeline = Pipeline(settings, engine=Poisoned(ArgosEngine(settings.pipeline), delay=0.3))
    return create_app(settings, pipeline, background=False)


if os.environ.get("POISON_APP"):
    app = _app()
