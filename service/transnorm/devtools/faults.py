"""The batch's randomized fault runs, many of them, with numbers (issue 23):
``python -m transnorm.devtools.faults --runs 50 [--seed N]``.

Each run is a round of ``tests/test_fault_fuzz.py`` (a batch of 60 documents on the tiny real
model the tests build; kill -9 or SIGTERM of a random worker, the main process or the process
group at a random moment; then a rerun, checked: every input once, outputs whole, exit code
honest, no user file touched, no process or lock left). The rounds run through pytest so that
the suite and this tool check exactly the same things; this prints what happened, by target.
Needs a source checkout (the tests are not installed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[3] / "tests"


def run(runs: int, seed: int | None) -> tuple[int, list[dict]]:
    """Run ``runs`` rounds; pytest's exit code and a record per round that passed."""
    if not (TESTS / "test_fault_fuzz.py").exists():
        raise SystemExit(f"no {TESTS / 'test_fault_fuzz.py'}: run this from a source checkout")
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "rounds.jsonl"
        env = {**os.environ, "TRANSNORM_FAULT_RUNS": str(runs), "TRANSNORM_FAULT_LOG": str(log)}
        if seed is not None:
            env["TRANSNORM_FAULT_SEED"] = str(seed)
        command = [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", "test_fault_fuzz.py"]
        code = subprocess.run(command, cwd=TESTS, env=env).returncode
        rounds = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return code, rounds


def report(code: int, rounds: list[dict], runs: int) -> str:
    """The rounds in a few lines of numbers."""
    by = Counter((r["killed"], r["signal"], r["exit"]) for r in rounds)
    lines = [f"fault runs: {len(rounds)} of {runs} passed every check (pytest exit {code})"]
    for (killed, signal, exit_code), n in sorted(by.items(), key=str):
        lines.append(f"  {killed:<7} {signal:<8} first run exit {exit_code!s:>4}: {n}")
    if rounds:
        seconds = sorted(r["seconds"] for r in rounds)
        redone = sum(r["rerun_written"] for r in rounds)
        lines.append(
            f"  rerun: always exit 0, {redone} documents redone in all, "
            f"{sum(r['rerun_unchanged'] for r in rounds)} found unchanged"
        )
        median = seconds[len(seconds) // 2]
        lines.append(f"  seconds a round (kill + rerun): median {median:.1f}, max {seconds[-1]:.1f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m transnorm.devtools.faults", description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int)
    args = parser.parse_args(argv)
    code, rounds = run(args.runs, args.seed)
    print(report(code, rounds, args.runs))
    return code


if __name__ == "__main__":
    sys.exit(main())
