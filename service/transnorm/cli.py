"""The ``transnorm`` command: a thin shell over the library.

Exit codes: 0 success; 1 a batch had failed files, an output could not be written, or an
internal error; 2 usage error (bad flag, option or setting, an ``-o`` that cannot be); 3 bad
input (invalid UTF-8, a page its charset cannot decode, too large, unreadable, a folder); 4 model
problem (a missing models folder too); 5 the result is incomplete and ``--fail-incomplete`` was
given; 128 + N stopped by signal N (143 SIGTERM, 130 SIGINT).

A file named ``.html`` or ``.htm`` is an HTML page (``--input-format`` says otherwise); so is one
that starts with ``<!doctype html`` or ``<html``.

Setting flags are derived from :class:`~transnorm.settings.Settings`: the field ``beam_size`` is
``--beam-size`` (and ``TRANSNORM_BEAM_SIZE``) wherever a subcommand takes it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import sys
import typing
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError
from pydantic_settings import CliSettingsSource

from .errors import InputError, ModelError, OptionsError, TransnormError
from .files import display, terminal
from .options import Options
from .settings import SECTIONS, Settings, SettingsError, default_models_dir, describe

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT, EXIT_MODEL, EXIT_INCOMPLETE = 0, 1, 2, 3, 4, 5
#: Options without a flag of their own: the beam size is the --beam-size setting.
CLI_FIXED_OPTIONS: frozenset[str] = frozenset({"beam_size"})


def _setting_flags(parser: argparse.ArgumentParser, command: str) -> None:
    """The flags of the settings sections ``command`` takes (pydantic-settings' CLI source adds
    them to the parser and reads them back in :func:`_settings`)."""
    sources = {
        name: CliSettingsSource(model, root_parser=parser, cli_prog_name="transnorm")
        for name, (model, takers) in SECTIONS.items()
        if command in takers or command.split()[0] in takers
    }
    parser.set_defaults(_setting_sources=sources)


def _document_flags(parser: argparse.ArgumentParser, multi_format: bool = False) -> None:
    """A flag per document option, derived from :class:`Options` (``--format`` is the batch's own:
    it takes several)."""
    group = parser.add_argument_group("document options")
    for name, spec in Options.model_fields.items():
        if name in CLI_FIXED_OPTIONS or (multi_format and name == "format"):
            continue
        choices = (
            typing.get_args(spec.annotation) if typing.get_origin(spec.annotation) is typing.Literal else None
        )
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transnorm",
        description="Find foreign spans in mostly-English documents, translate them offline, "
        "and return English with provenance.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

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
    _document_flags(p)
    _setting_flags(p, "normalize")

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
    _document_flags(p, multi_format=True)
    _setting_flags(p, "batch")

    p = sub.add_parser("models", help="list, install, verify or set up translation packages")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    m = msub.add_parser("list", help="installed packages, and the supported ones from the manifest")
    _setting_flags(m, "models list")
    m = msub.add_parser("install", help="install a local .argosmodel file, or download a package by name")
    m.add_argument("package", help="path to an .argosmodel file, or a name such as translate-zh_en or zh")
    m.add_argument("--timeout", type=float, default=60.0, help="download timeout in seconds")
    m.add_argument("--replace", action="store_true", help="replace the package installed for the same pair")
    _setting_flags(m, "models install")
    m = msub.add_parser("verify", help="check the installed packages against their install record")
    m.add_argument("--load", action="store_true", help="also load each model and translate a word")
    _setting_flags(m, "models verify")
    m = msub.add_parser(
        "setup", help="install from models/*.argosmodel and TRANSNORM_MODEL_SOURCES, else from the index"
    )
    m.add_argument("--offline", action="store_true", help="never try the network")
    _setting_flags(m, "models setup")

    p = sub.add_parser("serve", help="run the HTTP service under gunicorn")
    _setting_flags(p, "serve")

    p = sub.add_parser("bench", help="benchmarks: translation, English pass-through, HTTP, memory, batch")
    p.add_argument("--quick", action="store_true", help="a short run: a subset of each section")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument(
        "--only",
        default="translation,english,ipc,http,memory,batch,ray",
        help="comma-separated sections to run",
    )

    p = sub.add_parser("evaluate", help="span-level detection precision/recall/F1 on a labelled set")
    p.add_argument("dataset", nargs="?", type=Path, help="labelled set (default: the built-in one)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    """The settings: the environment, with the command's flags winning."""
    sections = {}
    for name, source in getattr(args, "_setting_sources", {}).items():
        try:
            sections[name] = SECTIONS[name][0](_cli_settings_source=source(parsed_args=args))
        except ValidationError as exc:
            raise SettingsError(describe(exc)) from None
    return Settings(**sections)


