"""The structure the README's Architecture section describes: no import cycle (lazy imports
count), development tools off the runtime path, plan → translate → assemble written once, and a
non-editable install that works from any directory."""

from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import ROOT

PACKAGE = ROOT / "service" / "transnorm"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def import_graph() -> dict[str, set[str]]:
    """Module → the transnorm modules it imports anywhere in its body (functions included)."""
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{base}.{node.module}" if node.module else base
                else:
                    base = node.module or ""
                # `from . import x` names a module when x is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_import_graph_is_read_and_has_no_cycle():
    graph = import_graph()
    # The reader sees the edges the architecture is built on, lazy ones included.
    assert "transnorm.plan" in graph["transnorm.pipeline"]
    assert "transnorm.engine" in graph["transnorm.pipeline"]  # imported inside Pipeline.__init__
    assert "transnorm.devtools.bench" in graph["transnorm.cli"]
    assert _cycle(graph) is None, " → ".join(_cycle(graph) or [])
    # And the checker itself finds a cycle when there is one.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_package_management_and_inference_stay_apart():
    graph = import_graph()
    assert "transnorm.engine" not in graph["transnorm.packages"]
    assert "transnorm.translate" not in graph["transnorm.packages"]


def test_runtime_path_imports_no_development_tool_and_no_ray(real_settings):
    code = (
        "import sys, transnorm\n"
        "from transnorm.server import create_app\n"
        "doc = transnorm.normalize('Hi. 科尔图诺夫。'.encode())\n"
        "client = create_app(background=False).test_client()\n"
        "r = client.post('/v1/normalize', data='Hi. 科尔图诺夫。', content_type='text/plain')\n"
        "assert r.status_code == 200\n"
        "r = client.post('/translate', json={'q': '科尔图诺夫。', 'source': 'auto', 'target': 'en'})\n"
        "assert r.status_code == 200\n"
        "from transnorm.batch import Job, run_batch\n"
        "import transnorm.batch.parquet, transnorm.batch.pool\n"
        "from transnorm.jsonl import normalize_stream\n"
        "import transnorm.cli\n"
        "print(sorted(m for m in sys.modules\n"
        "             if m.startswith('transnorm.devtools') or m.split('.')[0] == 'ray'))\n"
    )
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
    }
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert r.stdout.decode().strip() == "[]"


def test_plan_translate_assemble_is_written_once():
    """Only pipeline.py calls the planning and assembly stages; every shell goes through
    Pipeline.normalize_many (or the pipeline's __call__); the translation process translates
    the requests of pipelines elsewhere."""
    callers: dict[str, set[str]] = {}
    for name, path in _modules().items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called in ("plan_document", "assemble", "plan", "translate_requests"):
                    callers.setdefault(called, set()).add(name)
    assert callers == {
        "plan_document": {"transnorm.pipeline"},
        "assemble": {"transnorm.pipeline"},
        "plan": {"transnorm.pipeline"},
        # The translation process translates for every pipeline of the host.
        "translate_requests": {"transnorm.pipeline", "transnorm.translator"},
    }


def _readme_library_example() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Library") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_non_editable_install_runs_the_readme_example_from_elsewhere(tmp_path):
    target = tmp_path / "site"
    r = subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(ROOT)],
        capture_output=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    assert (target / "transnorm" / "data" / "manifest.json").is_file()
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("TRANSNORM_")},
        "PYTHONPATH": str(target),
        "HOME": str(tmp_path / "home"),
        "XDG_DATA_HOME": str(tmp_path / "home" / "data"),
    }
    check = "import transnorm, sys; assert transnorm.__file__.startswith(sys.argv[1]), transnorm.__file__"
    r = subprocess.run([sys.executable, "-c", check, str(target)], env=env, cwd=work, capture_output=True)
    assert r.returncode == 0, r.stderr.decode()
    r = subprocess.run(
        [sys.executable, "-c", _readme_library_example()], env=env, cwd=work, capture_output=True, timeout=120
    )
    assert r.returncode == 0, r.stderr.decode()[-3000:]
    out = r.stdout.decode().splitlines()
    assert out[0].startswith("False [") and "untranslated" in out[0]  # no model installed here
    assert out[-1] == "['doc-1', 'doc-2']"
    r = subprocess.run(
        [sys.executable, "-m", "transnorm", "models", "list"],
        env=env,
        cwd=work,
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr.decode()
    assert "supported (the manifest):" in r.stdout.decode() and "translate-zh_en 1.9" in r.stdout.decode()


def test_readme_settings_table_is_generated_from_the_settings():
    from transnorm.devtools.docs import settings_table

    assert settings_table() in (ROOT / "README.md").read_text()


def _fresh_machine_commands() -> list[str]:
    section = (ROOT / "README.md").read_text().split("## On a fresh machine", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.+?)\n```", section)


def test_ci_runs_the_readme_test_command_verbatim_and_fails_with_it():
    main_job, tests = _fresh_machine_commands()
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()
    assert "set -euo pipefail" in ci and ci.rstrip().endswith(tests)  # its status is CI's status
    assert "transnorm batch seeds --out out" in main_job and "transnorm models setup" in main_job
