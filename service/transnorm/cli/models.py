"""``transnorm models list|install|verify|setup``: the model packages of the models folder."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from .. import packages
from ..errors import ModelError
from ..settings import Settings, default_models_dir
from .common import EXIT_MODEL, EXIT_OK, settings_of


def cmd_models(args: argparse.Namespace) -> int:
    """Run the ``models`` action ``args.models_command``."""
    settings = settings_of(args)
    manifest = packages.load_manifest(settings.models.manifest)
    action = _ACTIONS[args.models_command]
    return action(args, settings, manifest)


Manifest = list[packages.ManifestEntry]


def _list(args: argparse.Namespace, settings: Settings, manifest: Manifest) -> int:
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


def _install(args: argparse.Namespace, settings: Settings, manifest: Manifest) -> int:
    folder = settings.pipeline.models_dir
    target = Path(args.package)
    before = packages.installed(folder)
    if target.suffix == ".argosmodel" or target.exists():
        info = packages.install_file(target, folder, manifest, args.replace)
    else:
        info = packages.install_name(args.package, folder, manifest, args.timeout, args.replace)
    print(f"installed {info.package} {info.version} ({info.from_code}→{info.to_code}) in {info.path}")
    for old in before:
        if (old.from_code, old.to_code) == (info.from_code, info.to_code) or old.path == info.path:
            print(f"  it replaces {old.package} {old.version} (was in {old.path})")
    return EXIT_OK


def _verify(args: argparse.Namespace, settings: Settings, manifest: Manifest) -> int:
    folder = settings.pipeline.models_dir
    if not Path(folder).exists() and folder != default_models_dir():
        raise ModelError(f"the models folder {folder} does not exist (--models-dir, TRANSNORM_MODELS_DIR)")
    checks = packages.verify(folder, _loader(settings) if args.load else None)
    bad = packages.broken(folder)
    for check in checks:
        status = "ok" if check.ok else "PROBLEM: " + "; ".join(check.problems)
        print(f"{check.info.package} {check.info.version}: {status}")
    for path, why in bad:
        print(f"{path}: PROBLEM: not a usable package: {why}")
    if not checks and not bad:
        print(f"no packages installed in {folder}")
    return EXIT_OK if all(c.ok for c in checks) and not bad else EXIT_MODEL


def _loader(settings: Settings) -> Callable[[packages.PackageInfo], None]:
    """``verify --load``: load a package and translate a word with it."""
    from ..engine import ArgosEngine

    def load(info: packages.PackageInfo) -> None:
        engine = ArgosEngine(settings.pipeline, [info])
        engine.load(["all"])
        engine.translate(info.from_code, ["test"], target=info.to_code)

    return load


def _setup(args: argparse.Namespace, settings: Settings, manifest: Manifest) -> int:
    folder, sources = settings.pipeline.models_dir, settings.models.model_sources
    for line in packages.setup(folder, sources, manifest, online=not args.offline):
        print(line)
    return EXIT_OK


_ACTIONS: dict[str, Callable[[argparse.Namespace, Settings, Manifest], int]] = {
    "list": _list,
    "install": _install,
    "verify": _verify,
    "setup": _setup,
}
