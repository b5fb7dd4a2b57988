"""Route declarations: what each endpoint takes, answers and requires, stated where it is defined.

``@endpoint(...)`` on a view function records its summary, access policy, rate-limit cost,
request body, query parameters and responses. The middleware enforces the access policy and
the rate limit from the declaration, and :mod:`~transnorm.server.openapi` builds
``/openapi.json`` from the declarations of the routes the app really has — so the routes, the
policies and the documentation cannot drift apart. Error responses take the format of the
blueprint a route belongs to (LibreTranslate's ``{"error"}`` or problem+json).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Flask, Request
from pydantic import BaseModel
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

#: open: no key; key: X-API-Key or Bearer (401 without); libretranslate: the api_key parameter.
Access = Literal["open", "key", "libretranslate"]
#: A request body or response content: a model, or a JSON schema written out.
Content = type[BaseModel] | type | Mapping[str, Any]

LIBRETRANSLATE_BLUEPRINT = "libretranslate"


@dataclass(frozen=True)
class Param:
    name: str
    schema: Mapping[str, Any]
    description: str = ""


@dataclass(frozen=True)
class Endpoint:
    summary: str
    access: Access = "open"
    #: Counted against ``TRANSNORM_REQUESTS_PER_MINUTE``; ``cost`` gives a request's weight.
    limited: bool = False
    cost: Callable[[Request], int] | None = None
    body: Mapping[str, Content] = field(default_factory=dict)
    query: Sequence[Param] = ()
    responses: Mapping[int, tuple[str, Mapping[str, Content]]] = field(default_factory=dict)
    description: str = ""


def endpoint(summary: str, **declared: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare a view function (apply it under the route decorator)."""

    def attach(view: Callable[..., Any]) -> Callable[..., Any]:
        view.declaration = Endpoint(summary, **declared)  # type: ignore[attr-defined]
        return view

    return attach


def declaration(app: Flask, endpoint_name: str | None) -> Endpoint | None:
    view = app.view_functions.get(endpoint_name or "")
    return getattr(view, "declaration", None)


def route_endpoint(app: Flask, request: Request) -> str | None:
    """The endpoint of the request's path, even when its method is not allowed (405)."""
    if request.url_rule is not None:
        return request.url_rule.endpoint
    adapter = app.url_map.bind_to_environ(request.environ)
    try:
        name, _ = adapter.match()
        return str(name)
    except MethodNotAllowed as exc:
        for method in exc.valid_methods or ():
            try:
                name, _ = adapter.match(method=method)
                return str(name)
            except HTTPException:
                continue
    except (NotFound, HTTPException):
        pass
    return None


def error_style(app: Flask, request: Request) -> Literal["libretranslate", "problem"]:
    """The error format of the route a request addresses: its blueprint's."""
    name = route_endpoint(app, request) or ""
    return "libretranslate" if name.startswith(LIBRETRANSLATE_BLUEPRINT + ".") else "problem"
