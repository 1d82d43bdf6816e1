"""The Spark side of one ALS half-step: native aggregation of sufficient statistics.

The ratings arrive hash-partitioned by the key being solved, so the aggregation needs no
shuffle; the fixed side's parameters are broadcast. No Python runs per rating or per entity.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from cnscore.columns import ParamCols, factor_cols
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
    gamma: str | None = None,
    weight: str | None = None,
) -> DataFrame:
    """Per `key`: Gram entries of x = (x0, f_fixed), b = sum y*x, yy = sum y^2.

    With `weight` (the ratings' weight column) every sum is weighted, G = sum w x x^T,
    b = sum w y x, yy = sum w y^2: the statistics of weighted least squares.

    Standard MF: x0 = 1 and y = label - mu - intercept_fixed. `fixed` has fixed_key, intercept,
    factor1..k. QS-MF (prediction mu + i_u + gamma_u i_n + f_u . f_n) passes `gamma`, the
    ratings' column holding the rater's gamma: solving notes, the note intercept's coefficient
    x0 is gamma; solving raters, the fixed note intercept enters y as gamma * i_n.
    """
    factors = factor_cols("factor", num_factors)
    renamed = fixed.select(
        F.col(fixed_key),
        F.col("intercept").alias("_fi"),
        *[F.col(f).alias(f"_x{i}") for i, f in enumerate(factors, start=1)],
    )
    joined = ratings.join(F.broadcast(renamed), on=fixed_key, how="inner")
    solving_notes = key == ParamCols.NOTE_IDX
    fixed_coef = F.col(gamma) if gamma and not solving_notes else F.lit(1.0)
    x0 = F.col(gamma) if gamma and solving_notes else F.lit(1.0)
    y = (F.col(label) - F.lit(mu) - fixed_coef * F.col("_fi")).alias("_y")
    extra = [] if weight is None else [F.col(weight).alias("_w")]
    rows = joined.select(
        F.col(key), y, x0.alias("_x0"), *[F.col(f"_x{i}") for i in range(1, num_factors + 1)], *extra
    )

    def total(term: Column) -> Column:
        # Unweighted fits keep their exact expressions (and so their exact results).
        return F.sum(term) if weight is None else F.sum(F.col("_w") * term)

    gram_names, rhs_names = stat_names(num_factors)
    aggs = [total(F.col(f"_x{i}") * F.col(f"_x{j}")).alias(name) for i, j, name in gram_names]
    aggs += [total(F.col("_y") * F.col(f"_x{i}")).alias(name) for i, name in enumerate(rhs_names)]
    aggs.append(total(F.col("_y") * F.col("_y")).alias("yy"))
    return rows.groupBy(key).agg(*aggs)


def _with_params(ratings: DataFrame, notes: DataFrame, raters: DataFrame, factors: list[str]) -> DataFrame:
    """Ratings joined with both sides' parameters (_in, _n<factor>, _iu, _r<factor>)."""
    n = notes.select(
        ParamCols.NOTE_IDX, F.col("intercept").alias("_in"), *[F.col(f).alias(f"_n{f}") for f in factors]
    )
    r = raters.select(
        ParamCols.RATER_IDX, F.col("intercept").alias("_iu"), *[F.col(f).alias(f"_r{f}") for f in factors]
    )
    return ratings.join(F.broadcast(n), ParamCols.NOTE_IDX, "inner").join(
        F.broadcast(r), ParamCols.RATER_IDX, "inner"
    )


def _dot(factors: list[str]) -> Column:
    """f_n . f_u on _with_params rows."""
    first = F.col(f"_n{factors[0]}") * F.col(f"_r{factors[0]}")
    return sum((F.col(f"_n{f}") * F.col(f"_r{f}") for f in factors[1:]), first)


def squared_error_sum(ratings: DataFrame, notes: DataFrame, raters: DataFrame, *, label: str, mu: float,
                      num_factors: int) -> float:
    """sum over ratings of (label - mu - i_u - i_n - f_u . f_n)^2, unweighted: the reference's
    reported train error is the plain MSE even when the fit minimized a weighted loss."""
    factors = factor_cols("factor", num_factors)
    err = F.col(label) - (F.lit(mu) + F.col("_iu") + F.col("_in") + _dot(factors))
    joined = _with_params(ratings, notes, raters, factors)
    return float(joined.agg(F.sum(err * err).alias("sse")).first()["sse"])


def gamma_stats(
    ratings: DataFrame, notes: DataFrame, raters: DataFrame, *, label: str, mu: float, num_factors: int
) -> DataFrame:
    """Per rater, for the QS-MF gamma update: sum z*i_n and sum i_n^2, where
    z = label - mu - i_u - f_u . f_n is the rating with bias and viewpoint removed."""
    factors = factor_cols("factor", num_factors)
    joined = _with_params(ratings, notes, raters, factors)
    z = F.col(label) - F.lit(mu) - F.col("_iu") - _dot(factors)
    return joined.groupBy(ParamCols.RATER_IDX).agg(
        F.sum(z * F.col("_in")).alias("zi"), F.sum(F.col("_in") * F.col("_in")).alias("ii")
    )
