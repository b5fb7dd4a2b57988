"""The structure docs/architecture.md describes: the import contracts (import-linter, in
pyproject.toml: no cycle — lazy imports count —, the layers, development tools and Ray off the
runtime path, package management apart from inference), plan → translate → assemble written once,
a non-editable install that works from any directory, the generated documentation tables in step,
and CI running the README's test command."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import ROOT, readme_blocks

PACKAGE = ROOT / "service" / "transnorm"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


def test_import_contracts_are_kept():
    r = _lint_imports(ROOT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "Contracts: 4 kept, 0 broken." in r.stdout, r.stdout[-2000:]


@pytest.mark.parametrize(
    "body, broken",
    [
        ("def f():\n    from pkg import b\n", "No import cycles"),  # a lazy import makes the cycle
        ("", None),
    ],
)
def test_the_cycle_contract_sees_lazy_imports(tmp_path, body, broken):
    """The contract type pyproject.toml uses finds a cycle closed by an import inside a function."""
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(body)
    (pkg / "b.py").write_text("from pkg import a\n")
    (tmp_path / ".importlinter").write_text(
        textwrap.dedent(
            """\
            [importlinter]
            root_package = pkg

            [importlinter:contract:cycles]
            name = No import cycles
            type = acyclic_siblings
            ancestors = pkg
            """
        )
    )
    r = _lint_imports(tmp_path, {**os.environ, "PYTHONPATH": str(tmp_path)})
    assert r.returncode == (1 if broken else 0), r.stdout
    assert (f"{broken} BROKEN" in r.stdout) if broken else ("1 kept, 0 broken" in r.stdout), r.stdout


def _modules() -> dict[str, Path]:
    def name(path: Path) -> str:
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)

    return {name(p): p for p in PACKAGE.rglob("*.py")}


@pytest.mark.slow
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


def test_the_html_parser_is_imported_by_the_first_page_not_by_text(real_settings):
    """Start-up of a process that reads text: the HTML stack (turbohtml, ``transnorm.markup``,
    ~70 ms) is imported only when a page comes."""
    code = textwrap.dedent(
        """
        import sys, transnorm
        from transnorm.render import render
        html = ('turbohtml', 'transnorm.markup', 'transnorm.htmlspans')
        doc = transnorm.normalize('Hi. 科尔图诺夫。'.encode())
        render(doc, 'html'); render(doc, 'text')
        print(sorted(m for m in html if m in sys.modules))
        render(transnorm.normalize('<!doctype html><p>Hi. 科尔。</p>'.encode()), 'html')
        print(sorted(m for m in html if m in sys.modules))
        """
    )
    env = {**os.environ, "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir)}
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    text_run, page_run = r.stdout.decode().splitlines()
    assert text_run == "[]"
    assert page_run == "['transnorm.htmlspans', 'transnorm.markup', 'turbohtml']"


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
        "translate_requests": {"transnorm.pipeline", "transnorm.translator.server"},
    }


def _readme_library_example() -> str:
    return next(b.code for b in readme_blocks() if b.lang == "python" and "transnorm.normalize(" in b.code)


@pytest.mark.slow
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
    assert out[-2:] == ["doc-1 True", "doc-2 False"]  # the stream, in order
    r = subprocess.run(
        [sys.executable, "-m", "transnorm", "models", "list"],
        env=env,
        cwd=work,
        capture_output=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr.decode()
    assert "supported (the manifest):" in r.stdout.decode() and "translate-zh_en 1.9" in r.stdout.decode()


def test_generated_tables_are_in_step_with_the_code():
    """docs/settings.md has the table of Settings, docs/http.md the table of /openapi.json
    (``python -m transnorm.devtools.docs --update`` rewrites them)."""
    from transnorm.devtools.docs import PAGES, replace_table

    for name, table in PAGES.items():
        page = (ROOT / "docs" / name).read_text()
        assert table() in page, f"docs/{name} is out of step: python -m transnorm.devtools.docs --update"
        assert replace_table(page, table()) == page


def test_ci_runs_the_readme_test_command_verbatim_and_fails_with_it():
    tests = next(b.code for b in readme_blocks() if b.mark == "ci")
    ci = (ROOT / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci and ci.rstrip().splitlines()[-1] == tests  # its status is CI's status
    assert "mkdocs build --strict" in ci


def test_the_documentation_site_builds_without_a_warning(tmp_path):
    """mkdocs build --strict: every page in the nav, every link and anchor resolved (CI builds it too)."""
    mkdocs = Path(sys.executable).with_name("mkdocs")
    r = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert (tmp_path / "site" / "settings" / "index.html").is_file()


def test_the_architecture_page_names_every_module():
    """docs/architecture.md is the newcomer's map: every module of the package (and every
    sub-package) is named in it, so a new stage cannot land without its row."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "service" / "transnorm"
    missing = []
    for path in sorted(package.iterdir()):
        if path.name in ("__init__.py", "__main__.py", "__pycache__", "data", "devtools"):
            continue
        if path.suffix == ".py" and f"`{path.name}`" not in page:
            missing.append(path.name)
        elif path.is_dir() and f"`{path.name}/`" not in page:
            missing.append(path.name + "/")
    assert not missing, f"docs/architecture.md does not name {missing}"
