"""Schemathesis against the running server's /openapi.json — every operation, LibreTranslate's
included: no 5xx, and every response conforms to the schema (status codes, content types,
headers, bodies); schema-violating requests are rejected and schema-valid ones accepted.
TRANSNORM_API_FUZZ_EXAMPLES sets the examples per operation (default 50; CI runs more)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # schemathesis against a real gunicorn server


def test_schemathesis_finds_nothing(server, tmp_path):
    examples = os.environ.get("TRANSNORM_API_FUZZ_EXAMPLES", "50")
    cli = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")
    r = subprocess.run(
        [cli, "run", server + "/openapi.json", "--checks", "all", "--max-examples", examples, "--no-color"],
        capture_output=True,
        timeout=900,
        cwd=tmp_path,
    )
    out = r.stdout.decode(errors="replace")
    assert r.returncode == 0, out[-4000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", out)
    assert generated and generated.group(1) == generated.group(2) and int(generated.group(1)) > 50, out[
        -2000:
    ]
    # Every operation of the spec, the LibreTranslate routes included, was exercised.
    spec = json.loads(urllib.request.urlopen(server + "/openapi.json").read())
    # (schemathesis leaves out the operation that serves the schema it was given)
    operations = sum(len(methods) for path, methods in spec["paths"].items() if path != "/openapi.json")
    assert re.search(rf"Tested: {operations}\b", out) and "/translate" in spec["paths"], out[-2000:]
    print(f"\nschemathesis: {generated.group(0)} over {operations} operations")
