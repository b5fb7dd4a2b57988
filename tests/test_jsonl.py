"""JSON lines through the real command: one output line per input line, in order; bad lines
answered in place; the same documents as the batch writes; memory bounded on a long stream."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import NO_MODELS, ROOT, run_cli


def lines_of(stdout: bytes) -> list[dict]:
    return [json.loads(line) for line in stdout.decode("utf-8").splitlines()]


def test_a_stream_with_bad_lines_is_answered_line_by_line_in_order():
    good = {"id": "a", "text": "Hello.\n科尔图诺夫对记者表示。\n"}
    lines = [
        json.dumps(good).encode(),
        b"{not json",
        b'{"id": "x", "text": "caf\xe9"}',  # not UTF-8
        json.dumps({"id": "n", "body": "no text"}).encode(),
        json.dumps({"id": "o", "text": "Hi.", "options": {"beam_size": 99}}).encode(),
        json.dumps({"id": "big", "text": "x" * 2000}).encode(),
        b"",
        b"[1, 2]",
        json.dumps({"text": "No id here.", "options": {"chrome": "keep"}}).encode(),
        json.dumps({"id": "last", "text": "Plain English."}).encode(),
    ]
    r = run_cli(["normalize", "--jsonl", "-", "--max-bytes", "1000"], input=b"\n".join(lines) + b"\n")
    assert r.returncode == 1 and b"Traceback" not in r.stderr
    assert b"10 lines: 3 normalized (1 incomplete), 7 failed" in r.stderr
    out = lines_of(r.stdout)
    assert [x.get("id") for x in out] == ["a", None, None, "n", "o", "big", None, None, None, "last"]
    assert [("result" in x) for x in out] == [
        True,
        False,
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        True,
    ]
    assert out[0]["result"]["id"] == "a" and out[0]["result"]["spans"][1]["lang"] == "zh"
    errors = {i: out[i]["error"] for i in range(len(out)) if "error" in out[i]}
    assert errors[1]["title"] == "Invalid input" and "line 2 is not valid JSON" in errors[1]["detail"]
    assert errors[2]["code"] == "invalid-utf8" and errors[2]["byte_offset"] == 24
    assert errors[3]["detail"] == "unknown member(s): body"
    assert errors[4]["code"] == "invalid-options" and "from 1 to 16" in errors[4]["detail"]
    assert errors[5]["status"] == 413 and "2000 bytes" in errors[5]["detail"]
    assert "line 7 is empty" in errors[6]["detail"]
    assert 'line 8 must be an object with a "text" member' in errors[7]["detail"]


@pytest.mark.slow
def test_flags_are_defaults_that_a_line_overrides():
    text = next((ROOT / "seeds").glob("004_*.txt")).read_text()  # with a scraped "Озвучить текст"
    stream = [{"id": "1", "text": text}, {"id": "2", "text": text, "options": {"chrome": "remove"}}]
    data = b"".join(json.dumps(x).encode() + b"\n" for x in stream)
    r = run_cli(["normalize", "--jsonl", "-", "--chrome", "keep"], input=data)
    first, second = (x["result"] for x in lines_of(r.stdout))
    assert "Озвучить текст" in first["text"] and "Озвучить текст" not in second["text"]


@pytest.mark.slow
def test_results_equal_the_batch_json(tmp_path, real_settings):
    src = tmp_path / "in"
    src.mkdir()
    seeds = sorted((ROOT / "seeds").glob("*.txt"))
    stream = b""
    for seed in seeds:
        (src / seed.name).write_bytes(seed.read_bytes())
        stream += json.dumps({"id": seed.name, "text": seed.read_text()}).encode() + b"\n"
    env = {
        "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
    }
    r = run_cli(["batch", str(src), "--out", str(tmp_path / "out"), "--format", "json"], env=env)
    assert r.returncode == 0, r.stderr
    r = run_cli(["normalize", "--jsonl", "-"], input=stream, env=env)
    assert r.returncode == 0, r.stderr
    streamed = lines_of(r.stdout)
    assert len(streamed) == len(seeds)
    for seed, line in zip(seeds, streamed, strict=True):
        assert line["id"] == seed.name
        assert line["result"] == json.loads((tmp_path / "out" / f"{seed.name}.json").read_text())


@pytest.mark.slow
def test_batch_takes_jsonl_inputs_and_writes_json_lines(tmp_path, real_settings):
    src = tmp_path / "in"
    src.mkdir()
    stream = b"".join(
        json.dumps({"id": f"d{i}", "text": f"第{i}次会谈。\nPlain {i}.\n"}).encode() + b"\n" for i in range(5)
    )
    (src / "docs.jsonl").write_bytes(stream + b"{bad\n")
    (src / "plain.txt").write_text("Plain English.\n")
    env = {
        "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
    }
    out = tmp_path / "out"
    r = run_cli(["batch", str(src), "--out", str(out)], env=env)
    assert r.returncode == 1 and b"1 items of JSON-lines or Parquet inputs failed" in r.stderr  # the bad line
    results = lines_of((out / "docs.jsonl.results.jsonl").read_bytes())
    assert [x.get("id") for x in results] == ["d0", "d1", "d2", "d3", "d4", None]
    direct = lines_of(run_cli(["normalize", "--jsonl", "-"], input=stream, env=env).stdout)
    assert results[:5] == direct
    report = {x["file"]: x for x in map(json.loads, (out / "report.jsonl").read_text().splitlines())}
    assert report["docs.jsonl"]["lines"] == {"lines": 6, "ok": 5, "failed": 1, "incomplete": 0}
    assert report["plain.txt"]["status"] == "ok"
    # One .jsonl file as the input, and a rerun that finds it unchanged.
    r = run_cli(["batch", str(src / "docs.jsonl"), "--out", str(tmp_path / "one")], env=env)
    assert lines_of((tmp_path / "one" / "docs.jsonl.results.jsonl").read_bytes()) == results
    run_cli(["batch", str(src / "docs.jsonl"), "--out", str(tmp_path / "one")], env=env)
    report = json.loads((tmp_path / "one" / "report.jsonl").read_text())
    assert report["status"] == "unchanged"


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _stream_through(lines: int, line: bytes, extra: list[str] = ()) -> tuple[int, int, int]:
    """Feed ``lines`` copies of ``line`` to ``normalize --jsonl -``; returns (output lines, peak RSS
    in kB, exit code). The input is generated as it is written: it never exists whole."""
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(NO_MODELS)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "transnorm", "normalize", "--jsonl", "-", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    peak = 0

    def feed() -> None:
        for _ in range(lines):
            proc.stdin.write(line)
        proc.stdin.close()

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    count = 0
    last = time.monotonic()
    for _ in proc.stdout:
        count += 1
        if time.monotonic() - last > 0.2:
            peak = max(peak, _peak_rss_kb(proc.pid))
            last = time.monotonic()
    peak = max(peak, _peak_rss_kb(proc.pid)) if proc.poll() is None else peak
    proc.wait(60)
    writer.join(10)
    return count, peak, proc.returncode


@pytest.mark.slow
def test_memory_stays_bounded_on_a_long_stream():
    doc = (
        json.dumps({"id": "d", "text": "The talks will continue next week, officials said. " * 40}).encode()
        + b"\n"
    )
    small_count, small_peak, code = _stream_through(200, doc)
    assert (small_count, code) == (200, 0)
    big_count, big_peak, code = _stream_through(30_000, doc)  # 60 MB of JSON lines
    assert (big_count, code) == (30_000, 0)
    print(f"\npeak RSS: {small_peak // 1024} MB for 200 lines, {big_peak // 1024} MB for 30,000 lines")
    assert big_peak - small_peak < 80 * 1024, (small_peak, big_peak)


@pytest.mark.slow
def test_a_line_longer_than_any_document_is_skipped_not_held():
    huge = b'{"id": "h", "text": "' + b"x" * 40_000_000 + b'"}\n'
    ok = json.dumps({"id": "ok", "text": "Fine."}).encode() + b"\n"
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(NO_MODELS)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "transnorm", "normalize", "--jsonl", "-", "--max-bytes", "1000"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    out, _ = proc.communicate(huge + ok, timeout=120)
    first, second = lines_of(out)
    assert "longer than" in first["error"]["detail"] and second["id"] == "ok" and "result" in second
