"""Batch faults (issue 23), through the real command: a killed worker, SIGTERM to the process
group and kill -9 of the main process never end in exit 0 with work missing; the batch deletes
only what it created; a full disk names the file it could not write; names are escaped in
every message. The randomized version of the kills is ``test_fault_fuzz``."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import unicodedata
import uuid
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from transnorm.batch.pool import WORKER_NAME

HOOK = Path(__file__).resolve().parent / "fault_hook"

pytestmark = pytest.mark.slow  # each test runs the batch command, most of them twice


def corpus(src: Path, n: int) -> list[Path]:
    """``n`` copies of the seeds (Chinese, Russian and English text: every chunk translates)."""
    src.mkdir(parents=True, exist_ok=True)
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    made = []
    for i in range(n):
        path = src / f"{i:03d}_{seeds[i % len(seeds)].name}"
        path.write_bytes(seeds[i % len(seeds)].read_bytes() + f"\nCopy {i}.\n".encode())
        made.append(path)
    return made


def start(
    src: Path, out: Path, settings, *extra: str, jobs: int = 2, marker: str = "", env: dict | None = None
) -> subprocess.Popen:
    """The batch in a session of its own (so that a test can signal its process group)."""
    full_env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
        "TESTS_BATCH_MARK": marker,
        **(env or {}),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "transnorm",
            "batch",
            str(src),
            "--out",
            str(out),
            "--jobs",
            str(jobs),
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=full_env,
        cwd=ROOT,
        start_new_session=True,
    )


def wait_for_output(out: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Until the first input is reported written (or the run ends)."""
    report = out / "report.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if report.exists() and '"status": "ok"' in report.read_text(errors="replace"):
            return
        time.sleep(0.002)


