"""What the Dockerfile runs, run outside the image: fast, and without root. tests/test_image.py
builds the image itself and runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


def _run(args, env=None, cwd=ROOT, **kw):
    return subprocess.run(
        args, capture_output=True, cwd=cwd, env={**os.environ, **(env or {})}, timeout=300, **kw
    )


def dockerfile_commands(dockerfile: str) -> list[str]:
    """The transnorm subcommands a Dockerfile runs, in shell form or in exec-form arrays; not in
    comments."""
    text = "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#"))
    text = re.sub(r'\["[^"\]]*"(?:, "[^"\]]*")*\]', lambda m: " ".join(json.loads(m.group(0))), text)
    return re.findall(r"(?:^|[\s/])transnorm (models \w+|\w+)", text, re.M)


def test_dockerfile_commands_are_read_in_both_forms():
    assert dockerfile_commands('RUN /opt/venv/bin/transnorm models setup\nCMD ["transnorm", "serve"]') == [
        "models setup",
        "serve",
    ]
    assert dockerfile_commands("# transnorm normalize - < in.txt\nUSER transnorm\n") == []


def test_dockerfile_runs_only_commands_tested_here():
    # Exactly these: a command the Dockerfile starts running fails here until a test runs it.
    assert sorted(set(dockerfile_commands(DOCKERFILE))) == [
        "models install",
        "models list",
        "models setup",
        "models verify",
        "normalize",
        "serve",
    ]
    assert '"python", "-m", "transnorm.server.healthcheck"' in DOCKERFILE
    assert 'CMD ["transnorm", "serve"]' in DOCKERFILE
    assert "USER 10001" in DOCKERFILE and "HEALTHCHECK" in DOCKERFILE
    assert "python:3.11-slim" in DOCKERFILE


@pytest.mark.slow
def test_build_stage_installs_models_from_the_build_context(tmp_path, tiny_package):
    # The build stage runs in the build context, whose models/ holds .argosmodel files; the
    # manifest is the packaged one.
    context_models = tmp_path / "models"
    context_models.mkdir()
    shutil.copy(tiny_package, context_models)
    env = {"TRANSNORM_MODELS_DIR": str(tmp_path / "opt-packages"), "TRANSNORM_COMPUTE_TYPE": "float32"}
    r = _run([sys.executable, "-m", "transnorm", "models", "setup", "--offline"], env, cwd=tmp_path)
    assert r.returncode == 0 and b"installed translate-zh_en 0.1" in r.stdout, r.stdout + r.stderr
    r = _run([sys.executable, "-m", "transnorm", "models", "verify", "--load"], env)
    assert r.returncode == 0 and b"translate-zh_en 0.1: ok" in r.stdout
    # Then the image is used as a pipeline step: stdin to stdout.
    r = _run(
        [sys.executable, "-m", "transnorm", "normalize", "-", "--format", "text", "--markers", "none"],
        env,
        input="Intro.\n科尔图诺夫。\n".encode(),
    )
    assert r.returncode == 0 and "科" not in r.stdout.decode()


def test_build_stage_with_no_models_still_builds(tmp_path):
    env = {"TRANSNORM_MODELS_DIR": str(tmp_path / "p")}
    assert (
        _run(
            [sys.executable, "-m", "transnorm", "models", "setup", "--offline"], env, cwd=tmp_path
        ).returncode
        == 0
    )
    assert _run([sys.executable, "-m", "transnorm", "models", "verify"], env).returncode == 0


@pytest.mark.slow
def test_healthcheck_against_the_running_server(server):
    port = server.rsplit(":", 1)[1]
    r = _run([sys.executable, "-m", "transnorm.server.healthcheck"], {"TRANSNORM_PORT": port})
    assert r.returncode == 0 and b"ready" in r.stdout
    r = _run([sys.executable, "-m", "transnorm.server.healthcheck", "http://127.0.0.1:1/readyz"])
    assert r.returncode == 1


@pytest.mark.slow
def test_the_service_never_imports_torch(real_settings):
    code = (
        "import sys, transnorm\n"
        "from transnorm.server import create_app\n"
        "app = create_app(background=False)\n"
        "doc = transnorm.normalize('Hi. 科尔图诺夫。'.encode())\n"
        "assert doc.complete, doc.to_dict()\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('torch', 'stanza', 'spacy')]\n"
        "assert not bad, bad\n"
    )
    r = _run(
        [sys.executable, "-c", code],
        {"TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir), "TRANSNORM_COMPUTE_TYPE": "float32"},
    )
    assert r.returncode == 0, r.stderr.decode()[-2000:]
