"""The README's commands and its library example, run verbatim, in order, as a new user would
run them: in a folder laid out like the project (``seeds/``, ``models/`` holding the tiny
package, ``.venv`` being the environment running these tests), with a fresh home, no
``TRANSNORM_*`` variable, and — when a network namespace can be made — no network. How each block
is run comes from its ``<!-- readme-test: … -->`` mark (see conftest.README_MARKS)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import README_LANGUAGES, README_MARKS, SEEDS, ReadmeBlock, readme_blocks

pytestmark = pytest.mark.slow

HAN = re.compile(r"[\u4e00-\u9fff]")
#: The steps of the setup command a test run leaves out: it runs inside the environment they make.
VENV = "python3 -m venv .venv"
PIP = ".venv/bin/pip install -e . -c constraints.txt"


def _setup_steps(block: ReadmeBlock) -> list[str]:
    steps = block.code.split(" && ")
    assert steps[:2] == [VENV, PIP], f"README line {block.line}: the setup starts with {VENV} && {PIP}"
    return steps[2:]


def test_blocks_are_marked_only_where_they_cannot_run():
    blocks = readme_blocks()
    assert {b.lang for b in blocks} <= set(README_LANGUAGES), [b.lang for b in blocks]
    marks = [b.mark for b in blocks if b.mark]
    assert set(marks) <= set(README_MARKS), marks
    assert marks.count("setup") == 1 and marks.count("ci") == 1 and marks.count("skip") <= 1, marks
    for b in blocks:
        assert b.mark is None or b.mark == "setup" or b.reason, f"README line {b.line}: a mark needs a reason"
        assert b.mark is None or b.lang == "sh", f"README line {b.line}: only commands are marked"
    setup, ci = (next(b for b in blocks if b.mark == kind) for kind in ("setup", "ci"))
    # The first two commands of a fresh machine: set up and run the batch, then the tests.
    assert blocks.index(setup) == 0 and blocks.index(ci) == 1
    assert ci.code.split(" && ")[:2] == [VENV, PIP.replace("-e .", "-e '.[test,ray]'")]
    assert any("transnorm batch seeds --out out" in step for step in _setup_steps(setup))


def _can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(["unshare", "-n", "true"]).returncode == 0


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _script(blocks: list[ReadmeBlock], work: Path, isolated: bool) -> str:
    """One bash script running every block in order; block i leaves i.out, i.err and i.rc."""
    lines = ["set -u", f"cd {shlex.quote(str(work))}"]
    if isolated:
        lines.append("ip link set lo up")
    lines.append("trap 'kill $BG 2>/dev/null; wait $BG 2>/dev/null' EXIT; BG=")
    activated = False
    for i, b in enumerate(blocks):
        if b.mark in ("ci", "skip") or b.lang not in ("sh", "python"):
            continue
        if b.mark != "setup" and not activated:
            # What the README says every command after the first two assumes.
            lines.append(". .venv/bin/activate")
            activated = True
        if b.mark == "background":
            port = re.search(r"--port (\d+)", b.code)
            url = f"http://127.0.0.1:{port.group(1) if port else 8000}/readyz"
            lines += [
                f"{b.code} > {i}.out 2> {i}.err & BG=$!",
                f"for _ in $(seq 600); do curl -sf {url} > /dev/null && break; sleep 0.2; done",
                f"curl -sf {url} > /dev/null; echo $? > {i}.rc",
            ]
            continue
        code = "\n".join(_setup_steps(b)) if b.mark == "setup" else b.code
        if b.lang == "python":
            (work / f"{i}.py").write_text(code + "\n")
            code = f"python {i}.py"
        else:
            (work / f"{i}.sh").write_text("set -eo pipefail\n" + code + "\n")
            code = f"bash {i}.sh"
        lines.append(f"{code} > {i}.out 2> {i}.err; echo $? > {i}.rc")
    return "\n".join(lines) + "\n"


def _block(results: dict[str, tuple[int, str, str]], needle: str) -> tuple[str, str]:
    found = [(out, err) for code, (_, out, err) in results.items() if needle in code]
    assert found, f"no README block runs {needle!r} any more: its check here must change with it"
    return found[0]


def test_readme_commands_run_verbatim(tmp_path, tiny_package):
    venv = Path(sys.prefix)
    assert (venv / "bin" / "transnorm").exists(), f"run the tests from the project's environment, not {venv}"
    work = tmp_path / "project"
    work.mkdir()
    shutil.copytree(SEEDS, work / "seeds")
    (work / "models").mkdir()
    shutil.copy(tiny_package, work / "models")
    (work / ".venv").symlink_to(venv)
    home = tmp_path / "home"
    home.mkdir()
    path = os.pathsep.join(p for p in os.environ["PATH"].split(os.pathsep) if Path(p) != venv / "bin")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TRANSNORM_", "XDG_", "PROMETHEUS_", "VIRTUAL_ENV", "PYTHON"))
    }
    env.update(HOME=str(home), PATH=path)

    blocks = readme_blocks()
    isolated = _can_unshare()
    if not isolated and not _port_is_free(8000):
        pytest.fail("port 8000 is taken and no network namespace can be made here (unshare -n needs root)")
    script = work / "readme.sh"
    script.write_text(_script(blocks, work, isolated))
    argv = (["unshare", "-n"] if isolated else []) + ["bash", str(script)]
    proc = subprocess.Popen(argv, cwd=work, env=env, start_new_session=True)
    try:
        proc.wait(timeout=900)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        pytest.fail("the README's commands took more than 15 minutes")

    results: dict[str, tuple[int, str, str]] = {}
    for i, b in enumerate(blocks):
        rc = work / f"{i}.rc"
        if not rc.exists():
            continue
        out, err = ((work / f"{i}.{kind}").read_text(errors="replace") for kind in ("out", "err"))
        status = int(rc.read_text())
        failure = f"README line {b.line}: exit {status}\n{b.code}\n{err[-3000:]}"
        assert status == 0 and "Traceback" not in err, failure
        results[b.code] = (status, out, err)
    ran = [b for b in blocks if b.lang in ("sh", "python") and b.mark not in ("ci", "skip")]
    assert len(results) == len(ran), "a block did not run: see readme.sh"

    # The setup installed the package from models/ and normalized every seed.
    out, _ = _block(results, "transnorm batch seeds --out out")
    assert "installed translate-zh_en 0.1" in out
    summary = json.loads((work / "out" / "summary.json").read_text())
    assert (summary["files"], summary["ok"], summary["failed"]) == (5, 5, 0), summary
    for seed in SEEDS.glob("*.txt"):
        for suffix in (".json", ".en.txt", ".html"):
            assert (work / "out" / (seed.name + suffix)).is_file()
    # One document as text with markers: its Chinese translated.
    out, _ = _block(results, "transnorm normalize seeds/")
    assert "⟦tr:zh|" in out and "Koltunov" in out and not HAN.search(out), out[:2000]
    # The library example: the Chinese line translated, then two documents in one call.
    out, _ = _block(results, "transnorm.normalize(")
    first, *_ = lines = out.splitlines()
    assert first == "True ['kept', 'translated', 'kept']", out
    assert lines[-2:] == ["doc-1 True", "doc-2 True"], out  # the stream, in order
    # JSON lines: one result line per input line, in order.
    out, _ = _block(results, "--jsonl")
    lines = [json.loads(line) for line in out.splitlines()]
    assert [(x["id"], "result" in x) for x in lines] == [("a", True), ("b", True)], lines
    assert [s["action"] for s in lines[0]["result"]["spans"]] == ["kept", "translated"]
    # The HTTP service: ready, one document as text, a batch in order.
    out, _ = _block(results, "curl")
    ready, rest = out.split("\n", 1)
    assert json.loads(ready)["status"] == "ready", ready
    text, batch = rest.rsplit('{"results"', 1)
    assert "Koltunov" in text and not HAN.search(text), text[:2000]
    results = json.loads('{"results"' + batch)["results"]
    assert [(x["id"], "result" in x) for x in results] == [("a", True), ("b", True)], results
