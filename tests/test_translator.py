"""The translation process (transnorm.translator): the wire, shared batches across processes,
a killed or hung process never hanging a caller, restarts, and model errors confined to the
callers that need the model."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ROOT, FakeEngine
from transnorm import Settings
from transnorm.errors import ModelError
from transnorm.translate import Failure, Request, Translation
from transnorm.translator import (
    TranslatorClient,
    TranslatorError,
    TranslatorProcess,
    TranslatorServer,
    _decode_results,
    _encode_results,
    _Frames,
    listen,
)


def _until(condition, what: str, tries: int = 600) -> None:
    """Poll ``condition`` (bounded: a broken build fails instead of hanging)."""
    for _ in range(tries):
        if condition():
            return
        time.sleep(0.05)
    pytest.fail(f"timed out waiting for {what}")


class Gated(FakeEngine):
    """A fake engine whose calls wait while ``gate`` is closed; a sentence with 慢 waits for good,
    and the call count of each sentence is kept."""

    def __init__(self, langs=("zh", "ru")):
        super().__init__(langs)
        self.gate = threading.Event()
        self.gate.set()

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        if any("慢" in s for s in sentences):
            time.sleep(3600)
        self.gate.wait(60)
        return super().translate(lang, sentences, beam_size, target, alternatives)


class Unloadable(FakeEngine):
    """ru's package cannot be loaded."""

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        if lang == "ru":
            raise ModelError("cannot load translate-ru_en 9.9: model.bin is corrupt")
        return super().translate(lang, sentences, beam_size, target, alternatives)


@pytest.fixture
def in_thread(tmp_path):
    """A TranslatorServer over a Gated engine, serving from a thread of this process."""
    engine = Gated()
    server = TranslatorServer(engine)
    path = tmp_path / "socket"
    threading.Thread(target=server.serve, args=(listen(path),), daemon=True).start()
    return server, engine, path


# -- the wire -------------------------------------------------------------------------------------


def test_results_cross_the_wire_unchanged():
    results = [Translation("Hello.", 0.5, 3, ("Hi.",), True), Failure("boom"), Failure("gone", model=True)]
    assert _decode_results(_encode_results(results)) == results


def test_frames_refuse_anything_but_plain_values():
    a, b = socket.socketpair()
    with a, b:
        for message in ((1, "translate", [("zh", "x", "en", None, 0)]), {"k": [1.5, None, b"x"]}):
            payload = pickle.dumps(message)
            a.sendall(len(payload).to_bytes(4, "big") + payload)
            assert _Frames(b).read() == message
        payload = pickle.dumps(Request("zh", "x"))  # a class: could be any callable
        a.sendall(len(payload).to_bytes(4, "big") + payload)
        with pytest.raises(pickle.UnpicklingError, match="refused"):
            _Frames(b).read()


def test_the_socket_is_private_and_a_live_one_is_not_taken_over(in_thread, tmp_path):
    _, _, path = in_thread
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(TranslatorError, match="already listens"):
        listen(path)
    stale = tmp_path / "stale"
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(str(stale))  # a socket file nobody listens on, as a killed process leaves
    listen(stale).close()


def test_a_malformed_call_is_answered_with_an_error_not_a_crash(in_thread):
    _, _, path = in_thread
    client = TranslatorClient(path, timeout=10)
    conn = client._connection(time.monotonic() + 10)
    kind, payload = conn.call("translate", [("zh", 5, "en", None, 0)]).result(10)
    assert kind == "error" and "strings" in payload
    assert conn.call("explode", None).result(10)[0] == "error"
    assert client([Request("zh", "第一句。")])[0].text  # the connection still serves


# -- shared batches -------------------------------------------------------------------------------


def _one_sentence(path: str, text: str, out: multiprocessing.Queue) -> None:
    result = TranslatorClient(path, timeout=60)([Request("zh", text)])
    out.put((os.getpid(), text, result))


