"""A watchdog that ends every process a run started once the run's own process has ended, however
it ended (kill -9, the OOM killer): used for the Ray session a batch starts on this machine.

Ray kills its GCS and raylet with the driver (a parent-death signal), but the agents and workers
the raylet started outlive it: 60 s for the agents, which wait on the dead GCS. So :func:`watch`
starts, before Ray does, a small process (this file, run by path: the standard library only, no
``transnorm`` or Ray import) that waits for end of file on a pipe whose write end only the run
holds, then SIGKILLs every process carrying the run's mark until none is left.

Why so (each tried or read in Ray's source):

- A mark in the environment (:data:`MARK`, set around ``ray.init`` with :func:`marking`) finds
  exactly that session's processes: every process Ray starts inherits it, whereas Ray renames
  its processes, and its workers are neither the driver's children nor in its process group. A
  user's other Ray cluster never carries the mark, so it is never touched.
- End of file on a pipe rather than ``PR_SET_PDEATHSIG``: that signal follows the *thread* that
  started the watchdog, so a session started from a short-lived thread would be ended alive.
- Not ``ray start --head --block`` as our child: it records itself as this machine's current
  cluster (so other programs' ``address="auto"`` would join it), and a kill of the process group
  takes it down with the driver before it can clean up; the watchdog has a session of its own.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

#: The environment variable that marks every process of a watched run (its value: the run's mark).
MARK = "TRANSNORM_REAPER_MARK"
#: At most this many sweeps, :data:`PAUSE` seconds apart, while marked processes are still found.
SWEEPS = 100
PAUSE = 0.05


def new_mark() -> str:
    """A mark no other run has."""
    return secrets.token_hex(16)


@contextlib.contextmanager
def marking(mark: str) -> Iterator[None]:
    """Processes started inside this block carry ``mark`` (and pass it on to the processes they
    start); this process itself does not. ``SPT_NOENV`` keeps the mark legible in
    ``/proc/PID/environ``: Ray retitles its agents with setproctitle, which otherwise overwrites
    the start of that area (the mark was lost there in some runs)."""
    given = {MARK: mark, "SPT_NOENV": os.environ.get("SPT_NOENV") or "1"}
    before = {name: os.environ.get(name) for name in given}
    os.environ.update(given)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def watch(mark: str) -> int:
    """Start the watchdog of ``mark`` and return its pid: when this process has ended (and with it
    the pipe's write end, which is left open and owned by no object until then), the watchdog
    ends every process carrying ``mark``, then itself. (A fork of this process that outlives it
    holds the write end too, and so delays the watchdog until it ends.)"""
    read, write = os.pipe()  # neither end is inherited by the processes this one starts
    env = {name: value for name, value in os.environ.items() if name != MARK}
    try:
        return os.posix_spawn(
            sys.executable,
            [sys.executable, "-I", "-S", str(Path(__file__).resolve()), mark],
            env,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, read, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),  # stderr stays, for a crash
            ],
            setsid=True,  # a signal to the run's process group does not reach it
        )
    except BaseException:
        os.close(write)
        raise
    finally:
        os.close(read)


@contextlib.contextmanager
def tied_to_this_process() -> Iterator[None]:
    """The processes started inside this block (and theirs) are ended once this process has ended:
    a new mark, its watchdog started, and the mark set for the block (on Linux, which has the
    ``/proc`` the watchdog reads; elsewhere the block runs unwatched)."""
    if not sys.platform.startswith("linux"):
        yield
        return
    mark = new_mark()
    watch(mark)
    with marking(mark):
        yield


def _end_if_marked(pid: int, entry: bytes) -> bool:
    """SIGKILL ``pid`` if its environment holds ``entry``. The pidfd is taken before the
    environment is read, so a pid reused by another process in between is never signalled."""
    try:
        handle: int | None = os.pidfd_open(pid)
    except ProcessLookupError:
        return False
    except OSError:  # no pidfd (Linux before 5.3): the check and the kill are a moment apart
        handle = None
    try:
        if entry not in b"\0" + Path(f"/proc/{pid}/environ").read_bytes():
            return False
        if handle is None:
            os.kill(pid, signal.SIGKILL)
        else:
            signal.pidfd_send_signal(handle, signal.SIGKILL)
        return True
    except OSError:  # gone, or not ours to read
        return False
    finally:
        if handle is not None:
            os.close(handle)


def reap(mark: str) -> int:
    """SIGKILL every process carrying ``mark`` (but this one) until a sweep finds none; return how
    many were ended. A process ended is a zombie at most, with no environment to match."""
    entry = f"\0{MARK}={mark}\0".encode()
    me = str(os.getpid())
    ended: set[int] = set()
    for _ in range(SWEEPS):
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and p.name != me]
        found = [pid for pid in pids if _end_if_marked(pid, entry)]
        if not found:
            break
        ended.update(found)
        time.sleep(PAUSE)  # let them die before looking again (children they started meanwhile)
    return len(ended)


def _main(mark: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    while os.read(0, 4096):  # the run never writes: this returns at end of file, when it has ended
        pass
    reap(mark)


if __name__ == "__main__":
    _main(sys.argv[1])
