"""The LibreTranslate-compatible API: semantics through Flask's client, then the unmodified
``libretranslatepy`` client from PyPI against the real gunicorn server."""

from __future__ import annotations

import re

import pytest
from conftest import FakeEngine
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from transnorm import Pipeline, Settings
from transnorm.server import create_app

HAN = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def client(detector):
    pipeline = Pipeline(Settings(), engine=FakeEngine(), detector=detector)
    return create_app(
        Settings(max_bytes=1000, max_batch_documents=3), pipeline, background=False
    ).test_client()


def test_auto_translates_each_foreign_span_and_leaves_english(client):
    r = client.post(
        "/translate", data={"q": "Hello there. 科尔图诺夫。 Goodbye.", "source": "auto", "target": "en"}
    )
    body = r.json
    assert r.status_code == 200
    assert body["translatedText"].startswith("Hello there. ") and body["translatedText"].endswith(" Goodbye.")
    assert not HAN.search(body["translatedText"])
    assert body["detectedLanguage"]["language"] == "zh" and 0 < body["detectedLanguage"]["confidence"] <= 100


def test_list_of_items_detects_each_item(client):
    r = client.post(
        "/translate", json={"q": ["Plain English text here.", "科尔图诺夫。", "Это тест."], "source": "auto"}
    )
    body = r.json
    assert isinstance(body["translatedText"], list) and len(body["translatedText"]) == 3
    assert body["translatedText"][0] == "Plain English text here."
    assert [d["language"] for d in body["detectedLanguage"]] == ["en", "zh", "ru"]


def test_explicit_source_translates_everything_as_that_language(client):
    r = client.post("/translate", json={"q": "Beijing 科尔图诺夫。", "source": "zh", "target": "en"})
    assert r.status_code == 200 and "detectedLanguage" not in r.json
    assert "Beijing" not in r.json["translatedText"]  # the whole text went to the model as Chinese
    r = client.post("/translate", json={"q": "Already English.", "source": "en", "target": "en"})
    assert r.json["translatedText"] == "Already English."


def test_html_translates_text_nodes_only(client):
    q = '<p class="x">Hello <b>科尔图诺夫。</b> &amp; more</p><script>var s = "科";</script>'
    r = client.post("/translate", json={"q": q, "source": "auto", "format": "html"})
    out = r.json["translatedText"]
    assert out.startswith('<p class="x">Hello <b>') and out.endswith(
        '</b> &amp; more</p><script>var s = "科";</script>'
    )
    assert not HAN.search(out.split("<script>")[0])


def test_alternatives_replace_translated_spans_and_keep_the_english(client):
    q = "Hello there. 科尔图诺夫。 Goodbye."
    r = client.post("/translate", json={"q": q, "source": "auto", "alternatives": 2})
    main, alternatives = r.json["translatedText"], r.json["alternatives"]
    assert len(alternatives) == 2 and main not in alternatives and len(set(alternatives)) == 2
    for alt in alternatives:
        assert alt.startswith("Hello there. ") and alt.endswith(" Goodbye.") and not HAN.search(alt)
    r = client.post("/translate", json={"q": [q, "All English."], "source": "auto", "alternatives": 1})
    assert r.json["alternatives"][0] == alternatives[:1] and r.json["alternatives"][1] == []
    r = client.post("/translate", json={"q": q, "source": "auto"})
    assert "alternatives" not in r.json and r.json["translatedText"] == main


def test_html_alternatives_keep_the_markup(client):
    q = "<p>Hi <b>科尔图诺夫。</b></p>"
    r = client.post("/translate", json={"q": q, "format": "html", "alternatives": 1})
    (alt,) = r.json["alternatives"]
    assert alt != r.json["translatedText"]
    assert alt.startswith("<p>Hi <b>") and alt.endswith("</b></p>") and not HAN.search(alt)


@pytest.mark.parametrize(
    "kwargs, status, message",
    [
        ({"json": {"q": "", "source": "auto"}}, 400, "missing q"),
        ({"json": {"source": "auto"}}, 400, "missing q"),
        ({"json": {"q": 5}}, 400, "q must be"),
        ({"json": {"q": "x", "target": "es"}}, 400, "not supported as a target"),
        ({"json": {"q": "x", "source": "ja"}}, 400, "no ja→en package"),
        ({"json": {"q": "x", "format": "pdf"}}, 400, "format"),
        ({"json": {"q": "x", "alternatives": "many"}}, 400, "alternatives"),
        ({"json": {"q": "x", "alternatives": 99}}, 400, "alternatives must be from 0 to 8"),
        (
            {"data": b'{"q": "x", "alternatives": Infinity}', "content_type": "application/json"},
            400,
            "integer",
        ),
        ({"data": b'{"q": "x", "alternatives": 1e400}', "content_type": "application/json"}, 400, "integer"),
        ({"json": {"q": "x", "alternatives": True}}, 400, "integer"),
        ({"data": {"q": "x", "alternatives": "inf"}}, 400, "integer"),
        ({"data": {"q": "x" * 200_000}}, 413, "larger than the limit"),
        ({"json": {"q": "x" * 2000}}, 400, "character limit"),
        ({"json": {"q": ["a"] * 4}}, 400, "text limit"),
        ({"data": b"[1]", "content_type": "application/json"}, 400, "object"),
        ({"data": b"{bad", "content_type": "application/json"}, 400, "object"),
        ({"json": {"q": "x", "source": "not a code!"}}, 400, "Invalid request"),
    ],
)
def test_errors_are_libretranslate_shaped(client, kwargs, status, message):
    r = client.post("/translate", **kwargs)
    assert r.status_code == status and set(r.json) == {"error"}
    assert message in r.json["error"]


