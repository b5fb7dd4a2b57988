"""The ``transnorm`` command: a thin shell over the library.

Exit codes: 0 success; 1 a batch had failed files, or an internal error; 2 usage error (bad flag
or option); 3 bad input (invalid UTF-8, too large, unreadable); 4 model problem; 5 the result is
incomplete and ``--fail-incomplete`` was given.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import Settings, SettingsError
from .errors import InputError, ModelError, OptionsError, TransnormError
from .options import CHROME, ERRORS, FORMATS, MARKERS, Options

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INPUT, EXIT_MODEL, EXIT_INCOMPLETE = 0, 1, 2, 3, 4, 5


def _settings_flags(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (override TRANSNORM_* variables)")
    group.add_argument("--models-dir", type=Path, help="where model packages live (TRANSNORM_MODELS_DIR)")
    group.add_argument("--beam-size", type=int, help="default beam size (TRANSNORM_BEAM_SIZE)")
    group.add_argument("--compute-type", help="CTranslate2 compute type, e.g. int8, float32")
    group.add_argument(
        "--threads", type=int, dest="intra_threads", help="CTranslate2 threads per translation"
    )
    group.add_argument("--max-bytes", type=int, help="largest document accepted (TRANSNORM_MAX_BYTES)")


def _document_flags(parser: argparse.ArgumentParser, multi_format: bool = False) -> None:
    if not multi_format:
        parser.add_argument("--format", choices=FORMATS, default="json")
    parser.add_argument("--markers", choices=MARKERS, default="inline", help="markers in text output")
    parser.add_argument("--chrome", choices=CHROME, default="remove", help="remove or keep page chrome")
    parser.add_argument("--errors", choices=ERRORS, default="strict", help="invalid UTF-8: reject or replace")
    parser.add_argument(
        "--alternatives", type=int, default=0, help="next-best translations kept per translated span"
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
    p.add_argument("-o", "--output", type=Path, help="write here instead of standard output")
    p.add_argument("--id", help="document id to put in the result")
    p.add_argument(
        "--fail-incomplete", action="store_true", help="exit 5 if any foreign span is untranslated"
    )
    _document_flags(p)
    _settings_flags(p)

    p = sub.add_parser("batch", help="normalize every file of a folder")
    p.add_argument("input", type=Path, help="folder of documents")
    p.add_argument("--out", type=Path, required=True, help="output folder")
    p.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="cores to use: worker processes for detection and output, and translation threads "
        "(default: all cores)",
    )
    p.add_argument("--format", default="json,text", help="comma-separated formats: json,text,html")
    p.add_argument("--follow-symlinks", action="store_true", help="also read symbolic links")
    _document_flags(p, multi_format=True)
    _settings_flags(p)

    p = sub.add_parser("models", help="list, install, verify or set up translation packages")
    msub = p.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    m = msub.add_parser("list", help="installed packages, and the supported ones from the manifest")
    _settings_flags(m)
    m = msub.add_parser("install", help="install a local .argosmodel file, or download a package by name")
    m.add_argument("package", help="path to an .argosmodel file, or a name such as translate-zh_en or zh")
    m.add_argument("--timeout", type=float, default=60.0, help="download timeout in seconds")
    _settings_flags(m)
    m = msub.add_parser("verify", help="check the installed packages")
    m.add_argument("--load", action="store_true", help="also load each model and translate a word")
    _settings_flags(m)
    m = msub.add_parser(
        "setup",
        help="install from models/*.argosmodel and TRANSNORM_MODEL_SOURCES, else from the index",
    )
    m.add_argument("--offline", action="store_true", help="never try the network")
    _settings_flags(m)

    p = sub.add_parser("serve", help="run the HTTP service under gunicorn")
    p.add_argument(
        "--host", default=None, help="address to bind (default 127.0.0.1; 0.0.0.0 in the container)"
    )
    p.add_argument("--port", type=int, default=None, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=None, help="worker processes (default 1)")
    p.add_argument(
        "--threads", type=int, dest="http_threads", default=None, help="threads per worker (default 4)"
    )
    p.add_argument("--models-dir", type=Path, help="where model packages live (TRANSNORM_MODELS_DIR)")
    p.add_argument(
        "--requests-per-minute",
        type=int,
        default=None,
        help="per-client limit on the translating endpoints, 0 for none (TRANSNORM_REQUESTS_PER_MINUTE)",
    )

    p = sub.add_parser("bench", help="benchmarks: translation, English pass-through, HTTP, batch")
    p.add_argument("--quick", action="store_true", help="a run of under a minute")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--only", default="translation,english,http,batch", help="comma-separated sections to run")

    p = sub.add_parser("evaluate", help="span-level detection precision/recall/F1 on a labelled set")
    p.add_argument("dataset", nargs="?", type=Path, help="labelled set (default: the built-in one)")
    p.add_argument("--json", action="store_true", help="print the scores as JSON")
    p.add_argument("--errors-only", action="store_true", help="list the mistakes")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    return Settings.from_env(
        models_dir=getattr(args, "models_dir", None),
        beam_size=getattr(args, "beam_size", None),
        compute_type=getattr(args, "compute_type", None),
        intra_threads=getattr(args, "intra_threads", None),
        max_bytes=getattr(args, "max_bytes", None),
    )


def _options(args: argparse.Namespace, fmt: str) -> Options:
    return Options(
        format=fmt,
        markers=args.markers,
        chrome=args.chrome,
        errors=args.errors,
        alternatives=args.alternatives,
    )


def cmd_normalize(args: argparse.Namespace) -> int:
    from .pipeline import Pipeline
    from .render import render

    settings = _settings(args)
    options = _options(args, args.format)
    if args.file == "-":
        data = sys.stdin.buffer.read(settings.max_bytes + 1)
        doc_id = args.id
    else:
        from .batch import read_input

        try:
            data = read_input(args.file, settings.max_bytes, regular_only=False)
        except OSError as exc:
            raise InputError(f"cannot read {args.file}: {exc.strerror}") from None
        doc_id = args.id or os.path.basename(args.file)
    doc = Pipeline(settings)(data, options, doc_id)
    out = render(doc, options.format, options.markers)
    if args.output:
        from .batch import atomic_write

        atomic_write(args.output, out.encode("utf-8"))
    else:
        sys.stdout.write(out)
        sys.stdout.flush()
    if not doc.complete:
        langs = sorted({s.lang for s in doc.spans if s.action == "untranslated"})
        print(f"transnorm: incomplete: no model for {', '.join(langs)}", file=sys.stderr)
        if args.fail_incomplete:
            return EXIT_INCOMPLETE
    return EXIT_OK


def cmd_batch(args: argparse.Namespace) -> int:
    from .batch import SUFFIXES, run_batch

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in SUFFIXES]
    if bad or not formats:
        raise OptionsError(
            f"--format takes a comma-separated list of {', '.join(SUFFIXES)}; got {args.format!r}"
        )
    if args.jobs < 1:
        raise OptionsError("--jobs must be at least 1")
    summary = run_batch(
        args.input,
        args.out,
        formats,
        _options(args, fmt=formats[0]),
        _settings(args),
        jobs=args.jobs,
        follow_symlinks=args.follow_symlinks,
    )
    print(
        f"transnorm batch: {summary['files']} files: {summary['ok']} written, {summary['skipped']} "
        f"unchanged, {summary['failed']} failed, {summary['incomplete']} incomplete, "
        f"{summary['with_warnings']} with warnings "
        f"({summary['seconds']} s); report in {args.out / 'report.jsonl'}",
        file=sys.stderr,
    )
    for failure in summary["failures"]:
        print(f"  failed: {failure['file']}: {failure['error']}", file=sys.stderr)
    return EXIT_FAILED if summary["failed"] else EXIT_OK


def cmd_models(args: argparse.Namespace) -> int:
    from . import models

    settings = _settings(args)
    action = args.models_command
    if action == "list":
        found = models.installed(settings.models_dir)
        print(f"installed in {settings.models_dir}:")
        for info in found:
            print(f"  {info.package} {info.version}  {info.from_code}→{info.to_code}  {info.path}")
        if not found:
            print("  (none)")
        manifest = models.load_manifest(settings.manifest)
        if manifest:
            print("supported (models/manifest.json):")
            for e in manifest:
                size = f"{e.size / 1e6:.0f} MB" if e.size else "size unknown"
                print(f"  {e.name} {e.version}  {e.from_code}→{e.to_code}  {size}")
        return EXIT_OK
    if action == "install":
        target = Path(args.package)
        if target.suffix == ".argosmodel" or target.exists():
            info = models.install_file(target, settings.models_dir, models.load_manifest(settings.manifest))
        else:
            info = models.install_name(args.package, settings, args.timeout)
        print(f"installed {info.package} {info.version} ({info.from_code}→{info.to_code}) in {info.path}")
        return EXIT_OK
    if action == "verify":
        checks = models.verify(settings, load=args.load)
        for check in checks:
            status = "ok" if check.ok else "PROBLEM: " + "; ".join(check.problems)
            print(f"{check.info.package} {check.info.version}: {status}")
        if not checks:
            print(f"no packages installed in {settings.models_dir}")
        return EXIT_OK if all(c.ok for c in checks) else EXIT_MODEL
    if action == "setup":
        for line in models.setup(settings, online=not args.offline):
            print(line)
        return EXIT_OK
    raise AssertionError(action)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .evaluate import evaluate, format_report, load_dataset

    result = evaluate(load_dataset(args.dataset))
    if args.json:
        print(json.dumps(result.summary(), indent=2))
    else:
        print(format_report(result, errors=args.errors_only))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    host = args.host or env.get("TRANSNORM_HOST", "127.0.0.1")
    port = args.port or int(env.get("TRANSNORM_PORT", "8000"))
    env["TRANSNORM_BIND"] = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    if args.workers:
        env["TRANSNORM_WORKERS"] = str(args.workers)
    if args.http_threads:
        env["TRANSNORM_HTTP_THREADS"] = str(args.http_threads)
    if args.models_dir:
        env["TRANSNORM_MODELS_DIR"] = str(args.models_dir)
    if args.requests_per_minute is not None:
        env["TRANSNORM_REQUESTS_PER_MINUTE"] = str(args.requests_per_minute)
    Settings.from_env(env)  # fail here, clearly, on a bad setting
    argv = [sys.executable, "-m", "gunicorn", "-c", "python:service.server.gunicorn_conf"]
    os.execvpe(sys.executable, argv, env)
    return EXIT_FAILED  # not reached


def cmd_bench(args: argparse.Namespace) -> int:
    from .bench import format_report, run

    sections = tuple(s.strip() for s in args.only.split(",") if s.strip())
    result = run(quick=args.quick, sections=sections)
    print(json.dumps(result, indent=2) if args.json else format_report(result))
    return EXIT_OK


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
        print(f"transnorm: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except InputError as exc:
        print(f"transnorm: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except ModelError as exc:
        print(f"transnorm: {exc}", file=sys.stderr)
        return EXIT_MODEL
    except TransnormError as exc:
        print(f"transnorm: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:
        if os.environ.get("TRANSNORM_DEBUG"):
            raise
        print(
            f"transnorm: internal error: {type(exc).__name__}: {exc} (set TRANSNORM_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
