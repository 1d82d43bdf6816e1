"""Order-independent fingerprints of tables (row count + sum of row hashes)."""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


def fingerprint(df: DataFrame) -> str:
    """`<rows>:<hex>` where hex sums xxhash64 over all columns of every row (mod 2^64).

    Same rows in any order or partitioning give the same fingerprint.
    """
    hashed = F.xxhash64(*[F.col(c) for c in df.columns]).cast("decimal(38,0)")
    row = df.agg(F.count(F.lit(1)).alias("n"), F.sum(hashed).alias("h")).first()
    total = int(row["h"] or 0) % (1 << 64)
    return f"{row['n']}:{total:016x}"
