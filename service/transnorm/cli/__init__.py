"""The ``transnorm`` command: a thin shell over the library.

Exit codes: 0 success; 1 a batch had failed files, an output could not be written, or an
internal error; 2 usage error (bad flag, option or setting, an ``-o`` that cannot be); 3 bad
input (invalid UTF-8, a page its charset cannot decode, too large, unreadable, a folder); 4 model
problem (a missing models folder too); 5 the result is incomplete and ``--fail-incomplete`` was
given; 128 + N stopped by signal N (143 SIGTERM, 130 SIGINT).

A file named ``.html`` or ``.htm`` is an HTML page (``--input-format`` says otherwise); so is one
that starts with ``<!doctype html`` or ``<html``.

Setting flags are derived from :class:`~transnorm.settings.Settings`: the field ``beam_size`` is
``--beam-size`` (and ``TRANSNORM_BEAM_SIZE``) wherever a subcommand takes it. The flags are in
:mod:`.parser`, the ``models`` subcommand in :mod:`.models`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import sys
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import InputError, ModelError, OptionsError, TransnormError
from ..files import display
from ..options import Options
from ..settings import Settings, SettingsError
from .common import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_INPUT,
    EXIT_MODEL,
    EXIT_OK,
    EXIT_USAGE,
    options_of,
    say,
    settings_of,
)
from .models import cmd_models
from .parser import CLI_FIXED_OPTIONS, build_parser

if TYPE_CHECKING:
    from ..document import Document

__all__ = ["CLI_FIXED_OPTIONS", "EXIT_OK", "build_parser", "main"]


def _check_output(path: Path, parents: bool) -> None:
    """``-o`` must name a file whose folder exists (or ``--parents``), checked before any work."""
    if path.is_dir():
        raise OptionsError(f"-o {display(path)} is a folder; give the name of the file to write")
    folder = path.parent
    if not parents and not folder.is_dir():
        raise OptionsError(
            f"-o {display(path)}: the folder {display(folder)} does not exist (add --parents to create it)"
        )


def cmd_normalize(args: argparse.Namespace) -> int:
    from ..htmlpage import options_for_file
    from ..pipeline import Pipeline
    from ..render import render_bytes

    settings = settings_of(args)
    options = options_of(args, args.option_format or "json")
    if args.file != "-" and not args.jsonl:
        options = options_for_file(options, args.file)
    if args.output is not None:
        _check_output(args.output, args.parents)
    if args.file == "-" and sys.stdin.isatty():
        say(
            "transnorm: reading the document from the terminal: type or paste it, then Ctrl-D "
            "(or give a FILE: transnorm normalize FILE)"
        )
    if args.jsonl:
        return _normalize_jsonl(args, settings, options)
    data, doc_id = _read_document(args, settings)
    doc = Pipeline(settings)(data, options, doc_id)
    if not _write(args, render_bytes(doc, options.format, options.markers)):
        return EXIT_FAILED
    if not doc.complete:
        for line in _incomplete(doc, options):
            say(line)
        if args.fail_incomplete:
            return EXIT_INCOMPLETE
    return EXIT_OK


def _read_document(args: argparse.Namespace, settings: Settings) -> tuple[bytes, str | None]:
    """The document's bytes (``-``: standard input) and its id."""
    from ..files import os_reason, read_input, read_stream

    if args.file == "-":
        return read_stream(sys.stdin.buffer, settings.pipeline.max_bytes), args.id
    try:
        data = read_input(args.file, settings.pipeline.max_bytes, regular_only=False)
    except OSError as exc:
        raise InputError(f"cannot read {display(args.file)}: {os_reason(exc)}") from None
    return data, args.id or display(os.path.basename(args.file))


def _write(args: argparse.Namespace, out: bytes) -> bool:
    """The result to ``-o`` (atomically) or standard output; False (said why) if it cannot be."""
    from ..files import atomic_write, os_reason

    if not args.output:
        sys.stdout.flush()
        sys.stdout.buffer.write(out)
        sys.stdout.buffer.flush()
        return True
    try:
        atomic_write(args.output, out, parents=args.parents)
    except OSError as exc:
        say(f"transnorm: cannot write {display(args.output)}: {os_reason(exc)}")
        return False
    return True


