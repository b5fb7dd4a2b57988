"""Start-up hook for the processes of a server under test (on PYTHONPATH, see
``conftest.running_server(clock_file=...)``): once ``transnorm.server.ratelimit`` is imported,
its default clock reads the time from the file named by ``TESTS_RATELIMIT_CLOCK``, so a test
moves every gunicorn worker through rate-limit windows together, without waiting."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
from pathlib import Path

_FILE = Path(os.environ["TESTS_RATELIMIT_CLOCK"])
_MODULE = "transnorm.server.ratelimit"


def _now() -> float:
    return float(_FILE.read_text())


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name != _MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        load = spec.loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            load(module)
            module.default_clock = _now

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _Hook())
