"""Runs the atheris fuzzer (tests/fuzz_pipeline.py) for a fixed time budget:
TRANSNORM_FUZZ_SECONDS (default 20; CI sets more)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow  # a fixed-time atheris run

# atheris is in the test extra on Linux only; there its absence is a failure, not a skip.
if sys.platform != "linux":
    pytest.skip("atheris is installed on Linux only", allow_module_level=True)


def test_fuzz_pipeline_for_a_fixed_time(tmp_path):
    seconds = int(os.environ.get("TRANSNORM_FUZZ_SECONDS", "20"))
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, seed in enumerate(sorted((ROOT / "seeds").glob("*.txt"))):
        (corpus / f"seed{i}").write_bytes(bytes([i]) + seed.read_bytes()[:4000])
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tests" / "fuzz_pipeline.py"),
            str(corpus),
            f"-max_total_time={seconds}",
            "-rss_limit_mb=4096",
            "-max_len=8192",
            f"-artifact_prefix={tmp_path}/",
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=seconds + 120,
    )
    log = r.stderr.decode(errors="replace")
    assert r.returncode == 0, log[-3000:]
    runs = re.search(r"Done (\d+) runs", log)
    assert runs and int(runs.group(1)) > 100, log[-2000:]
    print(f"\nfuzz: {runs.group(0)} in {seconds} s")
