"""Documentation generated from the code: the settings table (``docs/settings.md``) and the
endpoint table (``docs/http.md``).

``python -m transnorm.devtools.docs`` prints both, ``… --update [DOCS]`` rewrites them in place
in the pages under ``DOCS`` (default ``docs``); tests check that the pages have them verbatim.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..settings import Settings, commands, env_name, flag_name, setting_fields


def _default(name: str) -> str:
    spec = next(spec for _, field, spec in setting_fields() if field == name)
    if spec.default_factory is not None:
        return "`~/.local/share/transnorm/packages`" if name == "models_dir" else "(computed)"
    value = spec.default
    if value is None:
        return "(none)" if name != "manifest" else "(the packaged one)"
    if isinstance(value, tuple):
        sep = os.pathsep if name == "model_sources" else ","
        return f"`{sep.join(map(str, value))}`" if value else "(none)"
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, Path):
        return f"`{value}`"
    return f"`{value}`"


def _commands(name: str) -> str:
    return ", ".join(commands(name))


def settings_table() -> str:
    """Every setting: its variable, its flag and the subcommands that take it, default, meaning."""
    rows = ["| variable | flag (subcommands) | default | meaning |", "|---|---|---|---|"]
    for _, name, spec in setting_fields():
        flag = f"`{flag_name(name)}` ({_commands(name)})" if commands(name) else "(none)"
        rows.append(f"| `{env_name(name)}` | {flag} | {_default(name)} | {spec.description} |")
    return "\n".join(rows) + "\n"


ACCESS = {
    "open": "open",
    "key": "API key¹",
    "libretranslate": "`api_key`²",
}


def endpoint_table(document: dict[str, Any] | None = None) -> str:
    """Every operation of the OpenAPI document: path, summary and description, access, rate limit."""
    document = document or openapi_document()
    rows = ["| endpoint | what | access | limited³ |", "|---|---|---|---|"]
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            what = op["summary"] + (f". {op['description']}" if op.get("description") else "")
            limited = "yes" if "429" in op["responses"] else ""
            what = what.replace("|", "\\|")
            rows.append(f"| `{method.upper()} {path}` | {what} | {ACCESS[op['x-access']]} | {limited} |")
    return "\n".join(rows) + "\n"


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document of an app with default settings and no models."""
    from ..engine import NoEngine
    from ..pipeline import Pipeline
    from ..server import create_app
    from ..server.openapi import spec

    settings = Settings()
    app = create_app(settings, Pipeline(settings, engine=NoEngine()), background=False)
    with app.app_context():
        return spec(app)


#: Which page holds which generated table.
PAGES = {"settings.md": settings_table, "http.md": endpoint_table}


def replace_table(page: str, table: str) -> str:
    """``page`` with the table that starts with ``table``'s header line replaced by ``table``."""
    lines = page.split("\n")
    header = table.split("\n", 1)[0]
    start = lines.index(header)
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    lines[start:end] = table.rstrip("\n").split("\n")
    return "\n".join(lines)


def update(docs: Path) -> None:
    """Rewrite each generated table in its page under ``docs``."""
    for name, table in PAGES.items():
        page = docs / name
        page.write_text(replace_table(page.read_text(encoding="utf-8"), table()), encoding="utf-8")


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--update"]:
        update(Path(sys.argv[2] if len(sys.argv) > 2 else "docs"))
    else:
        print(settings_table())
        print(endpoint_table(), end="")