def _options(args: argparse.Namespace, fmt: str) -> Options:
    """The document options the flags give (each checked by :class:`Options`)."""
    given = {name: getattr(args, f"option_{name}", None) for name in Options.model_fields}
    return Options.merged({k: v for k, v in given.items() if v is not None}, {"format": fmt})


def _check_output(path: Path, parents: bool) -> None:
    """``-o`` must name a file whose folder exists (or ``--parents``), checked before any work."""
    from .files import display

    if path.is_dir():
        raise OptionsError(f"-o {display(path)} is a folder; give the name of the file to write")
    folder = path.parent
    if not parents and not folder.is_dir():
        raise OptionsError(
            f"-o {display(path)}: the folder {display(folder)} does not exist (add --parents to create it)"
        )


def cmd_normalize(args: argparse.Namespace) -> int:
    from .files import atomic_write, display, os_reason, read_input, read_stream
    from .htmlpage import options_for_file
    from .pipeline import Pipeline
    from .render import render_bytes

    settings = _settings(args)
    options = _options(args, args.option_format or "json")
    if args.file != "-" and not args.jsonl:
        options = options_for_file(options, args.file)
    if args.output is not None:
        _check_output(args.output, args.parents)
    if args.file == "-" and sys.stdin.isatty():
        print(
            "transnorm: reading the document from the terminal: type or paste it, then Ctrl-D "
            "(or give a FILE: transnorm normalize FILE)",
            file=sys.stderr,
        )
    if args.jsonl:
        return _normalize_jsonl(args, settings, options)
    if args.file == "-":
        data = read_stream(sys.stdin.buffer, settings.pipeline.max_bytes)
        doc_id = args.id
    else:
        try:
            data = read_input(args.file, settings.pipeline.max_bytes, regular_only=False)
        except OSError as exc:
            raise InputError(f"cannot read {display(args.file)}: {os_reason(exc)}") from None
        doc_id = args.id or display(os.path.basename(args.file))
    doc = Pipeline(settings)(data, options, doc_id)
    out = render_bytes(doc, options.format, options.markers)
    if args.output:
        try:
            atomic_write(args.output, out, parents=args.parents)
        except OSError as exc:
            _say(f"transnorm: cannot write {display(args.output)}: {os_reason(exc)}")
            return EXIT_FAILED
    else:
        sys.stdout.flush()
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
    if not doc.complete:
        into = "English" if options.target == "en" else options.target
        why = {
            "no-model": "no installed package translates {lang} into " + into,
            "bad-translation": "the model's output was rejected by the quality gate (the JSON's "
            "warnings say why)",
            "engine-error": "the model failed on them (the JSON's warnings say how)",
            "empty-translation": "the model gave an empty translation",
        }
        untranslated = Counter((s.lang, str(s.reason)) for s in doc.spans if s.action == "untranslated")
        for (lang, reason), n in sorted(untranslated.items()):
            because = why.get(reason, f"reason {reason}").format(lang=lang)
            _say(f"transnorm: incomplete: {n} {lang} span{'s' * (n > 1)} untranslated: {because}")
        if args.fail_incomplete:
            return EXIT_INCOMPLETE
    return EXIT_OK


