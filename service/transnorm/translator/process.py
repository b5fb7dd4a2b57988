"""The owner's side: :class:`TranslatorProcess` starts the translation process (a fresh interpreter, or
a fork carrying a given engine), restarts it when it dies, and stops it.
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..settings import Settings
from ..translate import Engine
from .server import reachable, serve
from .wire import (
    START_TIMEOUT,
    TranslatorError,
    log,
)


class TranslatorProcess:
    """Starts the translation process at ``path`` (None: a private folder of its own), restarts
    it when it dies, stops it.

    With ``engine`` (one with no model loaded), the process is a fork of this one serving that
    engine; else a fresh ``python -m transnorm.translator serve`` with ``settings``. The process
    owns every core (``Settings.on_cores``) unless the threads are set explicitly.
    """

    def __init__(
        self, settings: Settings, path: str | Path | None = None, engine: Engine | None = None
    ) -> None:
        self.settings = settings.on_cores(os.cpu_count() or 1)
        self._folder: Path | None = None
        if path is None:
            self._folder = Path(tempfile.mkdtemp(prefix="transnorm-translator-"))
            path = self._folder / "socket"
        self.path = Path(path)
        self.engine = engine
        self.pid: int | None = None
        self.restarts = 0
        self._popen: subprocess.Popen[bytes] | None = None
        self._notice: int | None = None  # read end of the ready pipe: end-of-file when it dies
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None
        self._started = 0.0

    def start(self, timeout: float = START_TIMEOUT) -> TranslatorProcess:
        """Start it and return once it listens; raises :class:`TranslatorError` if it cannot."""
        if reachable(self.path):
            raise TranslatorError(f"a translation process already listens at {self.path}")
        read, write = os.pipe()
        try:
            if self.engine is not None:
                self.pid = self._fork(read, write)
            else:
                self._popen = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "transnorm.translator",
                        "serve",
                        "--socket",
                        str(self.path),
                        "--ready-fd",
                        str(write),
                    ],
                    pass_fds=(write,),
                    stdin=subprocess.DEVNULL,
                    env={
                        **os.environ,
                        **self.settings.to_env(),
                        "OMP_NUM_THREADS": str(max(1, self.settings.pipeline.intra_threads)),
                    },
                )
                self.pid = self._popen.pid
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self._notice = read
        self._started = time.monotonic()
        ready, _, _ = select.select([read], [], [], timeout)
        line = os.read(read, 64) if ready else b""
        if not line.startswith(b"ready"):
            self._kill()
            why = "did not start in time" if not ready else "ended while starting (see its log above)"
            raise TranslatorError(f"the translation process at {self.path} {why}")
        return self

    def _fork(self, read: int, write: int) -> int:
        pid = os.fork()
        if pid:
            return pid
        try:  # the child: nothing of the parent's but the engine and the ready pipe
            os.close(read)
            for fd in _open_fds() - {0, 1, 2, write}:
                with contextlib.suppress(OSError):
                    os.close(fd)
            for sig in (signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGCHLD):
                signal.signal(sig, signal.SIG_DFL)
            serve(self.settings, self.path, write, self.engine)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                print(f"transnorm translator: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
        finally:
            os._exit(1)
        return 0  # not reached

    @property
    def sentinel(self) -> int:
        """A file descriptor that becomes readable (end-of-file) when the process has ended."""
        assert self._notice is not None, "not started"
        return self._notice

    def alive(self) -> bool:
        if self._notice is None:
            return False
        ready, _, _ = select.select([self._notice], [], [], 0)
        return not ready

    def restart_if_dead(self) -> bool:
        """Restart the process if it has ended; returns whether it did. Raises
        :class:`TranslatorError` if it cannot be restarted."""
        if self.alive() or self._stopping.is_set():
            return False
        code = self._reap()
        log.warning("transnorm: the translation process (pid %s) ended (%s); restarting it", self.pid, code)
        self.restarts += 1
        self.start()
        return True

    def watch(self) -> TranslatorProcess:
        """Restart the process whenever it dies, from a thread of this process, until :meth:`stop`."""

        def run() -> None:
            pause = 0.0
            while not self._stopping.is_set():
                notice = self._notice
                if notice is not None:
                    select.select([notice], [], [])
                if self._stopping.wait(pause):
                    return
                # A process that dies soon after starting is restarted ever more slowly.
                pause = 0.0 if time.monotonic() - self._started > 30 else min(30.0, max(0.1, pause * 2))
                try:
                    self.restart_if_dead()
                except TranslatorError as exc:
                    log.error("transnorm: %s; trying again", exc)

        self._watcher = threading.Thread(target=run, name="transnorm-translator-watch", daemon=True)
        self._watcher.start()
        return self

    def _reap(self) -> str:
        if self._notice is not None:
            os.close(self._notice)
            self._notice = None
        if self.pid is None:
            return "not started"
        try:
            _, raw = os.waitpid(self.pid, 0)
        except ChildProcessError:  # reaped already (a gunicorn master reaps every child)
            return "exit status unknown"
        status = os.waitstatus_to_exitcode(raw)
        if self._popen is not None:
            self._popen.returncode = status
        return f"signal {-status}" if status < 0 else f"exit code {status}"

    def _kill(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the process (SIGTERM, then SIGKILL) and remove the folder made for it."""
        self._stopping.set()
        if self.pid is not None and self._notice is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
            ready, _, _ = select.select([self._notice], [], [], timeout)
            if not ready:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(self.pid, signal.SIGKILL)
            self._reap()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
        elif self.path.is_socket():
            with contextlib.suppress(OSError):
                self.path.unlink()


def _open_fds() -> set[int]:
    try:
        return {int(name) for name in os.listdir("/proc/self/fd")}
    except OSError:
        return set(range(3, 256))
