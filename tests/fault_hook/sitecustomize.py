"""Start-up hook for a batch under test (on PYTHONPATH, see ``test_batch_faults``): it makes a
fault happen at one exact moment of the run, inside the translation process (a fork of the main
process), named by ``TESTS_BATCH_FAULT``; it happens once per run (``TESTS_BATCH_FAULT_FLAG``, a
file made when it has):

- ``kill-workers-while-translating``: the first time the engine translates, every batch worker
  is killed (SIGKILL) before the answer goes back, so the answer goes to a closed socket;
- ``sigterm-group-in-the-engine``: the first time the engine translates, the whole process
  group gets SIGTERM (as from ``timeout`` or a container stop); ``sigterm-main-in-the-engine``:
  the main process alone gets it (``kill PID``) while its workers wait for their sentences;
- ``hang-in-the-engine``: the first process to translate (a Ray actor, say) writes its pid to
  the flag file and then waits for ever, until it is killed: a run held at a known moment.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import signal
import sys
import threading
from pathlib import Path

_MAIN = os.getpid()
_FAULT = os.environ.get("TESTS_BATCH_FAULT", "")
_FLAG = os.environ.get("TESTS_BATCH_FAULT_FLAG", "")
_WORKER = b"transnorm-batch"  # transnorm.batch.pool.WORKER_NAME


def _once() -> bool:
    """True the first time it is asked in a process other than the main one, in the whole run."""
    if os.getpid() == _MAIN or not _FLAG:
        return False
    try:
        os.close(os.open(_FLAG, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def _workers() -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            if ppid == _MAIN and (entry / "comm").read_bytes().strip() == _WORKER:
                found.append(int(entry.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _kill_workers_first(translate):  # type: ignore[no-untyped-def]
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if _once():
            for pid in _workers():
                os.kill(pid, signal.SIGKILL)
        return translate(self, *args, **kwargs)

    return wrapper


def _sigterm_first(group: bool):  # type: ignore[no-untyped-def]
    def wrap(translate):  # type: ignore[no-untyped-def]
        def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            if _once():
                if group:
                    os.killpg(0, signal.SIGTERM)
                else:
                    os.kill(_MAIN, signal.SIGTERM)
            return translate(self, *args, **kwargs)

        return wrapper

    return wrap


def _hang_first(translate):  # type: ignore[no-untyped-def]
    def wrapper(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        try:  # the first process anywhere, the main one included (a Ray actor has no "main")
            claimed = os.open(_FLAG, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except (FileExistsError, FileNotFoundError):
            return translate(self, *args, **kwargs)
        os.write(claimed, f"{os.getpid()}\n".encode())
        os.close(claimed)
        threading.Event().wait()  # until killed
        return None

    return wrapper


#: fault → (module, class, method, wrapper)
_FAULTS = {
    "kill-workers-while-translating": ("transnorm.engine", "ArgosEngine", "translate", _kill_workers_first),
    "sigterm-group-in-the-engine": ("transnorm.engine", "ArgosEngine", "translate", _sigterm_first(True)),
    "sigterm-main-in-the-engine": ("transnorm.engine", "ArgosEngine", "translate", _sigterm_first(False)),
    "hang-in-the-engine": ("transnorm.engine", "ArgosEngine", "translate", _hang_first),
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