def marked(marker: str) -> list[int]:
    """The live processes started with ``TESTS_BATCH_MARK=marker`` (the run and its children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if f"TESTS_BATCH_MARK={marker}".encode() in (entry / "environ").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def gone(marker: str, within: float = 10.0) -> bool:
    """Whether every process of the run is gone (polled: a process killed is not gone at once)."""
    deadline = time.monotonic() + within
    while marked(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def workers(main: int) -> list[int]:
    """The worker processes of the batch ``main`` (named so; not the translation process nor
    multiprocessing's own helpers)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            comm = (entry / "comm").read_bytes().strip()
        except (OSError, ValueError, IndexError):
            continue
        if ppid == main and comm == WORKER_NAME:
            found.append(int(entry.name))
    return found


def report_of(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]


def assert_complete(out: Path, inputs: list[Path]) -> None:
    """Every input reported once, written or unchanged, and its outputs intact."""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == summary["not_processed"] == 0 and summary["interrupted"] is None
    assert summary["ok"] + summary["unchanged"] == len(inputs) == summary["files"]
    names = [r["file"] for r in report_of(out)]
    assert sorted(names) == sorted(p.name for p in inputs)
    for path in inputs:
        doc = json.loads((out / f"{path.name}.json").read_text())
        assert "".join(s["source_text"] for s in doc["spans"]) == path.read_text()
        assert (out / f"{path.name}.en.txt").read_text() == doc["text"]


# -- item 1: a killed worker, SIGTERM to the process group ----------------------------------------


def test_sigterm_to_the_process_group_exits_143_with_a_summary_and_the_rerun_finishes(
    tmp_path, real_settings
):
    """As `timeout`, a container stop or a job scheduler do: every process gets SIGTERM."""
    src, out = tmp_path / "in", tmp_path / "out"
    inputs = corpus(src, 150)
    marker = uuid.uuid4().hex
    proc = start(src, out, real_settings, "--format", "json,text", marker=marker)
    wait_for_output(out, proc)
    assert proc.poll() is None, "the batch finished before the signal"
    os.killpg(proc.pid, signal.SIGTERM)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 143, stderr.decode()
    assert gone(marker)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == "SIGTERM"
    records = report_of(out)
    assert len(records) == summary["files"] and summary["not_processed"] == 150 - len(records) > 0
    assert b"stopped by SIGTERM" in stderr and b"not processed" in stderr
    rerun = start(src, out, real_settings, "--format", "json,text")
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    assert_complete(out, inputs)


@pytest.mark.parametrize("jobs, signum", [(2, signal.SIGKILL), (1, signal.SIGTERM)])
def test_a_killed_worker_fails_its_chunk_and_the_run_exits_1_with_a_summary(
    tmp_path, real_settings, jobs, signum
):
    """The other worker (or, with one, a new one) finishes the rest; the rerun redoes the chunk."""
    src, out = tmp_path / "in", tmp_path / "out"
    inputs = corpus(src, 150)
    proc = start(src, out, real_settings, "--format", "json,text", jobs=jobs)
    wait_for_output(out, proc)
    running = workers(proc.pid)
    assert proc.poll() is None and running, "the batch finished before the kill"
    os.kill(running[0], signum)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    records = report_of(out)
    assert len(records) == summary["files"] == 150 and summary["not_processed"] == 0
    died = [r for r in records if r["status"] == "failed"]
    assert died and summary["failed"] == len(died)
    assert all(r["error"].startswith("the worker process died") for r in died), died[:2]
    assert all("run again" in r["error"] for r in died)
    assert summary["ok"] == 150 - len(died)
    rerun = start(src, out, real_settings, "--format", "json,text", jobs=jobs)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    assert_complete(out, inputs)
    assert json.loads((out / "summary.json").read_text())["unchanged"] >= summary["ok"]


def fault(name: str, folder: Path) -> dict[str, str]:
    """The environment that makes the fault ``name`` of ``tests/fault_hook`` happen (once)."""
    path = os.pathsep.join(p for p in (str(HOOK), os.environ.get("PYTHONPATH")) if p)
    flag = str(folder / f"fault-{uuid.uuid4().hex}")
    return {"PYTHONPATH": path, "TESTS_BATCH_FAULT": name, "TESTS_BATCH_FAULT_FLAG": flag}


@pytest.mark.parametrize("who", ["group", "main"])
def test_sigterm_while_the_engine_translates_stops_the_run(tmp_path, real_settings, who):
    """The signal's exception, raised inside the engine's call, must not be taken for an engine
    error of the sentences being translated (it was: they were left untranslated and written so,
    recorded as done; the signal was lost, and with the group signalled the answers went to dead
    workers: exit 0 and no summary)."""
    src, out = tmp_path / "in", tmp_path / "out"
    inputs = corpus(src, 60)
    proc = start(
        src, out, real_settings, "--format", "json,text", env=fault(f"sigterm-{who}-in-the-engine", tmp_path)
    )
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == "SIGTERM" and summary["not_processed"] > 0
    assert summary["incomplete"] == summary["with_warnings"] == 0
    rerun = start(src, out, real_settings, "--format", "json,text")
    assert rerun.wait(300) == 0
    assert_complete(out, inputs)
    for path in inputs:  # nothing was left untranslated because of the signal
        doc = json.loads((out / f"{path.name}.json").read_text())
        assert not [w for w in doc["warnings"] if "SIGTERM" in w or "Interrupted" in w], doc["warnings"]


def test_a_signal_inside_the_engine_never_leaves_a_sentence_untranslated_for_good(tmp_path, real_settings):
    """One sentence in the engine's call when SIGTERM comes: were the signal taken for an engine
    error, the sentence would be written untranslated and recorded as done, and no rerun would
    translate it."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / "one.txt").write_text("科尔图诺夫说，会谈将于下周继续进行。\n")
    proc = start(src, out, real_settings, jobs=1, env=fault("sigterm-main-in-the-engine", tmp_path))
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 143, stderr.decode()
    rerun = start(src, out, real_settings, jobs=1)
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    doc = json.loads((out / "one.txt.json").read_text())
    assert doc["warnings"] == [] and [s["action"] for s in doc["spans"]] == ["translated", "kept"]


def test_workers_killed_while_the_main_process_translates_for_them_fail_their_chunks(tmp_path, real_settings):
    """The answer then goes to a broken pipe: the run must not end there with exit 0 (it did,
    with no summary: BrokenPipeError reached the command's handler for a closed stdout)."""
    src, out = tmp_path / "in", tmp_path / "out"
    inputs = corpus(src, 60)
    proc = start(
        src,
        out,
        real_settings,
        "--format",
        "json,text",
        env=fault("kill-workers-while-translating", tmp_path),
    )
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr.decode()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == 60 and summary["failed"] > 0 and summary["not_processed"] == 0
    assert all(f["error"].startswith("the worker process died (signal 9)") for f in summary["failures"])
    rerun = start(src, out, real_settings, "--format", "json,text")
    assert rerun.wait(300) == 0
    assert_complete(out, inputs)


def test_a_library_pipeline_with_its_models_loaded_still_gets_workers(tmp_path, real_settings, detector):
    """Workers then come from the forkserver, whose children have it, not this process, as their
    parent: they must not take that for the main process's death (they did, and the pool started
    new ones for ever)."""
    from transnorm import Pipeline
    from transnorm.batch import Job, run_batch
    from transnorm.batch.pool import LocalPool
    from transnorm.options import Options

    src = tmp_path / "in"
    inputs = corpus(src, 12)
    pipeline = Pipeline(real_settings, detector=detector)
    pipeline.engine.load()
    started = []
    original = LocalPool._start

    def counted(self):
        started.append(1)
        if len(started) > 8:
            raise AssertionError("the pool keeps starting workers that die at once")
        original(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(LocalPool, "_start", counted)
        job = Job(tmp_path / "out", ("json",), Options(), real_settings)
        summary = run_batch(src, job, jobs=2, pipeline=pipeline)
    assert summary.succeeded and summary.ok == len(inputs)
    assert len(started) == 2


# -- item 3: kill -9 of the main process alone ----------------------------------------------------


def test_kill_9_of_the_main_process_leaves_no_orphan_and_the_rerun_takes_over(tmp_path, real_settings):
    """As the OOM killer does to the process holding the models: the workers die with it, the
    lock goes with them, and a rerun started at once proceeds, naming the run that did not end."""
    src, out = tmp_path / "in", tmp_path / "out"
    inputs = corpus(src, 150)
    first = start(src, out, real_settings, "--format", "json")
    assert first.wait(300) == 0  # an earlier, complete run: its summary.json says so
    (out / "report.jsonl").unlink()  # (so that the test sees when the next run has written)
    marker = uuid.uuid4().hex
    proc = start(src, out, real_settings, "--format", "json,text", marker=marker)
    wait_for_output(out, proc)
    assert proc.poll() is None and workers(proc.pid), "the batch finished before the kill"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    # The last summary.json was the earlier run's: it must not stand for this one.
    assert not (out / "summary.json").exists()
    rerun = start(src, out, real_settings, "--format", "json,text")
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    assert f"the previous run (pid {proc.pid}, started ".encode() in stderr
    assert b"did not finish; resuming where it stopped" in stderr
    assert gone(marker)
    assert_complete(out, inputs)


def test_a_signal_while_waiting_for_the_lock_exits_143_having_written_nothing(tmp_path, real_settings):
    from filelock import FileLock

    src, out = tmp_path / "in", tmp_path / "out"
    corpus(src, 3)
    out.mkdir()
    with FileLock(out / ".transnorm.lock"):
        proc = start(src, out, real_settings, "--wait")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:  # until it waits on the lock
            fds = Path(f"/proc/{proc.pid}/fd")
            if any(os.readlink(fd).endswith(".transnorm.lock") for fd in fds.iterdir() if fd.is_symlink()):
                break
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143
    assert stderr.decode().strip() == (
        "transnorm batch: stopped by SIGTERM before the run started; nothing was written"
    )
    assert sorted(p.name for p in out.iterdir()) == [".transnorm.lock"]


# -- item 2: the batch deletes only files it created ----------------------------------------------


def test_the_batch_never_deletes_files_it_did_not_create(tmp_path, real_settings):
    """Hidden ``*.tmp`` files of the user's, in the output folder and in an input folder inside
    it, survive a run, a run killed mid-way, and the rerun that clears what that run left."""
    out = tmp_path / "out"
    src = out / "articles"
    inputs = corpus(src, 60)
    mine = {
        src / ".draft.tmp": "a draft\n",
        src / "sub" / ".notes.tmp": "notes\n",
        out / ".cache.tmp": "the user's cache\n",
        out / ".transnorm-0123456789ab.tmp": "named like a temporary file of ours\n",
        out / "nested" / ".transnorm-state.tmp": "and this\n",
    }
    for path, text in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    proc = start(src, out, real_settings, "--format", "json,text")
    wait_for_output(out, proc)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    leftovers = [p for p in (out / ".transnorm-state" / "tmp").rglob("*") if p.is_file()]
    rerun = start(src, out, real_settings, "--format", "json,text")
    _, stderr = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, stderr.decode()
    for path, text in mine.items():
        assert path.read_text() == text, f"{path} was deleted or changed"
    summary = json.loads((out / "summary.json").read_text())
    assert summary["partial_files_removed"] == len(leftovers)
    assert not [p for p in (out / ".transnorm-state" / "tmp").rglob("*") if p.is_file()]
    written = {r["file"]: r for r in report_of(out)}
    assert all(written[p.name]["status"] in ("ok", "unchanged") for p in inputs)


# -- item 6: full disks, names ---------------------------------------------------------------


def _tmpfs(path: Path, options: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], capture_output=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")


def test_enospc_on_a_state_file_names_it_and_lists_the_outputs_that_were_written(tmp_path, real_settings):
    """Out of inodes at every point of a run in turn (one worker: the order of writes is fixed),
    until the one that fails an input's state file after its output: that failure names the state
    file, lists the output as written (it is, whole), and the rerun redoes the input."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(6):
        (src / f"doc{i}.txt").write_text(f"Document {i} is plain English text.\n")
    args = ["batch", str(src), "--out", str(out), "--jobs", "1", "--format", "json"]
    env = {"TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir)}
    for inodes in range(10, 30):
        _tmpfs(out, f"size=4m,nr_inodes={inodes}")
        try:
            r = run_cli(args, env=env)
            if r.returncode == 0:
                break
            record = _check_full_disk_run(r, out, src)
            if record is None:
                continue
            assert record["outputs"] == [record["file"] + ".json"]
            error = record["error"]
            assert error.startswith("its outputs were written, but not its record .transnorm-state/")
            assert error.endswith(".json (no space left on device); the next run redoes it")
            assert f"failed: {record['file']}: its outputs were written" in r.stderr.decode()
            subprocess.run(["mount", "-o", "remount,nr_inodes=1000", str(out)], check=True)
            again = run_cli(args, env=env)
            assert again.returncode == 0, again.stderr.decode()
            assert {r["file"]: r["status"] for r in report_of(out)}[record["file"]] == "ok"
            return
        finally:
            subprocess.run(["umount", "-l", str(out)], capture_output=True)
    pytest.fail("no number of inodes made an input's state file the first write to fail")


def _check_full_disk_run(r: subprocess.CompletedProcess, out: Path, src: Path) -> dict | None:
    """Check a run on a full disk: failures say why, every output listed is there, whole. The
    record of an input whose state file could not be written, if there is one."""
    stderr = r.stderr.decode()
    assert r.returncode == 1 and "Traceback" not in stderr and "internal error" not in stderr, stderr
    state_failure = None
    for record in report_of(out):
        for name in record["outputs"]:
            assert json.loads((out / name).read_text())["text"] == (src / record["file"]).read_text()
        if record["status"] == "failed":
            assert "no space left on device" in record["error"], record
            if ".transnorm-state" in record["error"] or record["outputs"]:
                state_failure = record
    return state_failure


def test_a_disk_too_small_for_the_reservation_keeps_the_report_and_summary(tmp_path, real_settings):
    """Refused before anything is replaced (the earlier run's report and summary stay), or run
    with both kept whole; never both lost (they were, and no output was written either)."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(40):
        (src / f"doc{i:02d}.txt").write_text(f"Document {i} is plain English text. " * 40 + "\n")
    env = {"TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir)}
    for size in ("16k", "32k", "48k"):
        _tmpfs(out, f"size={size}")
        try:
            r = run_cli(["batch", str(src), "--out", str(out), "--format", "json,text"], env=env)
            assert r.returncode == 1
            stderr = r.stderr.decode()
            assert b"Traceback" not in r.stderr and "internal error" not in stderr, stderr
            if (out / "summary.json").exists():
                summary = json.loads((out / "summary.json").read_text())
                assert summary["files"] == len(report_of(out)) == 40, size
            else:
                assert stderr.startswith(f"transnorm: the output folder {out} has "), stderr
                assert "KiB free: the run's report and summary need " in stderr
                assert not list(out.glob("doc*")) and not (out / "report.jsonl").exists()
        finally:
            subprocess.run(["umount", "-l", str(out)], capture_output=True)


def test_nfc_and_nfd_names_are_two_files_where_the_file_system_keeps_them_apart(tmp_path):
    from transnorm.batch.inputs import Folding

    folding = Folding.probe(tmp_path)
    if folding.unicode:
        pytest.skip("this file system treats Unicode-equivalent names as one")
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    composed, decomposed = (unicodedata.normalize(form, "café.txt") for form in ("NFC", "NFD"))
    (src / composed).write_text("Composed.\n")
    (src / decomposed).write_text("Decomposed.\n")
    r = run_cli(["batch", str(src), "--out", str(out), "--format", "json"])
    assert r.returncode == 0, r.stderr.decode()
    assert json.loads((out / f"{composed}.json").read_text())["text"] == "Composed.\n"
    assert json.loads((out / f"{decomposed}.json").read_text())["text"] == "Decomposed.\n"


def test_folding_a_name_follows_the_file_system():
    from transnorm.batch.inputs import Folding

    nfc, nfd = Path(unicodedata.normalize("NFC", "é.txt")), Path(unicodedata.normalize("NFD", "é.txt"))
    assert Folding().key(nfc) != Folding().key(nfd)
    assert Folding(unicode=True).key(nfc) == Folding(unicode=True).key(nfd)
    assert Folding(case=True).key(Path("A.txt")) == Folding(case=True).key(Path("a.txt"))


def _escape_check(stderr: bytes) -> list[str]:
    text = stderr.decode()
    assert "\x1b" not in text and "\x07" not in text and "\r" not in text and "\u202e" not in text
    return text.splitlines()


def test_names_with_control_characters_are_escaped_in_every_message(tmp_path):
    """ESC sequences, BEL, newlines and a bidi override in input names: each message is one line
    and nothing reaches the terminal raw (the report, JSON, escapes them its own way)."""
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    names = ["\x1b[2J\x1b]0;owned\x07.txt", "new\nline.txt", "cr\rname.txt", "rtl\u202etxt.exe"]
    for name in names:
        (src / name).write_bytes(b"\xff not UTF-8")
    (src / "x.txt").write_text("x\n")
    (src / "x.txt.json").mkdir()
    (src / "x.txt.json" / "\x1b[31mred").write_text("under an output's name\n")
    r = run_cli(["batch", str(src), "--out", str(out), "--format", "json"])
    assert r.returncode == 1
    lines = _escape_check(r.stderr)
    assert lines[0].startswith("transnorm batch: 6 entries: 1 written")
    failed = [line for line in lines[1:] if line.startswith("  failed: ")]
    assert len(failed) == len(lines) - 1 == 5
    assert any(line.startswith("  failed: \\x1b[2J\\x1b]0;owned\\x07.txt: invalid UTF-8") for line in failed)
    assert any(line.startswith("  failed: new\\x0aline.txt: ") for line in failed)
    assert any(line.startswith("  failed: rtl\\u202etxt.exe: ") for line in failed)
    assert any(line.startswith("  failed: x.txt.json/\\x1b[31mred: ") for line in failed)
    assert {r["file"] for r in report_of(out)} >= set(names)  # the report keeps the names themselves
    missing = run_cli(["normalize", str(tmp_path / "\x1b]0;title\x07\n.txt")])
    assert missing.returncode == 3
    (line,) = _escape_check(missing.stderr)
    assert line.endswith("\\x1b]0;title\\x07\\x0a.txt: no such file or folder")
    gone_folder = run_cli(["batch", str(tmp_path / "no\x1bsuch"), "--out", str(out)])
    assert _escape_check(gone_folder.stderr) == [f"transnorm: {tmp_path}/no\\x1bsuch does not exist"]


def test_a_missing_input_folder_exits_3(tmp_path):
    r = run_cli(["batch", str(tmp_path / "nothing"), "--out", str(tmp_path / "out")])
    assert r.returncode == 3
    assert r.stderr.decode() == f"transnorm: {tmp_path / 'nothing'} does not exist\n"
    assert not (tmp_path / "out").exists()
