"""Documentation generated from the code: the README's settings table.

``python -m transnorm.devtools.docs`` prints it; a test checks that the README has it verbatim.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..settings import Settings, commands, env_name, flag_name


def _default(name: str) -> str:
    spec = Settings.model_fields[name]
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
    for name, spec in Settings.model_fields.items():
        flag = f"`{flag_name(name)}` ({_commands(name)})" if commands(name) else "(none)"
        rows.append(f"| `{env_name(name)}` | {flag} | {_default(name)} | {spec.description} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":
    print(settings_table(), end="")
