"""A WSGI app that is slow on request, for the worker's deadlines under a real gunicorn
(``--pythonpath tests slow_app:app``): ``/sleep?s=N`` answers after N seconds, anything else at once."""

from __future__ import annotations

import time
import urllib.parse


def app(environ, start_response):  # type: ignore[no-untyped-def]
    if environ["PATH_INFO"] == "/sleep":
        query = urllib.parse.parse_qs(environ.get("QUERY_STRING", ""))
        time.sleep(float(query.get("s", ["30"])[0]))
    body = b"done\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
