"""Package management (install, verify, manifest, setup) on the tiny real package."""

import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from conftest import run_cli
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


def test_reinstall_replaces_the_same_pair_only_when_asked(tmp_path, tiny_package):
    models.install_file(tiny_package, tmp_path)
    with pytest.raises(models.AlreadyInstalled, match=r"already installed .*add --replace"):
        models.install_file(tiny_package, tmp_path)
    models.install_file(tiny_package, tmp_path, replace=True)
    (info,) = models.installed(tmp_path)
    assert (info.path / "model" / "model.bin").is_file()
    assert [p.name for p in tmp_path.iterdir()] == [info.path.name]  # nothing left from staging


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


# -- hostile packages (issue 23, item 5) ---------------------------------------------------------
# Archives are written by hand here, so that a 2 GiB entry costs 2 MB and no time: a deflate
# stream of zeros repeats itself after a sync flush, and the CRC of zeros is computed in chunks.

MIB = 1024**2


def _deflated(chunk: bytes, count: int, head: bytes = b"", tail: bytes = b"") -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of head + chunk * count + tail, compressing the chunk
    three times only: after a sync flush, the stream for one more chunk repeats itself."""
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    first = c.compress(head + chunk) + c.flush(zlib.Z_SYNC_FLUSH)
    steady = c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH)
    assert c.compress(chunk) + c.flush(zlib.Z_SYNC_FLUSH) == steady
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(chunk, crc)
    stream = first + steady * (count - 1) + c.compress(tail) + c.flush()
    return stream, zlib.crc32(tail, crc), len(head) + len(chunk) * count + len(tail)


def _deflated_zeros(mib: int) -> tuple[bytes, int, int]:
    return _deflated(bytes(MIB), mib)


def _entry_bytes(data: bytes) -> tuple[bytes, int, int]:
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    return c.compress(data) + c.flush(), zlib.crc32(data), len(data)


def _write_zip(path, entries) -> None:
    """A zip of (name, compressed deflate bytes, crc32, declared size) entries (no zip64: < 4 GiB)."""
    with open(path, "wb") as out:
        directory = []
        for name, data, crc, size in entries:
            offset = out.tell()
            raw = name.encode()
            out.write(
                struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), size, len(raw), 0)
            )
            out.write(raw + data)
            directory.append(
                struct.pack(
                    "<IHHHHHHIIIHHHHHII",
                    0x02014B50,
                    20,
                    20,
                    0,
                    8,
                    0,
                    0x21,
                    crc,
                    len(data),
                    size,
                    len(raw),
                    0,
                    0,
                    0,
                    0,
                    0,
                    offset,
                )
                + raw
            )
        start = out.tell()
        out.write(b"".join(directory))
        end = out.tell()
        out.write(
            struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), end - start, start, 0)
        )


def _package_entries(tiny_package, top="translate-zh_en-0_1", **replace):
    """The tiny package's files as (name, deflated, crc, size), with some replaced by raw entries."""
    out = []
    with zipfile.ZipFile(tiny_package) as z:
        for info in z.infolist():
            rel = info.filename.split("/", 1)[1]
            if rel in replace:
                continue
            out.append((f"{top}/{rel}", *_entry_bytes(z.read(info))))
    for rel, entry in replace.items():
        out.append((f"{top}/{rel}", *entry))
    return out


def _nothing_left(models_dir) -> bool:
    return not models_dir.exists() or not any(models_dir.iterdir())


def test_a_zip_bomb_is_refused_before_anything_is_written(tmp_path, tiny_package):
    """Issue 23: a 2.1 MB archive holding a 2 GiB model.bin of zeros installed, as 2.1 GB."""
    bomb = tmp_path / "translate-zh_en-0_1.argosmodel"
    _write_zip(bomb, _package_entries(tiny_package, **{"model/model.bin": _deflated_zeros(2048)}))
    assert bomb.stat().st_size < 3 * MIB
    with zipfile.ZipFile(bomb) as z:  # a well-formed archive: it does unpack to 2 GiB
        assert sum(i.file_size for i in z.infolist()) > 2048 * MIB
    with pytest.raises(ModelError, match=r"unpacks to 2048\.\d MiB from 2\.\d MiB: compressed \d+ : 1"):
        models.install_file(bomb, tmp_path / "m")
    assert _nothing_left(tmp_path / "m")
    r = run_cli(["models", "install", str(bomb), "--models-dir", str(tmp_path / "m")])
    assert r.returncode == 4 and b"zip bomb" in r.stderr and b"Traceback" not in r.stderr, r.stderr
    assert _nothing_left(tmp_path / "m")