_anything = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 20),
    st.floats(allow_nan=True),
    st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, 2.0, "2", " 3 ", "-1"]),
    st.text(max_size=12),
)


def _mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Valid values three times in four, anything at all otherwise."""
    return st.one_of(valid, valid, valid, _anything)


_text = st.text(st.characters(codec="utf-8"), min_size=1, max_size=200) | st.sampled_from(
    ["科尔图诺夫。", "Hello. 首先我们要明白。", "<p>Hi <b>科尔图诺夫。</b></p>", "Озвучить текст"]
)
_params = st.fixed_dictionaries(
    {"q": _mostly(_text | st.lists(_text, min_size=1, max_size=4))},
    optional={
        "source": _mostly(st.sampled_from(["auto", "en", "zh", "ru", "fr", "zh-Hant"])),
        "target": _mostly(st.sampled_from(["en", "en", "fr", "zh"])),
        "format": _mostly(st.sampled_from(["text", "html"])),
        "alternatives": _mostly(st.integers(0, 8)),
        "api_key": _anything,
        "unknown": _anything,
    },
)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=_params, as_form=st.booleans(), path=st.sampled_from(["/translate", "/detect"]))
def test_any_parameters_get_a_result_or_a_libretranslate_error(client, params, as_form, path):
    if as_form:  # a form carries strings only (a list q becomes repeated fields)
        form = {k: v if isinstance(v, list) else str(v) for k, v in params.items()}
        form = {k: [str(x) for x in v] if isinstance(v, list) else v for k, v in form.items()}
        r = client.post(path, data=form)
    else:
        r = client.post(path, json=params)
    event(f"{path} {r.status_code}")
    assert r.status_code in (200, 400), r.get_data(as_text=True)
    body = r.json
    if r.status_code == 400:
        assert set(body) == {"error"} and body["error"]
    elif path == "/detect":
        assert body and all(0 <= x["confidence"] <= 100 for x in body)
    else:
        sent = params["q"] if not as_form else form["q"]
        many = isinstance(sent, list) and (not as_form or len(sent) > 1)
        assert isinstance(body["translatedText"], list if many else str)
        if many:
            assert len(body["translatedText"]) == len(sent)


def test_wrong_method_and_unknown_failures_are_libretranslate_shaped(client, monkeypatch):
    r = client.get("/translate")
    assert r.status_code == 405 and set(r.json) == {"error"} and "POST" in r.headers["Allow"]
    monkeypatch.setattr("transnorm.server.libretranslate.detected", lambda docs: 1 / 0)
    r = client.post("/translate", json={"q": "科尔图诺夫。"})
    assert r.status_code == 500 and r.json == {"error": "Internal error; it has been logged"}


def test_detect_languages_and_settings(client):
    ranked = client.post(
        "/detect", data={"q": "Le président a déclaré que la situation reste très tendue."}
    ).json
    assert ranked[0]["language"] == "fr" and 0 < ranked[0]["confidence"] <= 100
    mixed = client.post(
        "/detect", json={"q": "Mostly English text, quite a lot of it here. 科尔图诺夫。"}
    ).json
    assert [x["language"] for x in mixed][:2] == ["en", "zh"]
    assert mixed[0]["confidence"] >= mixed[1]["confidence"]
    langs = client.get("/languages").json
    assert {"code": "zh", "name": "Chinese", "targets": ["en"]} in langs
    settings = client.get("/frontend/settings").json
    assert settings["charLimit"] == 1000 and settings["keyRequired"] is False


def test_api_key_parameter(detector):
    pipeline = Pipeline(Settings(), engine=FakeEngine(), detector=detector)
    client = create_app(Settings(api_keys=("secret",)), pipeline, background=False).test_client()
    r = client.post("/translate", data={"q": "x", "source": "auto"})
    assert r.status_code == 403 and r.json == {"error": "Invalid API key"}
    assert client.post("/translate", data={"q": "x", "api_key": "nope"}).status_code == 403
    assert client.post("/translate", data={"q": "x", "api_key": "secret"}).status_code == 200
    assert client.get("/frontend/settings").json["keyRequired"] is True


def test_unmodified_libretranslatepy_client(server):
    from libretranslatepy import LibreTranslateAPI

    lt = LibreTranslateAPI(server)
    english = lt.translate("科尔图诺夫。", "zh", "en")
    assert english and not HAN.search(english)
    mixed = lt.translate("Koltunov spoke to reporters. 科尔图诺夫对记者表示。 He left early.", "auto", "en")
    assert mixed.startswith("Koltunov spoke to reporters. ") and mixed.endswith(" He left early.")
    assert not HAN.search(mixed)
    assert lt.detect("Le président a déclaré que la situation reste très tendue.")[0]["language"] == "fr"
    languages = lt.languages()
    assert {"code": "zh", "name": "Chinese", "targets": ["en"]} in languages
