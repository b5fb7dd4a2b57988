"""The watchdog that ends a run's processes once the run's process has died (issue 23: kill -9 of
a Ray driver left Ray's agents running): it ends the processes carrying the run's mark, and only
those. The Ray session itself is in tests/test_ray.py."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import until
from transnorm.batch import reaper

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="reads /proc (Linux)")

#: Kills its own process right after starting the watchdog, as the OOM killer would.
DRIVER = """
import os, signal, sys
from transnorm.batch import reaper
print(reaper.watch(sys.argv[1]), flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie has ended: nobody may reap it once its parent has gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _waiting(env: dict[str, str] | None = None) -> subprocess.Popen:
    """A process that waits on its standard input for as long as nobody kills it."""
    return subprocess.Popen(["cat"], stdin=subprocess.PIPE, env=env)


def test_the_watchdog_ends_the_marked_processes_once_its_process_is_killed():
    mark = reaper.new_mark()
    with reaper.marking(mark):
        marked = [_waiting(), _waiting()]
    assert reaper.MARK not in os.environ
    others = [
        _waiting({**os.environ, reaper.MARK: mark + "0"}),  # another run's mark, ours as its prefix
        _waiting({**os.environ, reaper.MARK: reaper.new_mark()}),
        _waiting(),  # none
    ]
    try:
        driver = subprocess.run([sys.executable, "-c", DRIVER, mark], capture_output=True, timeout=60)
        assert driver.returncode == -signal.SIGKILL, driver.stderr
        watchdog = int(driver.stdout)
        assert until(lambda: not _alive(watchdog)), "the watchdog did not finish"
        for process in marked:
            assert process.wait(timeout=5) == -signal.SIGKILL
        assert [p.poll() for p in others] == [None, None, None]
    finally:
        for process in marked + others:
            process.kill()
            process.wait()


def test_without_pidfds_the_marked_are_ended_all_the_same(monkeypatch):
    """Linux before 5.3 has no pidfd (RHEL 8 runs 4.18): the watchdog kills by pid instead."""
    mark = reaper.new_mark()
    with reaper.marking(mark):
        marked = _waiting()
    other = _waiting()

    def no_pidfd(pid: int) -> int:
        raise OSError(errno.ENOSYS, "pidfd_open")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    try:
        assert reaper.reap(mark) == 1  # this process is not marked: only the child is
        assert marked.wait(timeout=5) == -signal.SIGKILL and other.poll() is None
    finally:
        for process in (marked, other):
            process.kill()
            process.wait()
