"""Ray Data engine: normalization over a Ray cluster (``pip install 'transnorm[ray]'``).

Documents go through ``map_batches`` to a pool of actors. Each actor builds the pipeline once,
after it has started — models load in the actors, never in the driver — and then runs the same
code as the local engine: the batch mode's worker (:class:`~transnorm.batch.process.Worker`) on
chunks of inputs, as the pool of :func:`~transnorm.batch.run_batch` (so the lock, outputs, their
names, the report and resuming are the local engine's, for folders, JSON-lines and Parquet
files alike), or :meth:`~transnorm.pipeline.Pipeline.pipe` on the rows of a dataset
(:func:`normalize_dataset`). Nothing else in transnorm imports this module, so the base install
never imports Ray.

An actor that dies is not restarted (``max_restarts=0``; Ray Data's default is without limit):
Ray Data hands every actor its context and function as object-store references, and Ray logs an
error-level ``core_worker.cc`` line for every such actor that may restart, on every run, even when
none dies (ray-project/ray#57733, #53727); a restarting actor also retries for ever a chunk that
kills it. So a dead actor ends a batch with an error, its summary and report say what was done,
and running it again does the rest; :func:`normalize_dataset` takes ``restarts`` to choose.

Ray started here ends with the process that started it, even after kill -9 (see :func:`connect`).

Inputs and outputs must be where every node can reach them (a shared file system, or object
storage for datasets); each node needs transnorm and the models (baked into the image, or on a
shared path given as ``TRANSNORM_MODELS_DIR``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import pickle
import socket
import tempfile
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import ray
from ray.util.annotations import RayDeprecationWarning

from .batch import reaper
from .batch.inputs import Work
from .batch.job import Job
from .batch.parquet import result_row as _row
from .batch.process import Worker
from .batch.report import Record
from .batch.state import RunState
from .document import Outcome
from .errors import InputError, TransnormError
from .options import Options
from .pipeline import Pipeline
from .settings import Settings

#: How long a cluster's address may take to accept a connection before the run gives up on it.
CONNECT_SECONDS = 10.0


def _answers(address: str, timeout: float) -> bool:
    """Whether something accepts TCP connections at a Ray address (``host:port``, ``ray://host:port``,
    or ``auto``: the cluster this machine last started; Ray itself answers at once when there is none,
    and decides about other forms)."""
    if address == "auto":
        try:
            address = (Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster").read_text().strip()
        except OSError:
            return True
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return True
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError:
        return False
    return True


def connect(settings: Settings) -> None:
    """Join ``settings.batch.ray_address``, or start Ray on this machine (once per process).

    Ray started here ends with this process, however it ends: a watchdog
    (:mod:`transnorm.batch.reaper`) started first ends the session's processes once this one has
    gone, even after kill -9. A cluster joined (``--ray-address``, ``RAY_ADDRESS``) is left alone.
    """
    if ray.is_initialized():
        return
    address = settings.batch.ray_address or None
    here = address is None and not os.environ.get("RAY_ADDRESS")  # else ray.init joins RAY_ADDRESS
    # Ray started here listens on the loopback interface only (its default is every interface).
    local = {"_node_ip_address": "127.0.0.1"} if here else {}
    try:
        # Ray retries an address that does not answer for many minutes: look first, briefly.
        if address and not _answers(address, CONNECT_SECONDS):
            raise ConnectionError(address)
        with reaper.tied_to_this_process() if here else contextlib.nullcontext():
            ray.init(
                address=address,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                **local,
            )
    except ConnectionError:  # exit 1, as any run that could not start (Ray's text names its own flag)
        raise TransnormError(
            f"--ray-address {address}: no Ray cluster answers there; start one (ray start --head), "
            "or leave --ray-address (TRANSNORM_RAY_ADDRESS) unset to run Ray on this machine"
        ) from None
    context = ray.data.DataContext.get_current()
    context.print_on_execution_start = False
    # Ray Data's progress lines on stderr go; its warnings and errors stay.
    for name in [n for n in logging.root.manager.loggerDict if n.startswith("ray")] + ["ray", "ray.data"]:
        logging.getLogger(name).setLevel(logging.WARNING)


def _map_batches(dataset: ray.data.Dataset, fn: Any, restarts: int, **options: Any) -> ray.data.Dataset:
    """``dataset.map_batches(fn, **options)`` on actors restarted at most ``restarts`` times."""
    with warnings.catch_warnings():
        # Ray 2.60 deprecates map_batches' Ray remote arguments (to be removed in 2.64) but has
        # no named max_restarts yet (ray-project/ray#65227): a note for us, not our users.
        warnings.simplefilter("ignore", RayDeprecationWarning)
        return dataset.map_batches(fn, max_restarts=restarts, **options)


def _cpus() -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _actors(settings: Settings) -> int:
    return settings.batch.actors or _cpus()


class _ChunkActor:
    """A batch-mode actor: loads the pipeline once, then processes chunks of inputs. Made per run
    by :func:`_chunk_actor` (the job travels with the class, not as constructor arguments)."""

    RUN = b""

    def __init__(self) -> None:
        job, state = pickle.loads(self.RUN)
        pipeline = Pipeline(job.settings.on_cores(1))  # an actor has one CPU
        pipeline.engine.load()
        self.worker = Worker(job, pipeline, pipeline.translate, state)
        self.node = ray.get_runtime_context().get_node_id()

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        works: list[Work] = [pickle.loads(item) for item in batch["work"]]
        records = self.worker.process(works)
        return {"record": [json.dumps(asdict(r)) for r in records], "node": [self.node] * len(records)}


def _chunk_actor(job: Job, state: RunState) -> type[_ChunkActor]:
    return type("ChunkActor", (_ChunkActor,), {"RUN": pickle.dumps((job, state))})


class RayPool:
    """The batch mode's pool on Ray (a :data:`~transnorm.batch.runner.PoolFactory`): the same
    chunks as the local pool, run by actors."""

    def __init__(self, job: Job, state: RunState, pipeline: Pipeline | None = None, chunk: int = 16) -> None:
        self.job, self.state, self.chunk = job, state, chunk
        self.nodes: set[str] = set()
        self.actors = 0

    def run(self, works: Sequence[Work], translate: object = None) -> Iterator[Record]:
        """A record per input as chunks finish (``translate`` is unused: actors translate)."""
        if not works:
            return
        connect(self.job.settings)
        self.actors = min(_actors(self.job.settings), max(1, len(works) // self.chunk + 1))
        dataset = ray.data.from_items([{"work": pickle.dumps(w)} for w in works])
        results = _map_batches(
            dataset,
            _chunk_actor(self.job, self.state),
            restarts=0,  # see the module's docstring
            batch_size=self.chunk,
            batch_format="numpy",
            compute=ray.data.ActorPoolStrategy(size=self.actors),
            num_cpus=1,
        )
        try:
            for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
                self.nodes.update(str(n) for n in batch["node"])
                for line in batch["record"]:
                    yield Record(**json.loads(line))
        except ray.exceptions.RayActorError as exc:
            raise TransnormError(
                "a Ray actor died while normalizing a chunk of inputs (out of memory, or its node "
                "was lost), which ends the run: the report has what was done, and running the same "
                "command again does the rest"
            ) from exc

    def describe(self) -> dict[str, Any]:
        return {"name": "ray", "actors": self.actors, "nodes": len(self.nodes)}

    def close(self) -> None:
        """Stop Ray if this process started it (its actors go with it)."""
        if ray.is_initialized() and not self.job.settings.batch.ray_address:
            ray.shutdown()


class _DocumentActor:
    """A dataset actor: loads the pipeline once, then normalizes batches of rows."""

    def __init__(self, settings: dict[str, Any], options: dict[str, Any], text: str, id_: str | None) -> None:
        self.pipeline = Pipeline(Settings(**settings).on_cores(1))
        self.pipeline.engine.load()
        self.options = Options(**options)
        self.text, self.id = text, id_

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        texts = list(batch[self.text])
        ids = [None if x is None else str(x) for x in batch[self.id]] if self.id else [None] * len(texts)
        items = [
            (text, self.options, i)
            if isinstance(text, (bytes, str))
            else Outcome(i, error=InputError(f"the text column holds {type(text).__name__}, not text"))
            for text, i in zip(texts, ids, strict=True)
        ]
        rows = [_row(outcome) for outcome in self.pipeline.normalize_many(items)]
        return {name: [row[name] for row in rows] for name in ("id", "result", "error", "complete")}


def normalize_dataset(
    dataset: ray.data.Dataset,
    text_column: str = "text",
    id_column: str | None = "id",
    options: Options | Mapping[str, Any] | None = None,
    settings: Settings | None = None,
    actors: int | None = None,
    batch_size: int = 32,
    restarts: int = 0,
) -> ray.data.Dataset:
    """Normalize a dataset's ``text_column`` (str or bytes) on Ray actors.

    Returns a dataset with the columns ``id``, ``result`` (the transnorm JSON document, as a
    string), ``error`` (RFC 9457 problem details as a string, for a row that could not be
    normalized; the others go on) and ``complete``. Rows keep their order within a block.

    An actor that dies ends the dataset's execution with Ray's ``ActorDiedError`` unless
    ``restarts`` lets it be restarted that many times (``-1``: without limit, Ray Data's default),
    its batches retried; then Ray logs an error-level line as the actors start, even when none
    dies (ray-project/ray#57733).
    """
    settings = settings or Settings.from_env()
    if not isinstance(options, Options):
        options = Options.from_mapping(options)
    connect(settings)
    # One CPU stays free for the dataset's reading and writing tasks, or they would wait for ever
    # behind actors that wait for their input.
    actors = min(actors or settings.batch.actors or _cpus(), max(1, _cpus() - 1))
    return _map_batches(
        dataset,
        _DocumentActor,
        restarts=restarts,
        fn_constructor_args=(
            json.loads(settings.model_dump_json()),
            options.to_dict(),
            text_column,
            id_column,
        ),
        batch_size=batch_size,
        batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=1,
    )
