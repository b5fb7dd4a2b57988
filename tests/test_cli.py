"""The command line as a user runs it: real subprocesses, exit codes, files."""

import json
import os

import pytest
from conftest import SEEDS, run_cli
from transnorm.errors import InputError, TooLargeError
from transnorm.files import read_input


def run(args, input=None, env_extra=None):
    return run_cli(args, input=input, env=env_extra)


def test_normalize_stdin_to_json():
    r = run(["normalize", "-"], input="Hello world.\n科尔图诺夫。\n".encode())
    doc = json.loads(r.stdout)
    assert doc["schema"] == "transnorm/2" and doc["complete"] is False
    assert r.returncode == 0 and b"incomplete" in r.stderr


def test_fail_incomplete_exit_code():
    r = run(["normalize", "-", "--fail-incomplete"], input="科尔图诺夫。".encode())
    assert r.returncode == 5


def test_empty_input_is_a_valid_result():
    r = run(["normalize", "-"], input=b"")
    assert r.returncode == 0
    assert json.loads(r.stdout)["text"] == ""


def test_invalid_utf8_is_a_clear_error_without_traceback():
    r = run(["normalize", "-"], input=b"abc\xff")
    assert r.returncode == 3
    assert b"invalid UTF-8 at byte offset 3" in r.stderr
    assert b"Traceback" not in r.stderr and r.stdout == b""


def test_missing_file_and_bad_flags():
    r = run(["normalize", "/no/such/file.txt"])
    assert r.returncode == 3 and b"cannot read" in r.stderr
    assert run(["normalize", "-", "--format", "pdf"], input=b"x").returncode == 2
    assert run(["batch", "seeds", "--out", "/tmp/x", "--format", "json,pdf"]).returncode == 2
    r = run(["normalize", "-", "--alternatives", "9"], input=b"x")
    assert r.returncode == 2 and b"'alternatives' must be an integer from 0 to 8" in r.stderr


def test_too_large_input():
    r = run(["normalize", "-", "--max-bytes", "10"], input=b"x" * 100)
    assert r.returncode == 3 and b"limit is 10" in r.stderr


@pytest.mark.slow
def test_text_and_html_formats(tmp_path):
    seed = next(SEEDS.glob("004_*.txt"))
    r = run(["normalize", str(seed), "--format", "text", "--markers", "none"])
    assert r.returncode == 0 and r.stdout.decode().startswith("Moscow and Washington")
    # Plain English by default; markers are asked for.
    assert run(["normalize", str(seed), "--format", "text"]).stdout == r.stdout
    r = run(["normalize", str(seed), "--format", "text", "--markers", "inline"])
    assert "⟦rm:chrome|Озвучить текст⟧" in r.stdout.decode()
    out = tmp_path / "x.html"
    r = run(["normalize", str(seed), "--format", "html", "-o", str(out)])
    assert r.returncode == 0 and out.read_text().startswith("<!DOCTYPE html>")


def test_models_commands_without_packages(tmp_path):
    r = run(["models", "list", "--models-dir", str(tmp_path)])
    assert r.returncode == 0 and b"(none)" in r.stdout and b"translate-zh_en" in r.stdout
    r = run(["models", "verify", "--models-dir", str(tmp_path)])
    assert r.returncode == 0 and b"no packages" in r.stdout
    r = run(["models", "verify", "--models-dir", str(tmp_path / "missing")])
    assert r.returncode == 4 and b"does not exist (--models-dir" in r.stderr
    r = run(["models", "install", str(tmp_path / "nope.argosmodel"), "--models-dir", str(tmp_path)])
    assert r.returncode == 4 and b"no such file" in r.stderr


@pytest.mark.slow
def test_evaluate_command_prints_scores():
    r = run(["evaluate", "--json"])
    scores = json.loads(r.stdout)
    assert scores["f1"] >= 0.99 and scores["language_accuracy"] >= 0.98 and scores["english_flagged"] == 0
    assert {"gold", "recall", "accuracy"} <= set(scores["per_language"]["pl"]) and "confusions" in scores


@pytest.fixture
def installed_dir(real_settings):
    return str(real_settings.pipeline.models_dir)