def _normalize_jsonl(args: argparse.Namespace, settings: Settings, options: Options) -> int:
    """``normalize --jsonl``: a stream in, a stream out (``-o``: written whole, then renamed)."""
    import contextlib

    from .files import atomic_writer, display, os_reason
    from .jsonl import normalize_stream
    from .pipeline import Pipeline

    if options.format != "json":
        raise OptionsError("--jsonl writes JSON lines: --format must be json")
    pipeline = Pipeline(settings)
    if pipeline.remote is not None:  # the host's translation process: say now if it is not there
        pipeline.remote.status(timeout=min(10.0, settings.pipeline.translator_timeout))
    with contextlib.ExitStack() as stack:
        try:
            source = sys.stdin.buffer if args.file == "-" else stack.enter_context(open(args.file, "rb"))
        except OSError as exc:
            raise InputError(f"cannot read {display(args.file)}: {os_reason(exc)}") from None
        if args.output is None:
            stats = normalize_stream(source, sys.stdout.buffer, pipeline, options)
        else:
            try:
                with atomic_writer(args.output, parents=args.parents) as sink:
                    stats = normalize_stream(source, sink, pipeline, options)
            except OSError as exc:
                _say(f"transnorm: cannot write {display(args.output)}: {os_reason(exc)}")
                return EXIT_FAILED
    print(
        f"transnorm: {stats.lines} lines: {stats.ok} normalized ({stats.incomplete} incomplete), "
        f"{stats.failed} failed",
        file=sys.stderr,
    )
    return EXIT_FAILED if stats.failed else EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import SUFFIXES, Job, run_batch
    from .batch.runner import Interrupted

    formats = tuple(dict.fromkeys(f.strip() for f in args.format.split(",") if f.strip()))
    bad = [f for f in formats if f not in SUFFIXES]
    if bad or not formats:
        raise OptionsError(
            f"--format takes a comma-separated list of {', '.join(SUFFIXES)}; got {args.format!r}"
        )
    if args.jobs < 1:
        raise OptionsError("--jobs must be at least 1")
    settings = _settings(args)
    job = Job(out=args.out, formats=formats, options=_options(args, fmt=formats[0]), settings=settings)
    pool = None
    if settings.batch.engine == "ray":
        try:
            from .ray import RayPool
        except ImportError as exc:
            raise OptionsError(f"--engine ray needs Ray: pip install 'transnorm[ray]' ({exc})") from None
        pool = RayPool
    try:
        summary = run_batch(
            args.input, job, jobs=args.jobs, follow_symlinks=args.follow_symlinks, wait=args.wait, pool=pool
        )
    except Interrupted as exc:
        _say(f"transnorm batch: {exc}")
        return 128 + exc.signum
    for line in summary.describe(display(args.out / "report.jsonl")):
        _say(line)
    if summary.interrupted:
        return 128 + signal.Signals[summary.interrupted].value
    return EXIT_OK if summary.succeeded else EXIT_FAILED


