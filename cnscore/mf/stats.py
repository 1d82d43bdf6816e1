"""The Spark side of one ALS half-step: native aggregation of sufficient statistics.

The ratings arrive hash-partitioned by the key being solved, so the aggregation needs no
shuffle; the fixed side's parameters are broadcast. No Python runs per rating or per entity.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from cnscore.columns import factor_cols
from cnscore.mf.solve import stat_names


def sufficient_stats(
    ratings: DataFrame,
    fixed: DataFrame,
    *,
    key: str,
    fixed_key: str,
    label: str,
    mu: float,
    num_factors: int,
) -> DataFrame:
    """Per `key`: Gram entries of x = (1, f_fixed), b = sum y*x, yy = sum y^2.

    y = label - mu - intercept_fixed. `fixed` has fixed_key, intercept, factor1..k.
    """
    factors = factor_cols("factor", num_factors)
    renamed = fixed.select(
        F.col(fixed_key),
        F.col("intercept").alias("_fi"),
        *[F.col(f).alias(f"_x{i}") for i, f in enumerate(factors, start=1)],
    )
    joined = ratings.join(F.broadcast(renamed), on=fixed_key, how="inner")
    y = (F.col(label) - F.lit(mu) - F.col("_fi")).alias("_y")
    rows = joined.select(F.col(key), y, *[F.col(f"_x{i}") for i in range(1, num_factors + 1)])

    def x(i: int):
        return F.lit(1.0) if i == 0 else F.col(f"_x{i}")

    gram_names, rhs_names = stat_names(num_factors)
    aggs = [F.sum(x(i) * x(j)).alias(name) for i, j, name in gram_names]
    aggs += [F.sum(F.col("_y") * x(i)).alias(name) for i, name in enumerate(rhs_names)]
    aggs.append(F.sum(F.col("_y") * F.col("_y")).alias("yy"))
    return rows.groupBy(key).agg(*aggs)