@pytest.mark.slow
def test_batch_over_seeds_with_a_real_package(tmp_path, installed_dir):
    out = tmp_path / "out"
    r = run(
        ["batch", "seeds", "--out", str(out), "--format", "json,text,html"],
        env_extra={"TRANSNORM_MODELS_DIR": installed_dir, "TRANSNORM_COMPUTE_TYPE": "float32"},
    )
    assert r.returncode == 0, r.stderr
    for seed in SEEDS.glob("*.txt"):
        for suffix in (".json", ".en.txt", ".html"):
            assert (out / (seed.name + suffix)).is_file()
    doc003 = json.loads(next(out.glob("003_*.json")).read_text())
    han = [s for s in doc003["spans"] if any("\u4e00" <= c <= "\u9fff" for c in s["source_text"])]
    assert han and all(s["lang"] == "zh" and s["action"] == "translated" for s in han)
    doc004 = json.loads(next(out.glob("004_*.json")).read_text())
    assert "Озвучить текст" not in doc004["text"] and "Яндекс" not in doc004["text"]
    assert doc004["upstream_translation"][0]["service"] == "Yandex Translate"
    for name in ("000", "001", "002"):
        doc = json.loads(next(out.glob(f"{name}_*.json")).read_text())
        assert not [s for s in doc["spans"] if s["action"] in ("translated", "untranslated")]
    report = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert [r["status"] for r in report] == ["ok"] * 5
    # The tiny model's translations are English words: no warning about their script.
    assert [r["warnings"] for r in report] == [[]] * 5
    assert json.loads((out / "summary.json").read_text())["with_warnings"] == 0
    assert b"0 incomplete, 0 with warnings" in r.stderr
    # Second run: everything unchanged is skipped.
    r = run(
        ["batch", "seeds", "--out", str(out), "--format", "json,text,html"],
        env_extra={"TRANSNORM_MODELS_DIR": installed_dir, "TRANSNORM_COMPUTE_TYPE": "float32"},
    )
    report = [json.loads(line) for line in (out / "report.jsonl").read_text().splitlines()]
    assert [r["status"] for r in report] == ["unchanged"] * 5


