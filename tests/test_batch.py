"""The batch mode and the CLI's file handling, through the real command: output names that cannot
collide, any file name, a lock on the output folder, full disks, signals, ``-o`` rules, file
modes, long names."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from conftest import NO_MODELS, ROOT, run_cli


def batch(src: Path, out: Path, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return run_cli(["batch", str(src), "--out", str(out), "--jobs", "2", *extra], env=env)


def report_of(out: Path) -> dict[str, dict]:
    lines = (out / "report.jsonl").read_bytes().decode("utf-8").splitlines()
    return {r["file"]: r for r in map(json.loads, lines)}


def write(folder: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


@pytest.mark.slow
def test_inputs_sharing_a_stem_each_keep_their_outputs(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    texts = {
        "a": "Plain a.\n",
        "a.md": "Markdown a.\n",
        "a.txt": "Text a.\n",
        "summary.txt": "Not the run summary.\n",
        "sub/a.txt": "Deeper a.\n",
    }
    write(src, texts)
    for _ in range(2):  # and a rerun rewrites nothing over anything
        r = batch(src, out, "--format", "json,text")
        assert r.returncode == 0, r.stderr
        for name, text in texts.items():
            assert json.loads((out / f"{name}.json").read_text())["text"] == text
            assert (out / f"{name}.en.txt").read_text() == text
    report = report_of(out)
    assert {r["status"] for r in report.values()} == {"unchanged"}
    assert report["a.md"]["outputs"] == ["a.md.json", "a.md.en.txt"]
    assert json.loads((out / "summary.json").read_text())["files"] == 5


def test_an_output_on_a_reserved_name_or_on_another_inputs_outputs_fails_naming_both(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    write(src, {"summary": "Would be summary.json.\n", "x": "The file x.\n", "x.json/y": "Under x.json.\n"})
    r = batch(src, out, "--format", "json")
    assert r.returncode == 1
    report = report_of(out)
    assert report["summary"]["status"] == "failed"
    assert (
        report["summary"]["error"]
        == "its output summary.json would overwrite the run's summary; rename the input"
    )
    assert report["x"]["status"] == "ok"
    assert report["x.json/y"]["status"] == "failed" and "output of x" in report["x.json/y"]["error"]
    assert json.loads((out / "summary.json").read_text())["failed"] == 2  # the run's own, intact
    assert json.loads((out / "x.json").read_text())["text"] == "The file x.\n"


@pytest.mark.slow
def test_a_name_that_is_not_utf8_is_reported_escaped_and_processed(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    (src / os.fsdecode(b"caf\xe9.txt")).write_text("Plain English.\n")
    (src / "after.txt").write_text("Still processed.\n")
    r = batch(src, out)
    assert r.returncode == 0, r.stderr
    report = report_of(out)  # valid UTF-8 JSON lines
    assert report["caf\\xe9.txt"]["status"] == "ok" and report["after.txt"]["status"] == "ok"
    doc = json.loads((out / os.fsdecode(b"caf\xe9.txt.json")).read_bytes())
    assert doc["id"] == "caf\\xe9.txt" and doc["text"] == "Plain English.\n"
    assert json.loads((out / "summary.json").read_text())["ok"] == 2


def _corpus(src: Path, n: int) -> None:
    src.mkdir()
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    for i in range(n):
        seed = seeds[i % len(seeds)]
        (src / f"{i:03d}_{seed.name}").write_bytes(seed.read_bytes() + f"\nCopy {i}.\n".encode())


def _start(src: Path, out: Path, settings, *extra: str, marker: str = "") -> subprocess.Popen:
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
        "TRANSNORM_TEST_MARK": marker,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "transnorm", "batch", str(src), "--out", str(out), "--jobs", "2", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=ROOT,
    )


def _wait_for_output(out: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    report = out / "report.jsonl"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if report.exists() and '"status": "ok"' in report.read_text(errors="replace"):
            return
        time.sleep(0.005)


def _processes_marked(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if f"TRANSNORM_TEST_MARK={marker}".encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_a_second_run_on_the_same_output_refuses_at_once_or_waits(tmp_path, real_settings):
    src, out = tmp_path / "in", tmp_path / "out"
    _corpus(src, 200)
    first = _start(src, out, real_settings)
    _wait_for_output(out, first)
    second = _start(src, out, real_settings)
    _, stderr = second.communicate(timeout=60)
    assert second.returncode == 1 and b"another transnorm run (pid " in stderr and b"--wait" in stderr
    waiting = _start(src, out, real_settings, "--wait")
    assert first.wait(300) == 0
    assert waiting.wait(300) == 0
    lines = (out / "report.jsonl").read_text().splitlines()
    assert len(lines) == 200 and all(json.loads(line)["status"] == "unchanged" for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_cleanly(tmp_path, real_settings, signum, code):
    src, out = tmp_path / "in", tmp_path / "out"
    _corpus(src, 300)
    marker = uuid.uuid4().hex
    proc = _start(src, out, real_settings, marker=marker)
    _wait_for_output(out, proc)
    assert proc.poll() is None, "the batch finished before the signal"
    proc.send_signal(signum)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1 and f"stopped by {signal.Signals(signum).name}" in lines[0], lines
    time.sleep(0.5)
    assert _processes_marked(marker) == []  # no worker (or forkserver) left behind
    summary = json.loads((out / "summary.json").read_text())
    assert summary["interrupted"] == signal.Signals(signum).name and summary["not_processed"] > 0
    records = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert len(records) == summary["files"] < 300
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    # Run again: what was written is not redone, the rest is finished.
    rerun = _start(src, out, real_settings)
    assert rerun.wait(300) == 0
    final = json.loads((out / "summary.json").read_text())
    assert final["unchanged"] >= summary["ok"] and final["ok"] + final["unchanged"] == 300


def _tmpfs(path: Path, size: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    path.mkdir(parents=True, exist_ok=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True
    )
    assert r.returncode == 0, f"cannot mount a tmpfs here: {r.stderr.decode()}"


@pytest.mark.slow
def test_a_full_disk_fails_files_by_name_keeps_the_report_valid_and_a_rerun_completes(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    for i in range(40):
        (src / f"doc{i:02d}.txt").write_text(f"Document {i} is plain English text. " * 40 + "\n")
    _tmpfs(out, "192k")
    try:
        r = batch(src, out, "--format", "json,text,html")
        assert r.returncode == 1
        assert b"Traceback" not in r.stderr and b"internal error" not in r.stderr
        text = (out / "report.jsonl").read_text()
        records = [json.loads(line) for line in text.splitlines()]  # every line whole
        failed = [x for x in records if x["status"] == "failed"]
        assert failed and all("no space left on device" in x["error"] for x in failed), failed[:3]
        if not (out / "summary.json").exists():
            assert b"cannot write summary.json: no space left on device" in r.stderr
        subprocess.run(["mount", "-o", "remount,size=16m", str(out)], check=True)
        r = batch(src, out, "--format", "json,text,html")
        assert r.returncode == 0, r.stderr
        summary = json.loads((out / "summary.json").read_text())
        assert summary["ok"] + summary["unchanged"] == 40 and summary["failed"] == 0
        for i in range(40):
            assert json.loads((out / f"doc{i:02d}.txt.json").read_text())["text"].startswith(f"Document {i} ")
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


@pytest.mark.slow
def test_a_read_only_output_folder_is_a_clear_error(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    write(src, {"a.txt": "Plain.\n"})
    _tmpfs(out, "1m")
    try:
        subprocess.run(["mount", "-o", "remount,ro", str(out)], check=True)
        r = batch(src, out)
        assert r.returncode == 1 and b"Traceback" not in r.stderr
        assert b"cannot write to the output folder" in r.stderr and b"read-only file system" in r.stderr
    finally:
        subprocess.run(["umount", "-l", str(out)], capture_output=True)


@pytest.mark.slow
def test_symlinks_hidden_entries_and_folders_each_get_a_line_and_are_not_failures(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    write(
        src,
        {
            "a.txt": "Plain.\n",
            ".hidden.txt": "Hidden.\n",
            ".git/config": "x\n",
            "x.txt/inner.txt": "Inner.\n",
        },
    )
    (src / "link.txt").symlink_to(src / "a.txt")
    (src / "linked-folder").symlink_to(src / "x.txt", target_is_directory=True)
    r = batch(src, out)
    assert r.returncode == 0, r.stderr  # skipped entries are not failures
    report = report_of(out)
    assert report["a.txt"]["status"] == report["x.txt/inner.txt"]["status"] == "ok"  # a folder named x.txt
    for name, why in [
        (".hidden.txt", "hidden file"),
        (".git", "hidden folder"),
        ("link.txt", "symbolic link to a file"),
        ("linked-folder", "symbolic link to a folder"),
    ]:
        assert report[name]["status"] == "skipped" and report[name]["error"].startswith(why), report[name]


@pytest.mark.slow
def test_long_names_fit_the_file_system(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    src.mkdir()
    long_name = "n" * 240 + ".txt"  # 244 bytes: with ".en.txt" over the 255-byte limit
    (src / long_name).write_text("A long name.\n")
    (src / ("é" * 120 + ".txt")).write_text("Long in UTF-8.\n")  # 244 bytes
    r = batch(src, out, "--format", "json,text,html")
    assert r.returncode == 0, r.stderr
    report = report_of(out)
    assert {x["status"] for x in report.values()} == {"ok"}
    for record in report.values():
        for output in record["outputs"]:
            assert len(os.fsencode(output)) <= 255 and (out / output).is_file()
    assert (out / (long_name + ".json")).is_file()  # fits as it is
    assert len([p for p in out.iterdir() if p.name.endswith(".en.txt")]) == 2


@pytest.mark.slow
def test_text_output_is_plain_english_by_default(tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    write(src, {"a.txt": "Hello.\n科尔图诺夫对记者表示。\n"})
    assert batch(src, out).returncode == 0
    assert "⟦" not in (out / "a.txt.en.txt").read_text()
    assert batch(src, tmp_path / "marked", "--markers", "inline").returncode == 0
    assert "⟦un:zh|科尔图诺夫对记者表示。⟧" in (tmp_path / "marked" / "a.txt.en.txt").read_text()


def _umask_run(args: list[str], umask: int, input: bytes | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(NO_MODELS)}
    return subprocess.run(
        [sys.executable, "-m", "transnorm", *args],
        input=input,
        capture_output=True,
        env=env,
        cwd=ROOT,
        preexec_fn=lambda: os.umask(umask),
        timeout=120,
    )


@pytest.mark.slow
@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_honour_the_umask(tmp_path, umask, mode):
    out = tmp_path / "o.json"
    assert _umask_run(["normalize", "-", "-o", str(out)], umask, b"Hello.\n").returncode == 0
    assert stat.S_IMODE(out.stat().st_mode) == mode
    src = tmp_path / "in"
    write(src, {"a.txt": "Hello.\n"})
    assert _umask_run(["batch", str(src), "--out", str(tmp_path / "b")], umask).returncode == 0
    for name in ("a.txt.json", "report.jsonl", "summary.json"):
        assert stat.S_IMODE((tmp_path / "b" / name).stat().st_mode) == mode, name


def test_output_option_rules(tmp_path):
    r = run_cli(["normalize", "-", "-o", str(tmp_path / "no" / "such" / "o.json")], input=b"Hi.\n")
    assert r.returncode == 2 and b"does not exist (add --parents" in r.stderr
    assert not (tmp_path / "no").exists()
    r = run_cli(["normalize", "-", "-o", str(tmp_path / "no" / "o.json"), "--parents"], input=b"Hi.\n")
    assert r.returncode == 0 and json.loads((tmp_path / "no" / "o.json").read_text())["text"] == "Hi.\n"
    r = run_cli(["normalize", "-", "-o", str(tmp_path)], input=b"Hi.\n")
    assert r.returncode == 2 and b"is a folder" in r.stderr and b"Traceback" not in r.stderr
    r = run_cli(["normalize", str(tmp_path)])
    assert r.returncode == 3 and b"is a folder, not a document" in r.stderr


def test_stdin_over_the_limit_says_its_real_size():
    r = run_cli(["normalize", "-", "--max-bytes", "1000"], input=b"x" * 5_000_000)
    assert r.returncode == 3 and b"document is 5000000 bytes; the limit is 1000" in r.stderr
    assert b"--max-bytes" in r.stderr


def test_a_missing_models_folder_is_an_error(tmp_path):
    r = run_cli(["normalize", "-"], input=b"Hi.\n", env={"TRANSNORM_MODELS_DIR": str(tmp_path / "none")})
    assert r.returncode == 4 and b"does not exist (--models-dir, TRANSNORM_MODELS_DIR)" in r.stderr
    r = run_cli(
        ["batch", str(tmp_path), "--out", str(tmp_path / "o"), "--models-dir", str(tmp_path / "none")]
    )
    assert r.returncode == 4 and b"does not exist" in r.stderr


def test_verify_finds_a_truncated_or_changed_model_without_loading_it(tmp_path, tiny_package):
    from transnorm.packages import install_file

    models = tmp_path / "m"
    info = install_file(tiny_package, models)
    assert run_cli(["models", "verify", "--models-dir", str(models)]).returncode == 0
    model_bin = info.path / "model" / "model.bin"
    data = model_bin.read_bytes()
    model_bin.write_bytes(data[:1000])
    r = run_cli(["models", "verify", "--models-dir", str(models)])
    assert r.returncode == 4 and b"model/model.bin is 1000 bytes" in r.stdout
    model_bin.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # same size, one bit changed
    r = run_cli(["models", "verify", "--models-dir", str(models)])
    assert r.returncode == 4 and b"model/model.bin has changed since it was installed" in r.stdout
    vocabulary = next(info.path.rglob("*vocabulary*"))
    model_bin.write_bytes(data)
    vocabulary.write_text(vocabulary.read_text() + " ")
    r = run_cli(["models", "verify", "--models-dir", str(models)])
    assert r.returncode == 4 and vocabulary.name.encode() in r.stdout


def test_bad_settings_exit_2_with_the_allowed_values():
    r = run_cli(["normalize", "-", "--compute-type", "bogus"], input=b"x")
    assert r.returncode == 2 and b"--compute-type" in r.stderr and b"must be one of" in r.stderr
    r = run_cli(["normalize", "-", "--beam-size", "0"], input=b"x")
    assert r.returncode == 2 and b"--beam-size" in r.stderr and b"from 1 to 16" in r.stderr
    r = run_cli(["normalize", "-"], input=b"\xff", env={"TRANSNORM_BEAM_SIZE": "x"})
    assert r.returncode == 2 and b"TRANSNORM_BEAM_SIZE" in r.stderr
    r = run_cli(["normalize", "-"], input=b"a\xffb")
    assert r.returncode == 3 and b"--errors replace" in r.stderr
