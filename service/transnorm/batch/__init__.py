"""Batch mode: normalize every document in a folder (or every row of a JSON-lines or Parquet
file) into an output folder, resumably, on local worker processes or Ray actors.

The data path, a module each: :mod:`.job` (what is asked, output names) → :mod:`.inputs`
(what is found, where each output goes) → :mod:`.runner` (lock, report, signals) →
:mod:`.pool` (worker processes) → :mod:`.process` (a worker's chunk: read, ``pipe``, write;
:mod:`.parquet` for Parquet rows) → :mod:`.state` (resume, temporary files) → :mod:`.report`;
:mod:`.reaper` ends the Ray session a run started when the run's process dies.
"""

from .job import SUFFIXES, Job
from .report import Record, Summary
from .runner import run_batch

__all__ = ["SUFFIXES", "Job", "Record", "Summary", "run_batch"]