@pytest.mark.slow
def test_batch_reports_a_bad_file_and_goes_on(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.txt").write_text("Plain English.\n")
    (src / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    (src / "link.txt").symlink_to("/etc/hostname")
    (src / "zh.txt").write_text("首先我们要明白。\n")  # no model here: written, but incomplete
    os.mkfifo(src / "fifo.txt")  # reading it would block the batch forever
    with open(src / "huge.txt", "wb") as f:  # sparse: 1 GiB that is never read whole
        f.truncate(1 << 30)
    out = tmp_path / "out"
    r = run(["batch", str(src), "--out", str(out), "--jobs", "2"])
    assert r.returncode == 1
    report = {x["file"]: x for x in map(json.loads, (out / "report.jsonl").read_text().splitlines())}
    assert report["good.txt"]["status"] == "ok"
    assert report["bad.txt"]["status"] == "failed" and "UTF-16" in report["bad.txt"]["error"]
    assert report["link.txt"]["status"] == "skipped" and "symbolic link" in report["link.txt"]["error"]
    assert report["fifo.txt"]["status"] == "skipped" and "not a regular file" in report["fifo.txt"]["error"]
    assert report["huge.txt"]["status"] == "failed" and "TRANSNORM_MAX_BYTES" in report["huge.txt"]["error"]
    assert json.loads((out / "good.txt.json").read_text())["text"] == "Plain English.\n"
    assert not list(out.glob("bad*")) and not list(out.glob("huge*")) and not list(out.rglob("*.tmp"))
    assert report["zh.txt"]["complete"] is False
    assert report["zh.txt"]["warnings"] == ["no installed package translates zh into English"]
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["failed"], summary["ok"], summary["incomplete"], summary["with_warnings"]) == (2, 2, 1, 1)
    assert summary["skipped"] == 2
    # Run again: the unchanged files are skipped, and what the first run found is still reported.
    assert run(["batch", str(src), "--out", str(out)]).returncode == 1
    report = {x["file"]: x for x in map(json.loads, (out / "report.jsonl").read_text().splitlines())}
    assert report["zh.txt"]["status"] == "unchanged" and report["zh.txt"]["complete"] is False
    assert report["zh.txt"]["warnings"] == ["no installed package translates zh into English"]
    assert report["good.txt"]["actions"]["kept"] == 1
    summary = json.loads((out / "summary.json").read_text())
    assert (summary["unchanged"], summary["incomplete"], summary["with_warnings"]) == (2, 1, 1)


@pytest.mark.slow
def test_batch_follows_symbolic_links_only_when_asked(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "sub").mkdir(parents=True)
    (elsewhere / "linked.txt").write_text("Linked English.\n")
    (elsewhere / "sub" / "deep.txt").write_text("Deep English.\n")
    src = tmp_path / "in"
    src.mkdir()
    (src / "linked.txt").symlink_to(elsewhere / "linked.txt")
    (src / "folder").symlink_to(elsewhere / "sub", target_is_directory=True)
    (src / "dangling.txt").symlink_to(tmp_path / "missing.txt")
    out = tmp_path / "out"
    r = run(["batch", str(src), "--out", str(out), "--follow-symlinks"])
    assert r.returncode == 1
    report = {x["file"]: x for x in map(json.loads, (out / "report.jsonl").read_text().splitlines())}
    assert report["linked.txt"]["status"] == "ok" and report["folder/deep.txt"]["status"] == "ok"
    assert report["dangling.txt"]["error"] == "broken symbolic link"
    assert json.loads((out / "folder" / "deep.txt.json").read_text())["text"] == "Deep English.\n"


def test_read_input_refuses_fifos_and_oversized_files_without_reading(tmp_path):
    fifo = tmp_path / "doc.txt"
    os.mkfifo(fifo)
    with pytest.raises(InputError, match="not a regular file"):
        read_input(fifo, 100)
    fifo.unlink()
    fifo.write_bytes(b"x" * 500)
    with pytest.raises(TooLargeError, match="500 bytes; the limit is 100"):
        read_input(fifo, 100)
    assert read_input(fifo, 500) == b"x" * 500


@pytest.mark.slow
def test_batch_rewrites_a_changed_or_damaged_output(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.txt").write_text("First version.\n")
    out = tmp_path / "out"
    assert run(["batch", str(src), "--out", str(out)]).returncode == 0
    (out / "a.txt.en.txt").write_text("damaged")
    run(["batch", str(src), "--out", str(out)])
    assert (out / "a.txt.en.txt").read_text() == "First version.\n"
    (src / "a.txt").write_text("Second version.\n")
    run(["batch", str(src), "--out", str(out)])
    assert json.loads((out / "a.txt.json").read_text())["text"] == "Second version.\n"


def test_batch_refuses_output_inside_itself(tmp_path):
    r = run(["batch", str(tmp_path), "--out", str(tmp_path)])
    assert r.returncode == 1 and b"different folder" in r.stderr


# -- what a new user runs into (issue 23) ---------------------------------------------------------


@pytest.fixture(scope="module")
def unk_models(tmp_path_factory, tiny_package):
    """The tiny zh→en package, made to answer only <unk> (replaced by the source's Chinese):
    installed, and every translation rejected by the quality gate."""
    from transnorm.packages import install_file

    models = tmp_path_factory.mktemp("unk-models")
    info = install_file(tiny_package, models)
    vocabulary = info.path / "model" / "target_vocabulary.json"
    pieces = json.loads(vocabulary.read_text())
    vocabulary.write_text(json.dumps(["<unk>" if p not in ("<s>", "</s>") else p for p in pieces]))
    return models


def test_incomplete_says_what_happened_to_each_language(unk_models):
    """`incomplete: no translation for zh` was printed when a zh package was installed and the
    gate refused its output; now each language says why it was left untranslated."""
    env = {"TRANSNORM_MODELS_DIR": str(unk_models), "TRANSNORM_COMPUTE_TYPE": "float32"}
    r = run(["normalize", "-"], input="科尔图诺夫说。\nПутин сказал это вчера.\n".encode(), env_extra=env)
    assert r.returncode == 0, r.stderr
    err = r.stderr.decode()
    assert "no translation for" not in err
    assert "incomplete: 1 zh span untranslated: the model's output was rejected by the quality gate" in err
    assert "incomplete: 1 ru span untranslated: no installed package translates ru into English" in err
    warnings = json.loads(r.stdout)["warnings"]
    assert any("the translation is not in the Latin script" in w for w in warnings), warnings


def test_normalize_from_a_terminal_says_it_is_reading_it():
    """`transnorm normalize` with a terminal on stdin waited silently."""
    import pty
    import subprocess
    import sys

    from conftest import NO_MODELS, ROOT

    controller, terminal = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "transnorm", "normalize", "--format", "text"],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "TRANSNORM_MODELS_DIR": str(NO_MODELS)},
        )
        os.write(controller, b"Hello world.\n\x04")  # a line, then Ctrl-D at the start of a line
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(controller)
        os.close(terminal)
    assert proc.returncode == 0, err
    assert b"reading the document from the terminal" in err and b"Ctrl-D" in err
    assert out == b"Hello world.\n"
    # Piped input is read without a word.
    r = run(["normalize", "-", "--format", "text"], input=b"Hello world.\n")
    assert r.stdout == b"Hello world.\n" and b"terminal" not in r.stderr
