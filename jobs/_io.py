"""Table writers: Delta (delta-spark where its jars are on the session, delta-rs otherwise)
or Parquet, under <outdir>/tables/<name>."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from pyspark.sql import DataFrame

from cnscore.config import OutputConfig

log = logging.getLogger("cnscore.jobs")


def has_delta_spark(df: DataFrame) -> bool:
    """True when the session was configured with Delta's SQL extension (jars present)."""
    extensions = df.sparkSession.conf.get("spark.sql.extensions", "") or ""
    return "DeltaSparkSessionExtension" in extensions


def write_table(df: DataFrame, outdir: str, name: str, output: OutputConfig) -> str:
    """Write `df` as tables/<name> (overwrite) and return the path."""
    path = str(Path(outdir) / "tables" / name)
    if output.format == "parquet":
        df.write.mode("overwrite").parquet(path)
    elif output.delta_writer == "spark" or (output.delta_writer == "auto" and has_delta_spark(df)):
        df.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(path)
    else:
        _write_delta_rs(df, outdir, name, path)
    log.info("wrote %s (%s)", path, output.format)
    return path


def _write_delta_rs(df: DataFrame, outdir: str, name: str, path: str) -> None:
    """Spark writes Parquet to a staging folder; delta-rs streams it into a Delta table."""
    import pyarrow.dataset as ds
    from deltalake import write_deltalake

    staging = Path(outdir) / "_staging" / name
    df.write.mode("overwrite").parquet(str(staging))
    dataset = ds.dataset(str(staging), format="parquet")
    reader = dataset.scanner().to_reader()
    write_deltalake(path, reader, mode="overwrite", schema_mode="overwrite")
    shutil.rmtree(staging, ignore_errors=True)
    if not any(staging.parent.iterdir()):
        staging.parent.rmdir()  # leave no empty _staging folder in OUTDIR


def read_table(spark, outdir: str, name: str, output: OutputConfig) -> DataFrame:
    """Read tables/<name> back (as written by write_table with the same output config)."""
    path = Path(outdir) / "tables" / name
    if not path.exists():
        raise FileNotFoundError(f"table {name} not found at {path}")
    if output.format == "parquet":
        return spark.read.parquet(str(path))
    if has_delta_spark(spark.range(0)) and output.delta_writer != "rs":
        return spark.read.format("delta").load(str(path))
    # delta-rs: the files of the table's current version only (an overwrite keeps old files).
    import pyarrow as pa
    from deltalake import DeltaTable

    table = DeltaTable(str(path))
    files = table.file_uris()
    if not files:
        # deltalake 1.x hands out an arro3 schema; pyarrow reads it through the Arrow C interface.
        return spark.createDataFrame([], schema=_spark_schema(spark, pa.schema(table.schema().to_arrow())))
    return spark.read.parquet(*files)


def _spark_schema(spark, arrow_schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(arrow_schema)
