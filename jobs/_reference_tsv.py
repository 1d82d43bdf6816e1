"""Write one reference-format TSV (header row, tab separated) from a Spark DataFrame.

How, and why this way:
- The text of every value is made on the executors with `mapInArrow`, the way the
  reference's pandas `to_csv` makes it (pandas formats floats with numpy's `astype(str)` and
  writes rows with Python's csv module, QUOTE_MINIMAL, "\\n" line ends):
  - null -> "" (all types); bigint/int -> "12"; boolean -> "True" / "False";
  - double -> numpy float64 repr ("13.0", "0.48788750171661377", "7.6e-05"); float ->
    shortest float32 repr ("0.49497256"); a NaN that is not null -> "nan" (the reference's
    aux_note_info writes such values as "nan");
  - strings as they are (quoted only if they hold a tab, quote or line break).
  Spark's own CSV writer cannot do this: it writes doubles with Java's Double.toString
  ("1.7953056E12") and booleans as "true". Converting to pandas and calling to_csv would
  need the whole table on the driver (toPandas) or would lose bigint ids through float64
  when a batch holds nulls; formatting Arrow columns directly avoids both.
- The driver then streams the formatted blocks (one per Arrow batch) partition by partition
  with `toLocalIterator`, appending them to a temporary file next to `path` that is renamed
  at the end. So only one partition's text is in driver memory, there is no single-task
  coalesce(1), and readers never see a half-written file. `path` must be on the driver's
  local file system (as the reference's outputs are).
- Row order is the frame's order; pass `order_by` (e.g. the key) for the reference's order
  (its scored_notes / aux_note_info / note_status_history are sorted by noteId).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

log = logging.getLogger("cnscore.jobs")

_INT_TYPES = (T.LongType, T.IntegerType, T.ShortType, T.ByteType)
_BLOCK = "block"


def _kind_of(dtype: T.DataType) -> str:
    if isinstance(dtype, _INT_TYPES):
        return "int"
    if isinstance(dtype, T.DoubleType):
        return "float64"
    if isinstance(dtype, T.FloatType):
        return "float32"
    if isinstance(dtype, T.BooleanType):
        return "bool"
    return "str"


def _formatter(kinds: list[str]):
    """The mapInArrow function: each batch -> one string holding its TSV lines."""

    # Everything the executors run is defined in here, so cloudpickle ships it by value and
    # executors need not import the `jobs` package.
    def format_batches(batches):
        import csv
        import io

        import pyarrow as pa

        def _format_column(array, kind: str) -> list[str]:
            """Text of one Arrow column, "" for nulls (runs on executors)."""
            import numpy as np

            if kind in ("float64", "float32"):
                values = array.to_numpy(zero_copy_only=False)
                text = values.astype(np.float64 if kind == "float64" else np.float32).astype(str)
                nulls = array.is_null().to_numpy(zero_copy_only=False)
                text[nulls] = ""
                return text.tolist()
            values = array.to_pylist()
            if kind == "bool":
                return ["" if v is None else ("True" if v else "False") for v in values]
            return ["" if v is None else str(v) for v in values]

        for batch in batches:
            if batch.num_rows == 0:
                continue
            columns = [_format_column(batch.column(i), k) for i, k in enumerate(kinds)]
            buffer = io.StringIO()
            writer = csv.writer(
                buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_MINIMAL
            )
            writer.writerows(zip(*columns))
            block = pa.array([buffer.getvalue()], pa.string())
            yield pa.RecordBatch.from_arrays([block], names=[_BLOCK])

    return format_batches


def write_reference_tsv(
    df: DataFrame, path: str | os.PathLike, *, order_by: str | list[str] | None = None
) -> str:
    """Write `df` as ONE tab-separated file with a header row at `path` (a file path).

    Args:
        df: the frame to write, normally `conform_reference(df, kind)` so columns, order
            and types match the reference. Types other than numbers, booleans and strings
            are written through a Spark cast to string.
        path: the output file on the driver's local file system; parent folders are
            created, an existing file is replaced.
        order_by: column(s) to sort the rows by first (None keeps the frame's order).

    Returns:
        The path written, as a string.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    kinds = [_kind_of(f.dataType) for f in df.schema.fields]
    cols = [
        F.col(f"`{f.name}`") if k != "str" else F.col(f"`{f.name}`").cast("string").alias(f.name)
        for f, k in zip(df.schema.fields, kinds)
    ]
    frame = df.select(*cols)
    if order_by is not None:
        frame = frame.orderBy(*([order_by] if isinstance(order_by, str) else order_by))
    block_schema = T.StructType([T.StructField(_BLOCK, T.StringType())])
    blocks = frame.mapInArrow(_formatter(kinds), block_schema)
    partial = target.with_name(f".{target.name}.partial")
    rows = 0
    with partial.open("w", encoding="utf-8", newline="") as out:
        out.write("\t".join(df.columns) + "\n")
        for row in blocks.toLocalIterator():
            text = row[_BLOCK]
            out.write(text)
            rows += text.count("\n")  # a line count; equals rows unless strings hold line breaks
    os.replace(partial, target)
    log.info("wrote %s (%d lines)", target, rows)
    return str(target)