def test_one_sentence_calls_from_different_processes_share_a_batch(in_thread):
    """Two processes each send one sentence while the engine is busy: they are translated
    together, in one engine call, and each gets its own result back."""
    server, engine, path = in_thread
    engine.gate.clear()
    first = TranslatorClient(path, timeout=60)
    busy = threading.Thread(target=first, args=([Request("zh", "先到的句子。")],))
    busy.start()
    _until(lambda: engine.calls == [] and server.shared.stats().in_flight == 1, "the first call")
    context = multiprocessing.get_context("fork")
    out = context.Queue()
    senders = [
        context.Process(target=_one_sentence, args=(str(path), f"第{i}个进程的句子。", out)) for i in (1, 2)
    ]
    for p in senders:
        p.start()
    _until(lambda: server.shared.stats().in_flight == 3, "both processes' sentences to wait")
    engine.gate.set()
    answers = [out.get(timeout=60) for _ in senders]
    for p in senders:
        p.join(30)
    busy.join(30)
    assert engine.calls[-1] == ("zh", ["第1个进程的句子。", "第2个进程的句子。"]) or engine.calls[-1] == (
        "zh",
        ["第2个进程的句子。", "第1个进程的句子。"],
    )
    assert len({pid for pid, _, _ in answers}) == 2
    alone = FakeEngine().translate("zh", [text for _, text, _ in answers])
    assert [result[0] for _, _, result in answers] == alone  # each its own translation
    stats = server.shared.stats()
    assert stats.mixed_batches >= 1 and stats.in_flight == 0


def test_a_model_that_cannot_load_fails_only_the_callers_that_need_it(tmp_path):
    server = TranslatorServer(Unloadable())
    path = tmp_path / "socket"
    threading.Thread(target=server.serve, args=(listen(path),), daemon=True).start()
    client = TranslatorClient(path, timeout=10)
    with pytest.raises(ModelError, match=r"model\.bin is corrupt"):
        client([Request("zh", "第一句。"), Request("ru", "Привет.")])
    (only,) = client([Request("zh", "第一句。")])
    assert isinstance(only, Translation)


# -- a dead or hung translation process never hangs a caller --------------------------------------


@pytest.fixture
def forked(tmp_path):
    owner = TranslatorProcess(Settings(models_dir=tmp_path), tmp_path / "socket", engine=Gated()).start()
    yield owner
    owner.stop()


def test_a_killed_process_answers_its_in_flight_sentences_with_errors_and_is_restarted(forked):
    client = TranslatorClient(forked.path, timeout=60)
    answers: list = []
    call = threading.Thread(
        target=lambda: answers.append(client([Request("zh", "慢的句子。"), Request("zh", "x")]))
    )
    call.start()
    _until(lambda: client.status(10)["batches"]["in_flight"] == 2, "the sentences to be in flight")
    os.kill(forked.pid, signal.SIGKILL)
    call.join(30)
    assert not call.is_alive(), "the caller hung"
    ((slow, other),) = answers
    assert isinstance(slow, Failure) and isinstance(other, Failure) and "in flight" in slow.error
    old = forked.pid
    assert forked.restart_if_dead() and forked.pid != old and forked.restarts == 1
    assert isinstance(client([Request("zh", "第一句。")])[0], Translation)


def test_a_hung_process_fails_the_call_at_the_timeout(forked):
    client = TranslatorClient(forked.path, timeout=1.0)
    assert isinstance(client([Request("zh", "第一句。")])[0], Translation)
    os.kill(forked.pid, signal.SIGSTOP)
    try:
        (result,) = client([Request("zh", "第二句。")])
        assert isinstance(result, Failure) and "did not answer within 1 s" in result.error
    finally:
        os.kill(forked.pid, signal.SIGCONT)
    assert isinstance(client([Request("zh", "第三句。")])[0], Translation)


def test_the_watcher_restarts_a_process_that_dies(tmp_path):
    owner = (
        TranslatorProcess(Settings(models_dir=tmp_path), tmp_path / "s", engine=FakeEngine()).start().watch()
    )
    try:
        client = TranslatorClient(owner.path, timeout=30)
        first = client.status(10)["pid"]
        os.kill(first, signal.SIGKILL)
        _until(lambda: owner.restarts == 1, "the restart")
        assert client.status(10)["pid"] not in (first, None)
        assert isinstance(client([Request("zh", "第一句。")])[0], Translation)
    finally:
        owner.stop()
    assert not owner.path.exists()