#: Why spans stayed untranslated, for a person (the JSON has the reason codes).
WHY_UNTRANSLATED = {
    "no-model": "no installed package translates {lang} into {into}",
    "bad-translation": "the model's output was rejected by the quality gate (the JSON's warnings say why)",
    "engine-error": "the model failed on them (the JSON's warnings say how)",
    "empty-translation": "the model gave an empty translation",
    "deadline": "the document's time budget ran out first (--document-timeout, TRANSNORM_DOCUMENT_TIMEOUT)",
}


def _incomplete(doc: Document, options: Options) -> list[str]:
    """A line per language and reason of the spans left untranslated."""
    into = "English" if options.target == "en" else options.target
    untranslated = Counter((s.lang, str(s.reason)) for s in doc.spans if s.action == "untranslated")
    lines = []
    for (lang, reason), n in sorted(untranslated.items()):
        because = WHY_UNTRANSLATED.get(reason, f"reason {reason}").format(lang=lang, into=into)
        lines.append(f"transnorm: incomplete: {n} {lang} span{'s' * (n > 1)} untranslated: {because}")
    return lines


def _normalize_jsonl(args: argparse.Namespace, settings: Settings, options: Options) -> int:
    """``normalize --jsonl``: a stream in, a stream out (``-o``: written whole, then renamed)."""
    from ..files import atomic_writer, os_reason
    from ..jsonl import normalize_stream
    from ..pipeline import Pipeline

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
                say(f"transnorm: cannot write {display(args.output)}: {os_reason(exc)}")
                return EXIT_FAILED
    print(
        f"transnorm: {stats.lines} lines: {stats.ok} normalized ({stats.incomplete} incomplete), "
        f"{stats.failed} failed",
        file=sys.stderr,
    )
    return EXIT_FAILED if stats.failed else EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from ..batch import SUFFIXES, Job, run_batch
    from ..batch.signals import Interrupted

    formats = tuple(dict.fromkeys(f.strip() for f in args.format.split(",") if f.strip()))
    bad = [f for f in formats if f not in SUFFIXES]
    if bad or not formats:
        raise OptionsError(
            f"--format takes a comma-separated list of {', '.join(SUFFIXES)}; got {args.format!r}"
        )
    if args.jobs < 1:
        raise OptionsError("--jobs must be at least 1")
    settings = settings_of(args)
    job = Job(out=args.out, formats=formats, options=options_of(args, fmt=formats[0]), settings=settings)
    pool = None
    if settings.batch.engine == "ray":
        try:
            from ..ray import RayPool
        except ImportError as exc:
            raise OptionsError(f"--engine ray needs Ray: pip install 'transnorm[ray]' ({exc})") from None
        pool = RayPool
    try:
        summary = run_batch(
            args.input, job, jobs=args.jobs, follow_symlinks=args.follow_symlinks, wait=args.wait, pool=pool
        )
    except Interrupted as exc:
        say(f"transnorm batch: {exc}")
        return 128 + exc.signum
    for line in summary.describe(display(args.out / "report.jsonl")):
        say(line)
    if summary.interrupted:
        return 128 + signal.Signals[summary.interrupted].value
    return EXIT_OK if summary.succeeded else EXIT_FAILED


def cmd_evaluate(args: argparse.Namespace) -> int:
    from ..devtools.evaluate import evaluate, format_report, load_dataset

    result = evaluate(load_dataset(args.dataset))
    print(json.dumps(result.summary(), indent=2) if args.json else format_report(result))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    settings = settings_of(args)  # a bad setting fails here, clearly, before gunicorn starts
    env = {**os.environ, **settings.to_env()}
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:transnorm.server.gunicorn_conf"]
    os.execvpe(sys.executable, argv, env)
    return EXIT_FAILED  # not reached


def cmd_bench(args: argparse.Namespace) -> int:
    from ..devtools.bench import format_report, run

    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    result = run(quick=args.quick, sections=sections)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return EXIT_OK


def _debug() -> bool:
    """TRANSNORM_DEBUG, read as every setting is (``false`` is false); a bad value is not debug."""
    from ..settings import ServiceSettings

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
        say(f"transnorm: {exc}")
        return EXIT_USAGE
    except InputError as exc:
        say(f"transnorm: {exc}")
        return EXIT_INPUT
    except ModelError as exc:
        say(f"transnorm: {exc}")
        return EXIT_MODEL
    except TransnormError as exc:
        say(f"transnorm: {exc}")
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
    say(f"transnorm: internal error: {type(exc).__name__}: {exc} (set TRANSNORM_DEBUG=1 for a traceback)")
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
