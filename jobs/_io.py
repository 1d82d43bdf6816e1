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
