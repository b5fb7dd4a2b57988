"""The command line's flags: a parser per subcommand. Setting flags are derived from
:class:`~transnorm.settings.Settings` and document-option flags from :class:`~transnorm.options.Options`,
so that neither is written twice."""

from __future__ import annotations

import argparse
import os
import typing
from pathlib import Path

from pydantic_settings import CliSettingsSource

from ..options import Options
from ..settings import SECTIONS

#: Options without a flag of their own: the beam size is the --beam-size setting.
CLI_FIXED_OPTIONS: frozenset[str] = frozenset({"beam_size"})


def build_parser() -> argparse.ArgumentParser:
    """The ``transnorm`` parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="transnorm",
        description="Find foreign spans in mostly-English documents, translate them offline, "
        "and return English with provenance.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_normalize, _batch, _models, _serve, _bench, _evaluate):
        add(sub)
    return parser


def setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of the settings sections ``command`` takes (pydantic-settings' CLI source adds
    them to the parser and :func:`~transnorm.cli.common.settings_of` reads them back)."""
    sources = {
        name: CliSettingsSource(model, root_parser=parser, cli_prog_name="transnorm")
        for name, (model, takers) in SECTIONS.items()
        if command in takers or command.split()[0] in takers
    }
    parser.set_defaults(_setting_sources=sources)


def document_flags(parser: argparse.ArgumentParser, multi_format: bool = False) -> None:
    """A flag per document option, derived from :class:`Options` (``--format`` is the batch's own:
    it takes several)."""
    group = parser.add_argument_group("document options")
    for name, spec in Options.model_fields.items():
        if name in CLI_FIXED_OPTIONS or (multi_format and name == "format"):
            continue
        literal = typing.get_origin(spec.annotation) is typing.Literal
        choices = typing.get_args(spec.annotation) if literal else None
        kind = int if spec.default is not None and isinstance(spec.default, int) else str
        group.add_argument(
            "--" + name.replace("_", "-"),
            dest=f"option_{name}",
            type=None if choices else kind,
            choices=choices,
            default=None,
            metavar=None if choices else name.upper(),
            help=f"{spec.description} (default: {spec.default})",
        )


Subparsers = typing.Any  # argparse's _SubParsersAction, private


def _normalize(sub: Subparsers) -> None:
    p = sub.add_parser("normalize", help="normalize one document (a file, or - for stdin)")
    p.add_argument("file", nargs="?", default="-", help="input file, or - for standard input")
    p.add_argument(
        "-o", "--output", type=Path, help="write this file instead of standard output (its folder must exist)"
    )
    p.add_argument("--parents", action="store_true", help="create the missing folders of --output")
    p.add_argument("--id", help="document id to put in the result")
    p.add_argument(
        "--jsonl",
        action="store_true",
        help='the input is JSON lines, {"id", "text", "options"?} each; one result line per line, in order',
    )
    p.add_argument(
        "--fail-incomplete", action="store_true", help="exit 5 if any foreign span is untranslated"
    )
    document_flags(p)
    setting_flags(p, "normalize")


def _batch(sub: Subparsers) -> None:
    p = sub.add_parser("batch", help="normalize every file of a folder")
    p.add_argument(
        "input",
        type=Path,
        help="folder of documents (.jsonl files in it are streams of documents), or one .jsonl file",
    )
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="cores to use: worker processes, and translation threads (default: all cores)",
    )
    p.add_argument("--format", default="json,text", help="comma-separated formats: json,text,html")
    p.add_argument("--follow-symlinks", action="store_true", help="also read symbolic links")
    p.add_argument(
        "--wait",
        action="store_true",
        help="wait for another run writing to --out to finish, instead of refusing",
    )
    document_flags(p, multi_format=True)
    setting_flags(p, "batch")


def _models(sub: Subparsers) -> None:
    p = sub.add_parser("models", help="list, install, verify or set up translation packages")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    m = msub.add_parser("list", help="installed packages, and the supported ones from the manifest")
    setting_flags(m, "models list")
    m = msub.add_parser("install", help="install a local .argosmodel file, or download a package by name")
    m.add_argument("package", help="path to an .argosmodel file, or a name such as translate-zh_en or zh")
    m.add_argument("--timeout", type=float, default=60.0, help="download timeout in seconds")
    m.add_argument("--replace", action="store_true", help="replace the package installed for the same pair")
    setting_flags(m, "models install")
    m = msub.add_parser("verify", help="check the installed packages against their install record")
    m.add_argument("--load", action="store_true", help="also load each model and translate a word")
    setting_flags(m, "models verify")
    m = msub.add_parser(
        "setup", help="install from models/*.argosmodel and TRANSNORM_MODEL_SOURCES, else from the index"
    )
    m.add_argument("--offline", action="store_true", help="never try the network")
    setting_flags(m, "models setup")


def _serve(sub: Subparsers) -> None:
    p = sub.add_parser("serve", help="run the HTTP service under gunicorn")
    setting_flags(p, "serve")


def _bench(sub: Subparsers) -> None:
    p = sub.add_parser("bench", help="benchmarks: translation, English pass-through, HTTP, memory, batch")
    p.add_argument("--quick", action="store_true", help="a short run: a subset of each section")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--only",
        default="translation,english,ipc,http,memory,batch,ray",
        help="comma-separated sections to run",
    )


def _evaluate(sub: Subparsers) -> None:
    p = sub.add_parser("evaluate", help="span-level detection precision/recall/F1 on a labelled set")
    p.add_argument("dataset", nargs="?", type=Path, help="labelled set (default: the built-in one)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
