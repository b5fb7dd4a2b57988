"""One contract: the app's routes, their declared policies, /openapi.json and the README agree
by construction — checked here from each side."""

from __future__ import annotations

import pytest
from transnorm import Settings
from transnorm.options import Options
from transnorm.server.declare import declaration


@pytest.fixture
def app(make_app):
    return make_app(Settings(api_keys=("k1",), requests_per_minute=1000))


def _operations(app):
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            yield rule, method


def test_every_route_is_in_the_spec_and_nothing_else(app):
    spec = app.test_client().get("/openapi.json").json
    routes = {(rule.rule, method.lower()) for rule, method in _operations(app)}
    documented = {(path, method) for path, methods in spec["paths"].items() for method in methods}
    assert routes == documented
    assert "/translate" in spec["paths"] and "/detect" in spec["paths"]  # LibreTranslate included


def test_every_route_is_declared(app):
    for rule, _ in _operations(app):
        assert declaration(app, rule.endpoint) is not None, rule.rule


def test_query_parameters_are_the_options_schema(app):
    spec = app.test_client().get("/openapi.json").json
    params = {p["name"]: p for p in spec["paths"]["/v1/normalize"]["post"]["parameters"]}
    assert {"source", "target", "beam_size", "alternatives", "markers", "chrome", "errors"} <= set(params)
    fields = Options.model_json_schema()["properties"]
    assert params["markers"]["schema"]["enum"] == fields["markers"]["enum"]
    assert params["beam_size"]["schema"]["maximum"] == fields["beam_size"]["anyOf"][0]["maximum"]
    assert params["source"]["schema"]["pattern"] == fields["source"]["pattern"]


def test_detection_languages_are_the_detectors(app, detector):
    body = app.test_client().get("/v1/languages").json
    assert body["detection"] == list(detector.languages)
    assert {"zt", "pb", "nb", "sq", "eo"} <= set(body["detection"])  # the ones the old list missed


def test_access_and_limits_follow_the_declarations(app):
    """Each declared policy, tried on every route: key routes 401 without a key, LibreTranslate
    routes 400/403 on their api_key, open routes never ask; limited routes count."""
    client = app.test_client()
    for rule, method in _operations(app):
        decl = declaration(app, rule.endpoint)
        r = client.open(rule.rule, method=method, json={} if method == "POST" else None)
        if decl.access == "key":
            assert r.status_code == 401, rule.rule
        elif decl.access == "libretranslate":
            assert r.status_code == 400 and "get an API key" in r.json["error"], rule.rule
            r = client.open(rule.rule, method=method, json={"api_key": "wrong"})
            assert r.status_code == 403 and r.json == {"error": "Invalid API key"}, rule.rule
        else:
            assert r.status_code not in (401, 403) or rule.rule == "/suggest", rule.rule


def test_error_format_follows_the_blueprint(app):
    client = app.test_client()
    for rule in app.url_map.iter_rules():
        r = client.open(rule.rule, method="PUT")
        assert r.status_code == 405
        if rule.endpoint.startswith("libretranslate."):
            assert r.mimetype == "application/json" and set(r.json) == {"error"}, rule.rule
        else:
            assert r.mimetype == "application/problem+json" and r.json["status"] == 405, rule.rule


def test_metrics_cover_every_endpoint(app):
    client = app.test_client()
    for rule, method in _operations(app):
        client.open(rule.rule, method=method, headers={"X-API-Key": "k1"})
    metrics = client.get("/metrics").get_data(as_text=True)
    for rule, _ in _operations(app):
        assert f'transnorm_http_requests_total{{endpoint="{rule.rule}"' in metrics, rule.rule
