"""Parquet inputs: the rows of a Parquet file (a ``text`` column of strings or bytes, and ``id``
if there is one) piped through the pipeline, a row group at a time, into a results file with the
columns ``id``, ``result`` (the transnorm JSON document), ``error`` (problem details) and
``complete`` -- the columns of :func:`transnorm.ray.normalize_dataset`. Needs pyarrow, which
``pip install 'transnorm[ray]'`` brings.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..document import Outcome, to_json
from ..errors import InputError
from ..files import atomic_writer
from ..jsonl import StreamStats
from ..options import Options
from ..pipeline import Pipeline
from ..translate import Translate

#: Rows read and written at a time.
ROWS = 256


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise InputError("Parquet inputs need pyarrow: pip install 'transnorm[ray]'") from None
    return pyarrow


def normalize_file(
    source: Path, out: Path, pipeline: Pipeline, options: Options, translate: Translate | None, tmp_dir: Path
) -> dict[str, int]:
    """Normalize every row of ``source`` into the Parquet file ``out`` (written whole, then
    renamed); the counts of rows normalized, failed and incomplete."""
    pa = _pyarrow()
    try:
        reader = pa.parquet.ParquetFile(source)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(f"not a readable Parquet file: {exc}") from None
    names = reader.schema_arrow.names
    if "text" not in names:
        raise InputError(f"the Parquet file has no 'text' column (columns: {', '.join(names)})")
    columns = ["text"] + (["id"] if "id" in names else [])
    schema = pa.schema(
        [("id", pa.string()), ("result", pa.string()), ("error", pa.string()), ("complete", pa.bool_())]
    )
    stats = StreamStats()
    with (
        atomic_writer(out, durable=False, tmp_dir=tmp_dir) as sink,
        pa.parquet.ParquetWriter(sink, schema) as writer,
    ):
        rows: dict[str, list[Any]] = {name: [] for name in schema.names}
        for outcome in pipeline.pipe(_items(reader, columns, options), translate):
            stats.add(outcome)
            for name, value in result_row(outcome).items():
                rows[name].append(value)
            if len(rows["id"]) >= ROWS:
                writer.write_table(pa.table(rows, schema=schema))
                rows = {name: [] for name in schema.names}
        writer.write_table(pa.table(rows, schema=schema))
    return stats.counts()


def _items(reader: Any, columns: list[str], options: Options) -> Iterator[Any]:
    for batch in reader.iter_batches(batch_size=ROWS, columns=columns):
        texts = batch.column("text").to_pylist()
        ids = batch.column("id").to_pylist() if "id" in columns else [None] * len(texts)
        for text, doc_id in zip(texts, ids, strict=True):
            doc_id = None if doc_id is None else str(doc_id)
            if isinstance(text, (str, bytes)):
                yield (text, options, doc_id)
            else:
                yield Outcome(
                    doc_id, error=InputError(f"the text column holds {type(text).__name__}, not text")
                )


def result_row(outcome: Outcome) -> dict[str, Any]:
    """An outcome as a row of the results columns (JSON strings, as Parquet carries them)."""
    doc = outcome.document
    return {
        "id": outcome.id,
        "result": None if doc is None else to_json(doc.to_dict(), pretty=False).rstrip("\n"),
        "error": None if doc is not None else to_json(outcome.to_dict()["error"], pretty=False).rstrip("\n"),
        "complete": doc is not None and doc.complete,
    }
