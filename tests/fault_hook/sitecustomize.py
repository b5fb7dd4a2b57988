"""Start-up hook for a batch under test (on PYTHONPATH, see ``test_batch_faults``): it makes a
fault happen at one exact moment of the main process, named by ``TESTS_BATCH_FAULT``:

- ``kill-workers-while-translating``: the first time the main process translates for its
  workers, every worker is killed (SIGKILL) before the answer goes back, so the answer goes
  to a broken pipe;
- ``sigterm-group-in-the-engine``: the first time the engine translates in the main process,
  the whole process group gets SIGTERM (as from ``timeout`` or a container stop), so that the
  main process's handler runs inside the engine's call; ``sigterm-main-in-the-engine``: the
  same with the main process alone signalled (``kill PID``).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import multiprocessing
import os
import signal
import sys

_MAIN = os.getpid()
_FAULT = os.environ.get("TESTS_BATCH_FAULT", "")
_done = False


def _once() -> bool:
    global _done
    if _done or os.getpid() != _MAIN:
        return False
    _done = True
    return True


def _kill_workers_first(translate):  # type: ignore[no-untyped-def]
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _once():
            for child in multiprocessing.active_children():
                os.kill(child.pid, signal.SIGKILL)
                child.join()
        return translate(self, *args, **kwargs)

    return wrapper


def _sigterm_first(group: bool):  # type: ignore[no-untyped-def]
    def wrap(translate):  # type: ignore[no-untyped-def]
        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if _once():
                if group:
                    os.killpg(0, signal.SIGTERM)
                else:
                    os.kill(os.getpid(), signal.SIGTERM)
            return translate(self, *args, **kwargs)

        return wrapper

    return wrap


#: fault → (module, class, method, wrapper)
_FAULTS = {
    "kill-workers-while-translating": ("transnorm.pipeline", "Pipeline", "translate", _kill_workers_first),
    "sigterm-group-in-the-engine": ("transnorm.engine", "ArgosEngine", "translate", _sigterm_first(True)),
    "sigterm-main-in-the-engine": ("transnorm.engine", "ArgosEngine", "translate", _sigterm_first(False)),
}


class _Hook(importlib.abc.MetaPathFinder):
    def __init__(self, module: str, cls: str, method: str, wrap) -> None:  # type: ignore[no-untyped-def]
        self.module, self.cls, self.method, self.wrap = module, cls, method, wrap

    def find_spec(self, name, path, target=None):  # type: ignore[no-untyped-def]
        if name != self.module:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return None
        load = spec.loader.exec_module

        def exec_module(module):  # type: ignore[no-untyped-def]
            load(module)
            owner = getattr(module, self.cls)
            setattr(owner, self.method, self.wrap(getattr(owner, self.method)))

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


if _FAULT in _FAULTS:
    sys.meta_path.insert(0, _Hook(*_FAULTS[_FAULT]))
