"""The container image, built from the Dockerfile as it is and run here: buildah builds it on a
Debian bookworm base made with debootstrap (no registry is reachable), podman runs it with runc.
Checked: the pipeline step (offline, read-only root), the JSON-lines step, the service (/readyz,
the HEALTHCHECK, a POST equal to the CLI's output, the non-root uid), a model baked in from
models/*.argosmodel in the build context, and the image's size.

These tests need root and the Debian packages buildah, podman, runc and debootstrap (.ci/run
installs them). Where they cannot run, the tests fail and say why — unless
TRANSNORM_SKIP_CONTAINER=1 opts out, explicitly. The base image and the container storage are kept
in ``.cache/containers`` so that a second run builds in a minute.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import ROOT, SEEDS, run_cli

pytestmark = pytest.mark.slow  # builds and runs the container image

if os.environ.get("TRANSNORM_SKIP_CONTAINER") == "1":
    pytest.skip("TRANSNORM_SKIP_CONTAINER=1: the container image is not built", allow_module_level=True)

BASE = "localhost/py311-bookworm:base"
IMAGE = "localhost/transnorm:test"
CACHE = ROOT / ".cache" / "containers"
TOOLS = ("buildah", "podman", "runc", "debootstrap")
#: The image, measured: what it may weigh at most (Python, CTranslate2, SentencePiece, langid,
#: numpy, no torch; README, Container).
MAX_IMAGE_MB = 350


def _require_tools() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing or os.geteuid() != 0:
        pytest.fail(
            "cannot build the container image here: "
            + (
                f"missing {', '.join(missing)} (apt-get install buildah podman runc debootstrap)"
                if missing
                else ""
            )
            + ("" if os.geteuid() == 0 else "; needs root")
            + ". Set TRANSNORM_SKIP_CONTAINER=1 to skip these tests on purpose."
        )


def _mirror() -> str:
    """The Debian mirror apt already uses here: the source that serves the suite bookworm."""
    folder = Path("/etc/apt/sources.list.d")
    for path in [
        *sorted(folder.glob("*.sources")),
        *sorted(folder.glob("*.list")),
        Path("/etc/apt/sources.list"),
    ]:
        if not path.is_file():
            continue
        text = path.read_text()
        if path.suffix == ".sources":  # deb822 stanzas
            for stanza in text.split("\n\n"):
                fields = dict(
                    line.split(":", 1)
                    for line in stanza.splitlines()
                    if ":" in line and not line.startswith("#")
                )
                if "bookworm" in fields.get("Suites", "").split() and fields.get("URIs", "").strip():
                    return fields["URIs"].split()[0]
        else:
            for line in text.splitlines():
                words = line.split("#", 1)[0].split()
                urls = [w for w in words if w.startswith("http")]
                if words[:1] == ["deb"] and urls and "bookworm" in words:
                    return urls[0]
    return "http://deb.debian.org/debian"


def _environment() -> dict[str, str]:
    """CONTAINERS_CONF and CONTAINERS_STORAGE_CONF for this host: the open-files limit this sandbox
    allows (podman's default is more), runc (crun refuses this host's cgroups), storage in CACHE."""
    CACHE.mkdir(parents=True, exist_ok=True)
    hard = subprocess.run(["sh", "-c", "ulimit -Hn"], capture_output=True, text=True).stdout.strip()
    conf = CACHE / "containers.conf"
    conf.write_text(
        "[containers]\n"
        f'default_ulimits = ["nofile={hard}:{hard}", "nproc=32768:32768"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
    )
    storage = CACHE / "storage.conf"
    storage.write_text(
        f'[storage]\ndriver = "vfs"\ngraphroot = "{CACHE / "storage"}"\nrunroot = "{CACHE / "run"}"\n'
    )
    return {**os.environ, "CONTAINERS_CONF": str(conf), "CONTAINERS_STORAGE_CONF": str(storage)}


def _run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, env=env, capture_output=True, **kw)


@pytest.fixture(scope="module")
def image(tiny_package, tmp_path_factory):
    """The image, built from a copy of the build context with the test package in models/."""
    _require_tools()
    env = _environment()
    if _run(["podman", "image", "exists", BASE], env).returncode != 0:
        rootfs = tmp_path_factory.mktemp("rootfs")
        r = _run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,python-is-python3,ca-certificates,netbase",
                "bookworm",
                str(rootfs),
                _mirror(),
            ],
            env,
            timeout=1200,
        )
        assert r.returncode == 0, r.stderr.decode()[-3000:]
        # As Debian's slim images do: no package caches and lists, documentation or translations.
        for junk in (
            "var/cache/apt",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/locale",
        ):
            for path in (rootfs / junk).glob("*"):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        # The temporary folder is 0700, and it becomes the image's "/": the non-root user could
        # not run anything.
        rootfs.chmod(0o755)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        r = _run(["podman", "import", "-", BASE], env, stdin=tar.stdout, timeout=600)
        tar.wait()
        assert r.returncode == 0, r.stderr.decode()[-3000:]
        shutil.rmtree(rootfs, ignore_errors=True)
    context = tmp_path_factory.mktemp("context")
    for name in ("pyproject.toml", "README.md", "constraints.txt", "Dockerfile", ".dockerignore"):
        shutil.copy(ROOT / name, context / name)
    shutil.copytree(
        ROOT / "service", context / "service", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    shutil.copytree(ROOT / "models", context / "models", ignore=shutil.ignore_patterns("*.argosmodel"))
    shutil.copy(tiny_package, context / "models")
    started = time.monotonic()
    r = _run(
        [
            "buildah", "build", "--isolation", "chroot", "--format", "docker",
            "--build-arg", f"PYTHON_IMAGE={BASE}",
            "-v", "/etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro",
            "-t", IMAGE, str(context),
        ],
        env,
        timeout=1800,
    )  # fmt: skip
    assert r.returncode == 0, (r.stdout + r.stderr).decode()[-5000:]
    print(f"\nimage built in {time.monotonic() - started:.0f} s")
    return env


def _cli_output(settings, data: bytes) -> dict:
    env = {"TRANSNORM_MODELS_DIR": str(settings.pipeline.models_dir)}
    r = run_cli(["normalize", "-"], input=data, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_a_pipeline_step_offline_with_a_read_only_root(image, real_settings):
    seed = next(SEEDS.glob("003_*.txt")).read_bytes()
    r = _run(
        ["podman", "run", "-i", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp", IMAGE,
         "transnorm", "normalize", "-"],
        image,
        input=seed,
        timeout=300,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    doc = json.loads(r.stdout)
    # The model baked in from models/ translated the Chinese, as the same package does here.
    assert doc["models"] and doc["models"][0]["package"] == "translate-zh_en"
    assert doc == _cli_output(real_settings, seed)


def test_a_json_lines_pipeline_step(image):
    lines = [
        json.dumps({"id": "a", "text": "第一次会谈。"}),
        "{broken",
        json.dumps({"id": "b", "text": "Plain."}),
    ]
    r = _run(
        ["podman", "run", "-i", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp", IMAGE,
         "transnorm", "normalize", "--jsonl", "-"],
        image,
        input="\n".join(lines).encode() + b"\n",
        timeout=300,
    )  # fmt: skip
    out = [json.loads(line) for line in r.stdout.decode().splitlines()]
    assert r.returncode == 1 and [("result" in x, x.get("id")) for x in out] == [
        (True, "a"),
        (False, None),
        (True, "b"),
    ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_service_with_a_read_only_root(image, real_settings):
    port = _free_port()
    name = f"transnorm-test-{port}"
    r = _run(
        ["podman", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:8000",
         "--read-only", "--tmpfs", "/tmp", IMAGE],
        image,
        timeout=120,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        ready = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as response:
                    ready = json.loads(response.read())
                    break
            except OSError:
                state = _run(["podman", "inspect", "--format", "{{.State.Running}}", name], image)
                if state.stdout.strip() == b"false":  # it exited: no use waiting
                    break
                time.sleep(0.5)
        logs = _run(["podman", "logs", name], image).stderr.decode()[-3000:]
        assert ready and ready["status"] == "ready", logs
        assert [m["package"] for m in ready["models"]] == ["translate-zh_en"]
        health = _run(["podman", "healthcheck", "run", name], image, timeout=60)
        assert health.returncode == 0, health.stdout + health.stderr
        seed = next(SEEDS.glob("003_*.txt")).read_bytes()
        request = urllib.request.Request(
            base + "/v1/normalize", data=seed, headers={"Content-Type": "text/plain"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=120) as response:
            assert json.loads(response.read()) == _cli_output(real_settings, seed)
        uid = _run(["podman", "exec", name, "id", "-u"], image).stdout.decode().strip()
        assert uid == "10001"
    finally:
        _run(["podman", "rm", "-f", name], image, timeout=120)


def test_the_image_is_slim(image):
    r = _run(["podman", "image", "inspect", "--format", "{{.Size}}", IMAGE], image)
    size_mb = int(r.stdout.decode().strip()) / 1e6
    print(f"\nimage size: {size_mb:.0f} MB")
    assert size_mb <= MAX_IMAGE_MB
