"""The per-document time budget against the worst document: 10 MB that is one sentence (no full
stop, no clause punctuation) in Latin script and in Han, through ``transnorm normalize``,
``transnorm batch`` and ``transnorm serve`` (POST /v1/normalize), each with
``TRANSNORM_DOCUMENT_TIMEOUT`` set. A row prints the seconds end to end, what was translated and
what was left with ``reason: deadline``, and whether it finished within the budget plus a margin
(decoding, planning the 10 MB and writing the output are outside the budget's slices).

Run ``python -m transnorm.devtools.budget`` (``--help``). The models are the random-weight
packages of ``shared/models/synthetic-test-only`` (fr and zh), installed in a temporary folder,
or ``--models-dir``. For the run the size limit (``TRANSNORM_MAX_BYTES``, 10 MiB by default) is
raised to four times the document, and the server's request timeout to three times the budget
plus the margin.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

from .bench import PROJECT_ROOT, Server

SIZE = 10_000_000
#: A sentence without any mark: words, or Han characters with no space nor punctuation.
SHAPES = {
    "latin": "le gouvernement a annoncé lundi de nouvelles mesures pour la région et ses habitants ",
    "han": "会谈将于下周继续进行官员们在周一的声明中表示双方同意继续对话",
}
PACKAGES = ("fr", "zh")


def document(shape: str, size: int) -> bytes:
    """One line of ``size`` bytes (UTF-8) of the shape's text, ended by a newline."""
    unit = SHAPES[shape].encode()
    data = (unit * (size // len(unit) + 1))[: size - 1].decode("utf-8", "ignore").strip()
    return (data + "\n").encode()


def _models_dir(tmp: Path) -> Path:
    shared = PROJECT_ROOT.parent / "shared" / "models" / "synthetic-test-only"
    if not shared.is_dir():
        shared = Path("/work/shared/models/synthetic-test-only")
    models = tmp / "models"
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(models)}
    for lang in PACKAGES:
        archive = shared / f"translate-{lang}_en-0_0-SYNTHETIC-LATIN-OUTPUT.argosmodel"
        if not archive.is_file():
            raise SystemExit(f"no {archive}: pass --models-dir")
        cmd = [sys.executable, "-m", "transnorm", "models", "install", str(archive)]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
    return models


def _tally(result: dict[str, Any]) -> dict[str, Any]:
    spans = result["spans"]
    counts = Counter(s["action"] for s in spans if s.get("lang") not in (None, "en", "zxx"))
    deadline = sum(1 for s in spans if s.get("reason") == "deadline")
    return {"translated": counts["translated"], "deadline": deadline, "complete": result.get("complete")}


def _run(argv: list[str], env: dict[str, str], limit: float) -> tuple[float, int | None, bytes]:
    started = time.perf_counter()
    try:
        r = subprocess.run(argv, env=env, capture_output=True, timeout=limit, cwd=PROJECT_ROOT)
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, None, b""
    return time.perf_counter() - started, r.returncode, r.stdout


def run(models: Path, shapes: list[str], size: int, budget: float, margin: float, tmp: Path) -> list[dict]:
    """One row per shape and shell."""
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(models),
        "TRANSNORM_DOCUMENT_TIMEOUT": str(budget),
        "TRANSNORM_MAX_BYTES": str(4 * size),
        "TRANSNORM_CACHE_SIZE": "0",
    }
    env.pop("TRANSNORM_TRANSLATOR_SOCKET", None)
    limit = budget + margin
    rows = []
    for shape in shapes:
        data = document(shape, size)
        folder = tmp / shape
        folder.mkdir(exist_ok=True)
        path = folder / f"{shape}.txt"
        path.write_bytes(data)
        base = {"shape": shape, "bytes": len(data), "chars": len(data.decode())}

        cmd = [sys.executable, "-m", "transnorm", "normalize", str(path), "--format", "json"]
        seconds, code, out = _run(cmd, env, 3 * limit)
        tally = _tally(json.loads(out)) if code == 0 else {"exit": code}
        rows.append({**base, "shell": "normalize", "seconds": seconds, **tally})

        out_dir = tmp / f"out-{shape}"
        cmd = [
            sys.executable,
            "-m",
            "transnorm",
            "batch",
            str(folder),
            "--out",
            str(out_dir),
            "--format",
            "json",
        ]
        seconds, code, _ = _run(cmd, env, 3 * limit)
        written = sorted(out_dir.rglob(f"{shape}*.json"))
        tally = _tally(json.loads(written[0].read_text())) if code == 0 and written else {"exit": code}
        rows.append({**base, "shell": "batch", "seconds": seconds, **tally})

        server_env = {k: v for k, v in env.items() if k.startswith("TRANSNORM_")}
        server_env["TRANSNORM_REQUEST_TIMEOUT"] = str(int(3 * limit))
        with Server(models, workers=1, env=server_env) as server:
            request = urllib.request.Request(
                server.base + "/v1/normalize",
                data=data,
                headers={"Content-Type": "text/plain; charset=utf-8"},
            )
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(request, timeout=3 * limit) as r:
                    tally = _tally(json.loads(r.read()))
            except OSError as exc:
                tally = {"exit": f"{type(exc).__name__}: {exc}"}
            seconds = time.perf_counter() - started
        rows.append({**base, "shell": "http", "seconds": seconds, **tally})
    for row in rows:
        row["within"] = "exit" not in row and row["seconds"] <= limit
    return rows


def format_rows(rows: list[dict], budget: float, margin: float) -> str:
    head = f"budget {budget:g} s + margin {margin:g} s\n"
    lines = [
        "| document | shell | seconds | passages translated | left (deadline) | within |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        what = f"{r['bytes'] / 1e6:g} MB {r['shape']}, one sentence ({r['chars']:,} characters)"
        if "exit" in r:
            lines.append(f"| {what} | {r['shell']} | {r['seconds']:.1f} | failed: {r['exit']} | | no |")
            continue
        within = "yes" if r["within"] else "no"
        lines.append(
            f"| {what} | {r['shell']} | {r['seconds']:.1f} | {r['translated']:,} | {r['deadline']:,} "
            f"| {within} |"
        )
    return head + "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m transnorm.devtools.budget", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--budget", type=float, default=60.0, help="TRANSNORM_DOCUMENT_TIMEOUT (s)")
    parser.add_argument("--margin", type=float, default=30.0, help="seconds allowed past the budget")
    parser.add_argument("--size", type=int, default=SIZE, help="document bytes")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="latin,han")
    parser.add_argument("--models-dir", type=Path, help="default: shared synthetic fr and zh packages")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="transnorm-budget-") as name:
        tmp = Path(name)
        models = args.models_dir or _models_dir(tmp)
        rows = run(models, args.shapes.split(","), args.size, args.budget, args.margin, tmp)
    print(json.dumps(rows, indent=1) if args.json else format_rows(rows, args.budget, args.margin))
    return 0 if all(r["within"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