def test_no_process_means_failures_after_the_timeout_and_a_clear_status_error(tmp_path):
    client = TranslatorClient(tmp_path / "nobody", timeout=0.3)
    (result,) = client([Request("zh", "第一句。")])
    assert isinstance(result, Failure) and "no translation process answers" in result.error
    with pytest.raises(TranslatorError, match="no translation process answers"):
        client.status(0.3)


# -- the real process: python -m transnorm.translator ----------------------------------------------


def test_the_host_process_serves_the_library_and_the_jsonl_stream(real_settings, tmp_path):
    """``python -m transnorm.translator`` holds the models; the library and ``normalize --jsonl``
    configured with its socket send it their sentences (and say so clearly when it is not there)."""
    path = tmp_path / "translator.sock"
    env = {
        **os.environ,
        "TRANSNORM_MODELS_DIR": str(real_settings.pipeline.models_dir),
        "TRANSNORM_COMPUTE_TYPE": "float32",
        "TRANSNORM_TRANSLATOR_SOCKET": str(path),
    }
    host = subprocess.Popen([sys.executable, "-m", "transnorm.translator"], env=env, cwd=ROOT)
    try:
        client = TranslatorClient(path, timeout=60)
        _until(lambda: path.is_socket() and _answers(client), "the host's translation process")
        line = '{"id": "a", "text": "Intro. 第一次会谈。"}\n'.encode()
        r = subprocess.run(
            [sys.executable, "-m", "transnorm", "normalize", "--jsonl"],
            input=line,
            env=env,
            cwd=ROOT,
            capture_output=True,
            timeout=120,
        )
        assert r.returncode == 0, r.stderr.decode()
        assert b'"action": "translated"' in r.stdout
        status = client.status(10)
        assert status["engine"]["loaded"] == ["translate-zh_en"] and status["batches"]["calls"] == 1
        from transnorm import Pipeline

        doc = Pipeline(real_settings.with_overrides(translator_socket=path))("Intro. 科尔图诺夫。".encode())
        assert doc.complete and client.status(10)["batches"]["calls"] == 2
    finally:
        host.terminate()
        host.wait(30)
    assert host.returncode == 0 and not path.exists()
    r = subprocess.run(
        [sys.executable, "-m", "transnorm", "normalize", "--jsonl"],
        input=b'{"text": "x"}\n',
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert r.returncode == 4 and b"no translation process answers at" in r.stderr


def _answers(client: TranslatorClient) -> bool:
    try:
        client.status(1)
        return True
    except TranslatorError:
        return False


class Released(FakeEngine):
    """A fake engine whose calls wait (at most a minute) until the file ``release`` exists."""

    def __init__(self, release: Path):
        super().__init__()
        self.release = release

    def translate(self, lang, sentences, beam_size=None, target="en", alternatives=0):
        for _ in range(6000):
            if self.release.exists():
                break
            time.sleep(0.01)
        return super().translate(lang, sentences, beam_size, target, alternatives)


def test_a_client_under_gevent_yields_while_it_waits(tmp_path):
    """HTTP workers are gevent workers: calls waiting for the translation process must let the
    other greenlets run (stdlib sockets, monkey-patched). Here the process answers only once
    another greenlet has run: a client that blocked the event loop would wait out the minute."""
    pytest.importorskip("gevent")
    release = tmp_path / "release"
    owner = TranslatorProcess(Settings(models_dir=tmp_path), tmp_path / "s", engine=Released(release)).start()
    code = f"""
from gevent import monkey; monkey.patch_all()
import gevent
from pathlib import Path
from transnorm.translate import Request
from transnorm.translator import TranslatorClient
client = TranslatorClient({str(owner.path)!r}, timeout=120)
events = []
def call(i):
    result = client([Request("zh", f"第{{i}}句。")])
    events.append("answered" if result[0].text else "failed")
def ticker():
    for _ in range(20):
        gevent.sleep(0.001)
    events.append("ticked")
    Path({str(release)!r}).touch()
greenlets = [gevent.spawn(call, i) for i in range(8)] + [gevent.spawn(ticker)]
gevent.joinall(greenlets, timeout=100)
print(events)
assert events == ["ticked"] + ["answered"] * 8, events
"""
    try:
        r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, timeout=150)
    finally:
        owner.stop()
    assert r.returncode == 0, (r.stdout + r.stderr).decode()[-2000:]
