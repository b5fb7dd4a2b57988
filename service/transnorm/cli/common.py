"""What every subcommand shares: exit codes, the settings and options read back from the parsed
flags, and the one way to print a message on standard error."""

from __future__ import annotations

import argparse
import sys

from pydantic import ValidationError

from ..files import terminal
from ..options import Options
from ..settings import SECTIONS, Settings, SettingsError, describe

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT, EXIT_MODEL, EXIT_INCOMPLETE = 0, 1, 2, 3, 4, 5


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings: the environment, with the command's flags winning."""
    sections = {}
    for name, source in getattr(args, "_setting_sources", {}).items():
        try:
            sections[name] = SECTIONS[name][0](_cli_settings_source=source(parsed_args=args))
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None
    return Settings(**sections)


def options_of(args: argparse.Namespace, fmt: str) -> Options:
    """The document options the flags give (each checked by :class:`Options`)."""
    given = {name: getattr(args, f"option_{name}", None) for name in Options.model_fields}
    return Options.merged({k: v for k, v in given.items() if v is not None}, {"format": fmt})


def say(message: str) -> None:
    """A message on standard error, as one line whatever names it holds (no terminal control)."""
    print(terminal(message), file=sys.stderr)
