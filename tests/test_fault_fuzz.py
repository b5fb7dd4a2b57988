"""The batch's fault paths, randomized (issue 23): each round starts a batch, kills a random
process of it -- a worker, the main process, or the whole process group; SIGKILL or SIGTERM --
at a random moment (from start-up to past the run's end), then reruns it at once. Every round:

- the first run's exit code is honest: 0 only for a complete run; 143 with a summary that names
  the signal (or, before the lock was taken, a message that nothing was written); 1 with a
  summary whose failures are the dead worker's inputs; death by the signal only where the
  signal could not be caught (SIGKILL, or SIGTERM before the handlers exist, nothing written);
- the rerun is not refused (no stale lock), exits 0, and reports every input exactly once;
- every output is there and whole (its source recoverable from it, text and JSON agreeing);
- no file of the user's is deleted or changed, no temporary file is left, no process of
  either run is left behind.

The test suite runs a few rounds; ``TRANSNORM_FAULT_RUNS=50`` runs more,
``TRANSNORM_FAULT_SEED`` replays a sequence (the seed is printed), ``TRANSNORM_FAULT_LOG=FILE``
writes a line of JSON per round.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from test_batch_faults import corpus, gone, marked, report_of, start, workers

pytestmark = pytest.mark.slow

RUNS = int(os.environ.get("TRANSNORM_FAULT_RUNS", "4"))
SEED = int(os.environ.get("TRANSNORM_FAULT_SEED") or random.SystemRandom().randrange(1 << 32))
DOCUMENTS = 60
#: Files of the user's in the output folder and in the input folder (which is, in some rounds,
#: inside the output folder): none may be touched.
USER_FILES = {
    "out/.cache.tmp": "the user's own\n",
    "out/.transnorm-0123456789ab.tmp": "named like a temporary file of the batch\n",
    "out/notes/.draft.tmp": "a draft\n",
    "in/.draft.tmp": "a draft beside the inputs\n",
}


@dataclass
class Round:
    target: str  # worker, main, group
    signal: str
    at: float  # seconds after the start
    jobs: int
    input_inside_out: bool
    killed: str = ""  # what was signalled (a worker may be gone by then: "none")
    exit: int | None = None
    reported: int = 0  # records in the first run's report
    rerun_exit: int | None = None
    rerun_written: int = 0
    rerun_unchanged: int = 0
    seconds: float = 0.0


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz-corpus") / "in"
    corpus(folder, DOCUMENTS)
    return folder


def test_random_kills_then_a_rerun_lose_nothing(tmp_path, real_settings, template, capsys):
    rng = random.Random(SEED)
    # How long a run takes here: the kills fall anywhere in it, and a little past its end.
    started = time.monotonic()
    clean = start(template, tmp_path / "clean", real_settings, "--format", "json,text")
    assert clean.wait(300) == 0
    span = time.monotonic() - started
    shutil.rmtree(tmp_path / "clean")
    log = Path(os.environ["TRANSNORM_FAULT_LOG"]) if os.environ.get("TRANSNORM_FAULT_LOG") else None
    rounds = []
    for i in range(RUNS):
        fault = Round(
            target=rng.choice(["worker", "main", "group"]),
            signal=rng.choice(["SIGKILL", "SIGTERM"]),
            at=round(rng.uniform(0.0, 1.15 * span), 3),
            jobs=rng.choice([1, 2]),
            input_inside_out=rng.random() < 0.5,
        )
        try:
            _round(tmp_path / f"round{i}", template, real_settings, fault)
        except BaseException:
            print(f"fault round {i} of seed {SEED} failed: {fault}")
            raise
        rounds.append(fault)
        if log:
            with log.open("a") as f:
                f.write(json.dumps({"seed": SEED, "round": i, **asdict(fault)}) + "\n")
    with capsys.disabled():
        print(f"\n{len(rounds)} fault rounds (seed {SEED}, a clean run takes {span:.1f} s):")
        for r in rounds:
            print(
                f"  {r.killed:<7} {r.signal:<7} at {r.at:5.2f}s jobs {r.jobs}: exit {r.exit}, "
                f"{r.reported} reported; rerun exit {r.rerun_exit}: {r.rerun_written} written, "
                f"{r.rerun_unchanged} unchanged ({r.seconds:.1f} s)"
            )


def _round(root: Path, template: Path, settings, fault: Round) -> None:
    began = time.monotonic()
    out = root / "out"
    src = out / "in" if fault.input_inside_out else root / "in"
    shutil.copytree(template, src)
    user = {
        (out if name.startswith("out/") else src) / name.split("/", 1)[1]: text
        for name, text in USER_FILES.items()
    }
    for path, text in user.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    inputs = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    marker = uuid.uuid4().hex
    args = ("--format", "json,text")
    proc = start(src, out, settings, *args, jobs=fault.jobs, marker=marker)
    signum = signal.Signals[fault.signal]
    deadline = began + fault.at
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.005)
    fault.killed = _signal(proc, fault.target, signum)
    try:
        _, stderr = proc.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the run hung after {fault}")
    fault.exit = proc.returncode
    _check_first_run(proc.returncode, stderr.decode(), out, fault, signum)
    fault.reported = len(report_of(out)) if (out / "report.jsonl").exists() else 0

    rerun = start(src, out, settings, *args, jobs=fault.jobs)  # at once: no waiting for a lock
    _, stderr = rerun.communicate(timeout=300)
    fault.rerun_exit = rerun.returncode
    assert rerun.returncode == 0, f"{fault}: {stderr.decode()}"
    summary = json.loads((out / "summary.json").read_text())
    fault.rerun_written, fault.rerun_unchanged = summary["ok"], summary["unchanged"]
    assert summary["ok"] + summary["unchanged"] == len(inputs), (fault, summary)
    records = report_of(out)
    names = [r["file"] for r in records]
    assert len(names) == len(set(names)) == summary["files"] == len(inputs) + 1, fault  # + .draft.tmp
    assert {r["file"]: r["status"] for r in records}[".draft.tmp"] == "skipped"
    for path in inputs:
        doc = json.loads((out / f"{path.name}.json").read_text())
        assert "".join(s["source_text"] for s in doc["spans"]) == path.read_text(), (fault, path)
        assert (out / f"{path.name}.en.txt").read_text() == doc["text"], (fault, path)
    for path, text in user.items():
        assert path.is_file() and path.read_text() == text, f"{fault}: {path} deleted or changed"
    assert not [p for p in (out / ".transnorm-state" / "tmp").rglob("*") if p.is_file()], fault
    assert not (out / ".transnorm-state" / "run.json").exists(), fault
    assert gone(marker), f"{fault}: processes of the first run left: {marked(marker)}"
    fault.seconds = time.monotonic() - began


def _signal(proc: subprocess.Popen, target: str, signum: signal.Signals) -> str:
    """Send ``signum`` to the target; what was signalled ("none": the run had ended)."""
    if proc.poll() is not None:
        return "none"
    try:
        if target == "group":
            os.killpg(proc.pid, signum)
            return "group"
        if target == "worker":
            running = workers(proc.pid)
            if running:
                os.kill(random.choice(running), signum)
                return "worker"
        os.kill(proc.pid, signum)  # the main process (also when it has no worker at that moment)
        return "main"
    except ProcessLookupError:
        return "none"


def _check_first_run(code: int, stderr: str, out: Path, fault: Round, signum: signal.Signals) -> None:
    """The exit code of the run that was signalled says what happened, and the run's files agree."""
    summary_path, report_path = out / "summary.json", out / "report.jsonl"
    records = report_of(out) if report_path.exists() else []  # every line whole
    names = [r["file"] for r in records]
    assert len(names) == len(set(names)), f"{fault}: an input reported twice"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else None
    if summary is not None:
        assert summary["files"] == len(records), (fault, summary)
    if code == 0:
        assert summary is not None and summary["not_processed"] == summary["failed"] == 0, (fault, summary)
        assert summary["interrupted"] is None and summary["ok"] + summary["unchanged"] == DOCUMENTS
    elif code == 1:  # a worker died: its inputs failed, the rest was done
        assert fault.killed in ("worker", "group"), (fault, stderr)
        assert summary is not None and summary["not_processed"] == 0 and summary["failed"] > 0, (
            fault,
            summary,
        )
        assert all(f["error"].startswith("the worker process died") for f in summary["failures"]), fault
    elif code == 128 + signal.SIGTERM:
        assert signum == signal.SIGTERM and fault.killed in ("main", "group"), fault
        if summary is not None:
            assert summary["interrupted"] == "SIGTERM", (fault, summary)
            assert summary["files"] + summary["not_processed"] == DOCUMENTS + 1, (fault, summary)
        else:
            assert stderr.strip().endswith("before the run started; nothing was written"), (fault, stderr)
            assert not report_path.exists(), fault
    elif code in (-signal.SIGTERM, -signal.SIGKILL):
        # Killed where the signal could not be handled: SIGKILL, or SIGTERM before the handlers
        # were installed (nothing written yet) or after the run had ended (its summary written).
        assert fault.killed in ("main", "group"), fault
        assert code == -signal.SIGKILL or summary is not None or not report_path.exists(), (fault, stderr)
        if summary is not None:  # a summary.json is only ever that of a run that ended
            assert summary["interrupted"] is None and summary["not_processed"] == 0, (fault, summary)
    else:
        pytest.fail(f"{fault}: exit {code}: {stderr}")
