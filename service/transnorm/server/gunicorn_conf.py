"""gunicorn settings for transnorm, from the ``TRANSNORM_*`` settings (the top-level
``gunicorn.conf.py`` re-exports these, for running ``gunicorn -c gunicorn.conf.py``).

Models load in each worker after the fork (``preload_app`` stays off: CTranslate2 translators
are not fork-safe), and CTranslate2/OpenMP threads are split so workers × threads fit the cores.
"""

from __future__ import annotations

import os
import shutil
import tempfile

from transnorm.settings import Settings, env_name

_settings = Settings.from_env()

wsgi_app = "transnorm.server.wsgi:app"
bind = [
    f"[{_settings.service.host}]:{_settings.service.port}"
    if ":" in _settings.service.host
    else f"{_settings.service.host}:{_settings.service.port}"
]
workers = _settings.service.workers
# Evented (gevent, not monkey-patched): a slow or idle connection holds a greenlet, the app runs
# in TRANSNORM_HTTP_THREADS OS threads; every phase of a request has a deadline (transport.py).
worker_class = "transnorm.server.transport.Worker"
worker_connections = _settings.service.max_connections
loglevel = "info"
preload_app = False
# The worker's heartbeat comes from its event loop, which never runs the app: a worker silent
# this long (loading its models, or stuck) is replaced. Requests have their own deadline
# (TRANSNORM_REQUEST_TIMEOUT), which the worker enforces itself.
timeout = 120
# On SIGTERM a worker finishes the requests it has (at most this long), then exits.
graceful_timeout = 30
# Seconds an idle keep-alive connection stays open.
keepalive = 5
# Never recycle workers by request count: LibreTranslate deadlocked recycling OpenMP workers.
max_requests = 0
# The app logs every request as a JSON line with its request id; gunicorn's access log is off.
accesslog = None
errorlog = "-"
control_socket_disable = True


def _split_threads() -> None:
    cores = os.cpu_count() or 1
    per_worker = max(1, cores // max(1, workers))
    if _settings.pipeline.intra_threads == 0:
        os.environ[env_name("intra_threads")] = str(per_worker)
    os.environ.setdefault("OMP_NUM_THREADS", str(per_worker))


def _metrics_dir() -> None:
    # Workers write their metric samples here, so /metrics adds up all of them.
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="transnorm-metrics-")
    os.makedirs(os.environ["PROMETHEUS_MULTIPROC_DIR"], exist_ok=True)


def on_starting(server) -> None:  # type: ignore[no-untyped-def]
    # Models live in one translation process of the host, started before the workers fork.
    from transnorm.server import host

    host.on_starting(_settings)


def child_exit(server, worker) -> None:  # type: ignore[no-untyped-def]
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server) -> None:  # type: ignore[no-untyped-def]
    from transnorm.server import host

    host.on_exit()
    shutil.rmtree(os.environ.get("PROMETHEUS_MULTIPROC_DIR", ""), ignore_errors=True)


_split_threads()
_metrics_dir()