def test_the_size_and_ratio_limits(tmp_path, tiny_package):
    """Unpacked size and compression ratio, each on its own (smaller limits, same checks)."""
    big = tmp_path / "big.argosmodel"
    _write_zip(big, _package_entries(tiny_package, **{"pad.bin": _deflated_zeros(40)}))
    with pytest.raises(ModelError, match=r"packages are limited to 32\.0 MiB unpacked"):
        models.install_file(big, tmp_path / "m", limits=models.Limits(unpacked_bytes=32 * MIB, ratio=1000))
    with pytest.raises(ModelError, match="compressed"):
        models.install_file(big, tmp_path / "m")  # 40 MiB from 0.4 MB
    assert _nothing_left(tmp_path / "m")
    # Under the floor, a well-compressed file is fine (vocabularies compress 4 : 1).
    small = tmp_path / "small.argosmodel"
    _write_zip(small, _package_entries(tiny_package, **{"pad.bin": _deflated_zeros(8)}))
    assert models.install_file(small, tmp_path / "m").version == "0.1"


def test_an_archive_of_too_many_files_is_refused(tmp_path, tiny_package):
    many = tmp_path / "many.argosmodel"
    empty = _entry_bytes(b"")
    _write_zip(many, _package_entries(tiny_package, **{f"x/{i}": empty for i in range(10_001)}))
    with pytest.raises(ModelError, match="holds 10008 files; a package has a few dozen"):
        models.install_file(many, tmp_path / "m")
    assert _nothing_left(tmp_path / "m")


def test_an_archive_whose_directory_lies_about_sizes_is_refused(tmp_path, tiny_package):
    """A model.bin declared as 1 KB whose data inflates to 64 MiB: extraction stops at the lie."""
    data, crc, _ = _deflated_zeros(64)
    liar = tmp_path / "liar.argosmodel"
    _write_zip(liar, _package_entries(tiny_package, **{"model/model.bin": (data, crc, 1024)}))
    with pytest.raises(ModelError):
        models.install_file(liar, tmp_path / "m")
    assert _nothing_left(tmp_path / "m")


def test_a_huge_metadata_json_is_refused_without_being_read(tmp_path, tiny_package):
    """Issue 23: a 5 MB archive with a 600 MiB padded metadata.json made every later command use
    1.27 GB. Refused from the archive's directory: the install reads none of it."""
    head = b'{"from_code": "zh", "to_code": "en", "package_version": "0.1", "pad": "'
    padded = tmp_path / "padded.argosmodel"
    metadata = _deflated(b" " * MIB, 600, head, b'"}')
    _write_zip(padded, _package_entries(tiny_package, **{"metadata.json": metadata}))
    tracemalloc.start()
    try:
        with pytest.raises(ModelError, match=r"metadata\.json unpacks to 629145673 bytes"):
            models.install_file(padded, tmp_path / "m")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * MIB, peak
    assert _nothing_left(tmp_path / "m")
    r = run_cli(["models", "install", str(padded), "--models-dir", str(tmp_path / "m")])
    assert r.returncode == 4 and b"metadata.json unpacks to" in r.stderr, r.stderr


def test_a_huge_installed_metadata_json_is_never_read_whole(tmp_path, tiny_package):
    """A package folder whose metadata.json is 600 MiB (installed before the limit, or by hand):
    listing, verifying and loading the models read at most the limit of it, and name it."""
    models.install_file(tiny_package, tmp_path / "m")
    (info,) = models.installed(tmp_path / "m")
    with (info.path / "metadata.json").open("r+b") as f:
        f.seek(600 * MIB)
        f.write(b" ")  # sparse: no 600 MiB on disk
    tracemalloc.start()
    try:
        found, bad = models.scan(tmp_path / "m")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MIB, peak
    assert found == [] and [path for path, _ in bad] == [info.path] and "larger than" in bad[0][1]
    r = run_cli(["models", "verify", "--models-dir", str(tmp_path / "m")])
    assert r.returncode == 4 and b"not a usable package" in r.stdout, r.stdout
    r = run_cli(["models", "list", "--models-dir", str(tmp_path / "m")])
    assert r.returncode == 0 and b"not usable" in r.stdout


def _garbage_package(tiny_package, path, model_bin: bytes):
    _write_zip(path, _package_entries(tiny_package, **{"model/model.bin": _entry_bytes(model_bin)}))
    return path