def cmd_models(args: argparse.Namespace) -> int:
    from . import packages

    settings = _settings(args)
    action = args.models_command
    manifest = packages.load_manifest(settings.models.manifest)
    if action == "list":
        found, bad = packages.scan(settings.pipeline.models_dir)
        print(f"installed in {settings.pipeline.models_dir}:")
        for info in found:
            print(f"  {info.package} {info.version}  {info.from_code}→{info.to_code}  {info.path}")
        if not found:
            print("  (none)")
        for path, why in bad:
            print(f"  not usable: {path}: {why}")
        print("supported (the manifest):")
        for e in manifest:
            size = f"{e.size / 1e6:.0f} MB" if e.size else "size unknown"
            print(f"  {e.name} {e.version}  {e.from_code}→{e.to_code}  {size}")
        return EXIT_OK
    if action == "install":
        target = Path(args.package)
        before = packages.installed(settings.pipeline.models_dir)
        if target.suffix == ".argosmodel" or target.exists():
            info = packages.install_file(target, settings.pipeline.models_dir, manifest, args.replace)
        else:
            info = packages.install_name(
                args.package, settings.pipeline.models_dir, manifest, args.timeout, args.replace
            )
        print(f"installed {info.package} {info.version} ({info.from_code}→{info.to_code}) in {info.path}")
        for old in before:
            if (old.from_code, old.to_code) == (info.from_code, info.to_code) or old.path == info.path:
                print(f"  it replaces {old.package} {old.version} (was in {old.path})")
        return EXIT_OK
    if action == "verify":
        load = None
        if args.load:
            from .engine import ArgosEngine

            def load(info: packages.PackageInfo) -> None:
                engine = ArgosEngine(settings.pipeline, [info])
                engine.load(["all"])
                engine.translate(info.from_code, ["test"], target=info.to_code)

        if (
            not Path(settings.pipeline.models_dir).exists()
            and settings.pipeline.models_dir != default_models_dir()
        ):
            raise ModelError(
                f"the models folder {settings.pipeline.models_dir} does not exist "
                "(--models-dir, TRANSNORM_MODELS_DIR)"
            )
        checks = packages.verify(settings.pipeline.models_dir, load)
        bad = packages.broken(settings.pipeline.models_dir)
        for check in checks:
            status = "ok" if check.ok else "PROBLEM: " + "; ".join(check.problems)
            print(f"{check.info.package} {check.info.version}: {status}")
        for path, why in bad:
            print(f"{path}: PROBLEM: not a usable package: {why}")
        if not checks and not bad:
            print(f"no packages installed in {settings.pipeline.models_dir}")
        return EXIT_OK if all(c.ok for c in checks) and not bad else EXIT_MODEL
    if action == "setup":
        for line in packages.setup(
            settings.pipeline.models_dir, settings.models.model_sources, manifest, online=not args.offline
        ):
            print(line)
        return EXIT_OK
    raise AssertionError(action)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .devtools.evaluate import evaluate, format_report, load_dataset

    result = evaluate(load_dataset(args.dataset))
    print(json.dumps(result.summary(), indent=2) if args.json else format_report(result))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(args)  # a bad setting fails here, clearly, before gunicorn starts
    env = {**os.environ, **settings.to_env()}
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:transnorm.server.gunicorn_conf"]
    os.execvpe(sys.executable, argv, env)
    return EXIT_FAILED  # not reached


def cmd_bench(args: argparse.Namespace) -> int:
    from .devtools.bench import format_report, run

    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    result = run(quick=args.quick, sections=sections)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return EXIT_OK


def _debug() -> bool:
    """TRANSNORM_DEBUG, read as every setting is (``false`` is false); a bad value is not debug."""
    from .settings import ServiceSettings

    try:
        return ServiceSettings().debug
    except (SettingsError, ValueError):
        return False


def _stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has gone (a broken pipe elsewhere -- a
    worker process, say -- is an error, not the end of the reader's interest)."""
    try:
        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & (select.POLLERR | select.POLLHUP) for _, events in poll.poll(0))
    except (OSError, ValueError, AttributeError):
        return False


COMMANDS = {
    "serve": cmd_serve,
    "bench": cmd_bench,
    "normalize": cmd_normalize,
    "batch": cmd_batch,
    "models": cmd_models,
    "evaluate": cmd_evaluate,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (OptionsError, SettingsError) as exc:
        _say(f"transnorm: {exc}")
        return EXIT_USAGE
    except InputError as exc:
        _say(f"transnorm: {exc}")
        return EXIT_INPUT
    except ModelError as exc:
        _say(f"transnorm: {exc}")
        return EXIT_MODEL
    except TransnormError as exc:
        _say(f"transnorm: {exc}")
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError as exc:
        if not _stdout_gone():
            return _internal(exc)
        # The reader of standard output went away (`| head`): nothing more to say, and no
        # traceback when Python flushes at exit.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        if _debug():
            raise
        return _internal(exc)


def _internal(exc: BaseException) -> int:
    _say(f"transnorm: internal error: {type(exc).__name__}: {exc} (set TRANSNORM_DEBUG=1 for a traceback)")
    return EXIT_FAILED


def _say(message: str) -> None:
    """A message on standard error, as one line whatever names it holds (no terminal control)."""
    print(terminal(message), file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
