"""Reliability: the bad-input catalogue through the library, the CLI and HTTP; batch faults
(kill -9, bad files, names that try to escape); concurrency; no network at all."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, FakeEngine, run_cli
from transnorm import DecodeError, Options, OptionsError, Pipeline, Settings

TEN_MB_ONE_LINE = b"x" * 10_000_000
HUNDRED_K_LINES = b"a\n" * 100_000
BINARY = bytes(range(256)) * 64

# (name, bytes, expected): "ok" is a valid document, "decode" a clear invalid-UTF-8 error.
CATALOGUE = [
    ("invalid utf-8", b"ab\xffcd", "decode"),
    ("empty", b"", "ok"),
    ("whitespace only", b" \n\t\n  ", "ok"),
    ("binary", BINARY, "decode"),
    ("png header", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "decode"),
    ("nul bytes", b"a\x00b\x00\x00c", "ok"),
    ("control characters", bytes(range(1, 32)), "ok"),
    ("lone CR", b"one\rtwo\rthree", "ok"),
    ("10 MB on one line", TEN_MB_ONE_LINE, "ok"),
    ("100k tiny lines", HUNDRED_K_LINES, "ok"),
    ("utf-16", "hello".encode("utf-16"), "decode"),
    ("truncated utf-8", "科尔".encode()[:-1], "decode"),
]
#: The same cases as parameters; the 100,000-line one is the slow lane's.
CASES = [
    pytest.param(*c, id=c[0], marks=[pytest.mark.slow] if c[0] == "100k tiny lines" else [])
    for c in CATALOGUE
]


@pytest.fixture(scope="module")
def lib(detector):
    return Pipeline(Settings(max_bytes=11_000_000), engine=FakeEngine(), detector=detector)


@pytest.mark.parametrize("name, data, expected", CASES)
def test_catalogue_library(lib, name, data, expected):
    if expected == "decode":
        with pytest.raises(DecodeError) as err:
            lib(data)
        assert "UTF" in str(err.value)
    else:
        doc = lib(data)
        doc.check()


@pytest.fixture(scope="module")
def http(make_app):
    return make_app(Settings(max_bytes=11_000_000)).test_client()


@pytest.mark.parametrize("name, data, expected", CASES)
def test_catalogue_http(http, name, data, expected):
    r = http.post("/v1/normalize", data=data, content_type="text/plain")
    if expected == "decode":
        assert r.status_code == 400 and r.mimetype == "application/problem+json"
        assert "byte_offset" in r.json
    else:
        assert r.status_code == 200
        assert r.json["source"]["chars"] == len(data.decode().replace("\r", "\n"))


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{", 400),
        (b"[" * 100_000 + b"]" * 100_000, 400),
        (b'{"text": "x", "options": {"beam_size": "two"}}', 400),
        (b'{"text": "x", "options": {"format": 5}}', 400),
        (b'{"text": "x", "options": {"verbose": true}}', 400),
        (b'{"text": "x", "options": {"format": "pdf"}}', 400),
        (b'{"text": ["x"]}', 400),
        (b'{"text": null}', 400),
        (b"null", 400),
        (b'"just a string"', 400),
        (b"\xff\xfe{}", 400),
    ],
)
def test_json_catalogue_http(http, body, status):
    r = http.post("/v1/normalize", data=body, content_type="application/json")
    assert r.status_code == status and r.mimetype == "application/problem+json"
    assert r.json["detail"]


@pytest.mark.parametrize(
    "options",
    [{"beam_size": "two"}, {"format": 5}, {"verbose": True}, {"format": "pdf"}, {"chrome": None}, "text"],
)
def test_option_catalogue_library(options):
    with pytest.raises(OptionsError):
        Options.from_mapping(options)  # type: ignore[arg-type]


_cli = run_cli


@pytest.mark.parametrize(
    "name, data, expected", [c for c in CATALOGUE if len(c[1]) < 1_000_000], ids=lambda c: str(c)[:20]
)
@pytest.mark.slow
def test_catalogue_cli(name, data, expected):
    r = _cli(["normalize", "-"], input=data)
    assert b"Traceback" not in r.stderr
    if expected == "decode":
        assert r.returncode == 3 and b"UTF" in r.stderr and r.stdout == b""
    else:
        assert r.returncode == 0 and json.loads(r.stdout)["schema"] == "transnorm/2"


@pytest.mark.slow
def test_cli_large_inputs_and_bad_flags(tmp_path):
    big = tmp_path / "big.txt"
    big.write_bytes(TEN_MB_ONE_LINE)
    r = _cli(
        ["normalize", str(big), "--format", "text", "--markers", "none", "-o", str(tmp_path / "out.txt")]
    )
    assert r.returncode == 0 and (tmp_path / "out.txt").stat().st_size == len(TEN_MB_ONE_LINE)
    r = _cli(["normalize", "-", "--max-bytes", "1000"], input=HUNDRED_K_LINES)
    assert r.returncode == 3 and b"limit is 1000" in r.stderr
    for bad in (["--format", "pdf"], ["--chrome", "maybe"], ["--beam-size", "two"], ["--colour", "red"]):
        r = _cli(["normalize", "-", *bad], input=b"x")
        assert r.returncode == 2 and b"Traceback" not in r.stderr


@pytest.mark.slow
def test_missing_and_broken_models(tmp_path, tiny_package):
    # No package: a correct, incomplete result (and exit 5 only when asked).
    r = _cli(["normalize", "-", "--fail-incomplete"], input="科尔图诺夫。".encode())
    assert r.returncode == 5 and json.loads(r.stdout)["complete"] is False
    # A broken package: a clear model error, exit 4, no traceback.
    from transnorm.packages import install_file

    info = install_file(tiny_package, tmp_path / "m")
    (info.path / "model" / "model.bin").write_bytes(b"garbage")
    r = _cli(
        ["normalize", "-"], input="科尔图诺夫。".encode(), env={"TRANSNORM_MODELS_DIR": str(tmp_path / "m")}
    )
    assert r.returncode == 4 and b"cannot load" in r.stderr and b"Traceback" not in r.stderr


# -- batch faults ----------------------------------------------------------------------------


def _corpus(folder: Path, copies: int) -> list[Path]:
    folder.mkdir()
    valid = []
    for i in range(copies):
        for seed in sorted(SEEDS.glob("*.txt")):
            target = folder / f"{i:02d}_{seed.name}"
            shutil.copy(seed, target)
            valid.append(target)
    (folder / "broken.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    return valid


def _batch(src: Path, out: Path, real_settings, jobs: int = 1) -> subprocess.Popen:
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
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
            "--format",
            "json,text",
            "--jobs",
            str(jobs),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [1, 2])
def test_kill_9_mid_batch_then_rerun(tmp_path, real_settings, jobs):
    # Documents are finished in chunks of 32 per job, each in a fraction of a second: kill as soon
    # as the first document is written, with many chunks still to go, so the kill lands mid-run.
    src, out = tmp_path / "in", tmp_path / "out"
    valid = _corpus(src, 60)
    proc = _batch(src, out, real_settings, jobs)
    report = out / "report.jsonl"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if report.exists() and '"status": "ok"' in report.read_text():
            break
        time.sleep(0.002)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    written = [json.loads(line) for line in report.read_text().splitlines() if line.endswith("}")]
    ok_before = sum(r["status"] == "ok" for r in written)
    assert 0 < ok_before < len(valid), "the batch was not killed mid-run"

    proc = _batch(src, out, real_settings, jobs)
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 1, stderr.decode()[-1000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["failed"] == 1 and summary["failures"][0]["file"] == "broken.txt"
    assert summary["ok"] + summary["unchanged"] == len(valid)
    assert summary["unchanged"] >= ok_before  # what was done before the kill is not redone
    for path in valid:
        doc = json.loads((out / (path.name + ".json")).read_text())
        assert "".join(s["source_text"] for s in doc["spans"]) == path.read_text()
        assert (out / (path.name + ".en.txt")).read_text() == doc["text"]
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    assert not list(out.glob("broken*"))


@pytest.mark.slow
def test_output_names_cannot_escape(tmp_path, real_settings):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("Not for the batch.\n")
    src = tmp_path / "in"
    src.mkdir()
    (src / "ok.txt").write_text("Plain English.\n")
    (src / "link-dir").symlink_to(outside, target_is_directory=True)
    (src / "link-file.txt").symlink_to(outside / "secret.txt")
    (src / "..hidden.txt").write_text("hidden files are skipped\n")
    out = tmp_path / "out"
    proc = _batch(src, out, real_settings)
    proc.communicate(timeout=120)
    written = [p.resolve() for p in out.rglob("*") if p.is_file()]
    assert all(str(p).startswith(str(out.resolve())) for p in written)
    assert not list(out.rglob("secret*"))
    report = {r["file"]: r for r in map(json.loads, (out / "report.jsonl").read_text().splitlines())}
    assert report["ok.txt"]["status"] == "ok"
    assert "symbolic link" in report["link-file.txt"]["error"]
    assert report["link-file.txt"]["status"] == report["link-dir"]["status"] == "skipped"
    assert report["..hidden.txt"] == {**report["..hidden.txt"], "status": "skipped", "error": "hidden file"}
    assert not list(outside.glob("*.json"))


# -- concurrency -----------------------------------------------------------------------------


@pytest.mark.slow
def test_many_threads_equal_sequential(real_settings, detector, seeds):
    settings = Settings(models_dir=real_settings.pipeline.models_dir, compute_type="float32", cache_size=0)
    docs = [seeds["003"], seeds["004"], "首先我们要明白。双方过去有失败的经验。".encode(), seeds["000"]]
    sequential = [Pipeline(settings, detector=detector)(d).to_dict() for d in docs]
    shared = Pipeline(settings, detector=detector)
    results: dict[tuple[int, int], dict] = {}
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(len(docs)):
                j = (i + worker) % len(docs)
                results[(worker, j)] = shared(docs[j]).to_dict()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert len(results) == 8 * len(docs)
    for (_, j), result in results.items():
        assert result == sequential[j]


# -- no network ------------------------------------------------------------------------------


def _can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"]).returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _can_unshare(), reason="unshare -n is not permitted here")
def test_cli_batch_and_server_without_network(tmp_path, real_settings):
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
    }
    seed = str(next(SEEDS.glob("003_*.txt")))
    r = subprocess.run(
        ["unshare", "-n", sys.executable, "-m", "transnorm", "normalize", "--format", "json", seed],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr.decode()[-1000:]
    doc = json.loads(r.stdout)
    assert any(s["action"] == "translated" for s in doc["spans"])
    r = subprocess.run(
        [
            "unshare",
            "-n",
            sys.executable,
            "-m",
            "transnorm",
            "batch",
            str(SEEDS),
            "--out",
            str(tmp_path / "o"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr.decode()[-1000:]
    script = f"""
set -e
ip link set lo up
{sys.executable} -m transnorm serve --port 8791 > {tmp_path}/server.log 2>&1 &
pid=$!
{sys.executable} - <<'PY'
import time, urllib.request
for _ in range(300):
    try:
        if urllib.request.urlopen("http://127.0.0.1:8791/readyz", timeout=1).status == 200:
            break
    except OSError:
        time.sleep(0.1)
req = urllib.request.Request("http://127.0.0.1:8791/v1/normalize", data=open({seed!r}, "rb").read(),
                             headers={{"Content-Type": "text/plain"}})
assert urllib.request.urlopen(req, timeout=60).status == 200
PY
kill $pid
"""
    r = subprocess.run(
        ["unshare", "-n", "sh", "-c", script], cwd=ROOT, env=env, capture_output=True, timeout=180
    )
    assert r.returncode == 0, r.stderr.decode()[-1000:] + (tmp_path / "server.log").read_text()[-1000:]
