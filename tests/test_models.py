"""Package management (install, verify, manifest, setup) on the tiny real package."""

import json
import zipfile

import pytest
from transnorm import packages as models
from transnorm.errors import ModelError
from transnorm.settings import Settings


def _entry(**kw):
    base = dict(name="translate-zh_en", from_code="zh", to_code="en", version="0.1")
    return models.ManifestEntry(**{**base, **kw})


def test_install_list_and_verify(tmp_path, tiny_package):
    settings = Settings(models_dir=tmp_path / "m", compute_type="float32")
    info = models.install_file(tiny_package, settings.pipeline.models_dir)
    assert (info.from_code, info.to_code, info.package, info.version) == (
        "zh",
        "en",
        "translate-zh_en",
        "0.1",
    )
    assert [m.package for m in models.installed(settings.pipeline.models_dir)] == ["translate-zh_en"]
    loaded = []
    (check,) = models.verify(settings.pipeline.models_dir, loaded.append)
    assert check.ok, check.problems
    assert loaded == [info]
    (info.path / "model" / "model.bin").unlink()
    (check,) = models.verify(settings.pipeline.models_dir)
    assert not check.ok and "model/model.bin is missing" in check.problems


def test_reinstall_replaces_the_same_pair(tmp_path, tiny_package):
    models.install_file(tiny_package, tmp_path)
    models.install_file(tiny_package, tmp_path)
    assert len(models.installed(tmp_path)) == 1


def test_checksums_from_the_manifest_are_enforced(tmp_path, tiny_package):
    digests = models.file_digests(tiny_package)
    good = _entry(
        sha256=digests["sha256"],
        git_blob_sha1=digests["git_blob_sha1"],
        size=tiny_package.stat().st_size,
    )
    models.install_file(tiny_package, tmp_path / "a", [good])
    with pytest.raises(ModelError, match="sha256"):
        models.install_file(tiny_package, tmp_path / "b", [_entry(sha256="0" * 64)])
    with pytest.raises(ModelError, match="size"):
        models.install_file(tiny_package, tmp_path / "c", [_entry(size=1)])
    assert not models.installed(tmp_path / "b")


def test_git_blob_id_matches_git(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    # `git hash-object` of "hello\n"
    assert models.file_digests(path)["git_blob_sha1"] == "ce013625030ba8dba906f756967f9e9ca394464a"


@pytest.mark.parametrize(
    "members, message",
    [
        ({"../evil/metadata.json": "{}"}, "unsafe path"),
        ({"a/metadata.json": "{}", "b/x": ""}, "one top-level folder"),
        ({"a/model/x": ""}, "metadata.json is missing"),
        ({"a/metadata.json": "not json"}, "not valid JSON"),
        ({"a/metadata.json": json.dumps({"from_code": "zh"})}, "no to_code"),
    ],
)
def test_bad_archives_are_refused(tmp_path, members, message):
    path = tmp_path / "bad.argosmodel"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(ModelError, match=message):
        models.install_file(path, tmp_path / "m")


def test_not_a_zip_and_missing_file(tmp_path):
    path = tmp_path / "x.argosmodel"
    path.write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a zip"):
        models.install_file(path, tmp_path / "m")
    with pytest.raises(ModelError, match="no such file"):
        models.install_file(tmp_path / "missing.argosmodel", tmp_path / "m")


def test_manifest_lists_the_required_pairs():
    entries = models.load_manifest()
    pairs = {(e.from_code, e.to_code) for e in entries}
    assert {(lang, "en") for lang in ("zh", "ru", "uk", "ja", "ko", "fr", "de", "es")} <= pairs
    assert all(e.url and e.url.endswith(e.filename) for e in entries)
    zh = models.find_entry("zh", entries)
    assert zh.git_blob_sha1 and zh.size == 74481402
    assert models.find_entry("translate-ru_en-1_9", entries).sha256
    with pytest.raises(ModelError, match="unknown package"):
        models.find_entry("xx", entries)


def test_download_failure_is_a_clear_error(tmp_path):
    entry = _entry(url="http://127.0.0.1:9/translate-zh_en-0_1.argosmodel")
    with pytest.raises(ModelError, match="offline"):
        models.download(entry, tmp_path, timeout=2)
    assert not list(tmp_path.iterdir())


def test_setup_installs_local_files_and_goes_on_offline(tmp_path, tiny_package):
    report = models.setup(tmp_path / "none", [tmp_path / "no-models-here"], [], online=False)
    assert "no translation package is installed" in report[-1]
    sources = [tiny_package.parent]
    assert any(
        "installed translate-zh_en 0.1" in line
        for line in models.setup(tmp_path / "m", sources, [], online=False)
    )
    assert any(
        "already installed" in line for line in models.setup(tmp_path / "m", sources, [], online=False)
    )