@pytest.mark.parametrize(
    "garbage, why",
    [
        (bytes(range(256)) * 64, "binary version"),
        (b"", "inside its header"),
        (struct.pack("<I", 6) + b"\x10\x00TransformerSpec\x00" + struct.pack("<II", 7, 0), "no variables"),
    ],
)
def test_a_garbage_model_bin_is_refused_at_install(tmp_path, tiny_package, garbage, why):
    package = _garbage_package(tiny_package, tmp_path / "g.argosmodel", garbage)
    with pytest.raises(ModelError, match=f"model/model.bin is not a CTranslate2 model: .*{why}"):
        models.install_file(package, tmp_path / "m")
    assert _nothing_left(tmp_path / "m")


def test_a_truncated_or_damaged_model_bin_fails_verify(tmp_path, tiny_package):
    """Issue 23: `models verify` said ok for a garbage model.bin (its install record matched).
    Here the record is rewritten to match, as an install before the header check would have."""
    models.install_file(tiny_package, tmp_path / "m")
    (info,) = models.installed(tmp_path / "m")
    model_bin = info.path / "model" / "model.bin"
    good = model_bin.read_bytes()
    for damaged, why in (
        (good[: len(good) // 2], "runs past the end"),
        (b"\x00" * len(good), "binary version 0"),
    ):
        model_bin.write_bytes(damaged)
        record = info.path / models.INSTALL_RECORD
        files = json.loads(record.read_text())["files"]
        files["model/model.bin"] = {"size": len(damaged), "sha256": models.file_digests(model_bin)["sha256"]}
        record.write_text(json.dumps({"files": files}))
        (check,) = models.verify(tmp_path / "m")
        assert not check.ok and any(why in p for p in check.problems), check.problems
        r = run_cli(["models", "verify", "--models-dir", str(tmp_path / "m")])
        assert r.returncode == 4 and b"model/model.bin is not a CTranslate2 model" in r.stdout, r.stdout


def _header(version, variables, aliases=()):
    def string(text):
        raw = text.encode() + b"\x00"
        return struct.pack("<H", len(raw)) + raw

    out = struct.pack("<I", version)
    if version >= 2:
        out += string("TransformerSpec") + struct.pack("<I", 7)
    out += struct.pack("<I", len(variables))
    for name, shape, dtype, data in variables:
        out += string(name) + struct.pack("<B", len(shape)) + struct.pack(f"<{len(shape)}I", *shape)
        if version >= 4:
            out += struct.pack("<BI", dtype, len(data))
        else:
            out += struct.pack("<BI", dtype, len(data) // dtype)  # item size, item count
        out += data
    if version >= 3:
        out += struct.pack("<I", len(aliases)) + b"".join(string(a) + string(b) for a, b in aliases)
    return out


def test_the_header_reader_follows_ctranslate2s_layout(tmp_path):
    """Binary versions 1–3 (item sizes), 4+ (data type ids), aliases; the shapes come back."""
    path = tmp_path / "model.bin"
    enc = ("encoder/position_encodings/encodings", (64, 2), 0, bytes(64 * 2 * 4))
    path.write_bytes(_header(6, [enc, ("w", (3,), 1, b"abc")], [("x", "w")]))
    header = models.read_model_header(path)
    assert (header.binary_version, header.spec, header.revision) == (6, "TransformerSpec", 7)
    assert header.variables == {"encoder/position_encodings/encodings": (64, 2), "w": (3,)}
    path.write_bytes(_header(3, [("w", (2, 2), 4, bytes(16))]))  # item size 4, 4 items
    assert models.read_model_header(path).variables == {"w": (2, 2)}
    path.write_bytes(_header(1, [("w", (2,), 2, bytes(4))]))
    assert models.read_model_header(path).spec == ""
    for bad, why in (
        (_header(6, [("w", (3,), 1, b"abcd")]), "holds 4 bytes"),
        (_header(6, [("w", (3,), 9, b"abc")]), "unknown data type"),
        (_header(7, [("w", (3,), 1, b"abc")]), "binary version 7"),
        (_header(6, [("w", (3,), 1, b"abc")])[:-5], "runs past the end"),
    ):
        path.write_bytes(bad)
        with pytest.raises(ModelError, match=why):
            models.read_model_header(path)


def _repacked(tiny_package, path, version):
    """The tiny package as another version of the same pair."""
    top = f"translate-zh_en-{version.replace('.', '_')}"
    with zipfile.ZipFile(tiny_package) as z:
        meta = json.loads(next(z.read(n) for n in z.namelist() if n.endswith("/metadata.json")))
    meta["package_version"] = version
    _write_zip(
        path,
        _package_entries(tiny_package, top, **{"metadata.json": _entry_bytes(json.dumps(meta).encode())}),
    )
    return path


def test_a_second_package_for_a_pair_needs_replace(tmp_path, tiny_package):
    """Issue 23: installing a second zh→en package silently replaced the first. One package per
    pair is used, so the CLI refuses (exit 4, saying what is installed) unless --replace is given,
    and then says what it replaced."""
    second = _repacked(tiny_package, tmp_path / "translate-zh_en-0_2.argosmodel", "0.2")
    models_dir = str(tmp_path / "m")
    assert run_cli(["models", "install", str(tiny_package), "--models-dir", models_dir]).returncode == 0
    r = run_cli(["models", "install", str(second), "--models-dir", models_dir])
    assert r.returncode == 4, r.stderr
    assert b"translate-zh_en 0.1 (zh\xe2\x86\x92en) is already installed" in r.stderr
    assert b"add --replace to replace it with 0.2" in r.stderr
    assert [p.version for p in models.installed(models_dir)] == ["0.1"]
    r = run_cli(["models", "install", str(second), "--replace", "--models-dir", models_dir])
    assert r.returncode == 0 and b"it replaces translate-zh_en 0.1" in r.stdout, r.stdout
    assert [p.version for p in models.installed(models_dir)] == ["0.2"]


def test_setup_says_what_it_found_when_there_is_nothing_to_do(tmp_path, tiny_package):
    """Issue 23: `models setup` printed nothing when there was nothing to do."""
    models_dir = tmp_path / "m"
    models.install_file(tiny_package, models_dir)
    empty = tmp_path / "no-packages-here"
    empty.mkdir()
    r = run_cli(
        ["models", "setup", "--offline", "--models-dir", str(models_dir), "--model-sources", str(empty)]
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.decode().splitlines()
    assert lines[0] == f"no .argosmodel files in {empty}"
    assert lines[-1] == f"nothing to do: 1 package installed in {models_dir}: translate-zh_en 0.1 (zh→en)"
    # A second version in the sources does not replace the installed one.
    _repacked(tiny_package, empty / "translate-zh_en-0_2.argosmodel", "0.2")
    r = run_cli(
        ["models", "setup", "--offline", "--models-dir", str(models_dir), "--model-sources", str(empty)]
    )
    skipped = "translate-zh_en 0.1 is installed for zh→en (to use this one instead: transnorm models install"
    assert skipped in r.stdout.decode(), r.stdout
    assert [p.version for p in models.installed(models_dir)] == ["0.1"]


def test_an_unreadable_models_folder_is_a_model_error(tmp_path, monkeypatch, capsys):
    """Issue 23: an unreadable models folder gave "internal error" (exit 1); exit 4 is documented."""
    from pathlib import Path

    from transnorm import cli

    folder = tmp_path / "m"
    folder.mkdir()
    real = Path.iterdir

    def iterdir(self):
        if self == folder:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    for args in (["models", "list"], ["models", "verify"], ["normalize", "-"]):
        monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"Hello.")))
        assert cli.main([*args, "--models-dir", str(folder)]) == 4, args
        err = capsys.readouterr().err
        assert f"cannot read the models folder {folder}: Permission denied" in err, err
    file = tmp_path / "file"
    file.write_text("x")
    assert cli.main(["models", "list", "--models-dir", str(file)]) == 4
    assert "is not a folder" in capsys.readouterr().err


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_an_unreadable_models_folder_as_another_user(tmp_path):
    """The same, for real: a folder the user running transnorm may not read."""
    base = Path(tempfile.mkdtemp(prefix="transnorm-perm-"))
    try:
        base.chmod(0o755)
        folder = base / "m"
        folder.mkdir(mode=0o700)
        nobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
        probe = subprocess.run([*nobody, sys.executable, "-c", "import transnorm"], capture_output=True)
        if probe.returncode != 0:
            pytest.skip(f"the nobody user cannot run this checkout: {probe.stderr[-200:]!r}")
        r = subprocess.run(
            [*nobody, sys.executable, "-m", "transnorm", "models", "list", "--models-dir", str(folder)],
            capture_output=True,
            env={**os.environ, "HOME": str(base)},
        )
        assert r.returncode == 4 and b"cannot read the models folder" in r.stderr, r.stderr
    finally:
        shutil.rmtree(base)
